"""Fixtures for the JSON API: people signed in on the real pages, each making their tokens on
the real "API tokens" form (CSRF token included), and a client that sends no cookie at all."""

from __future__ import annotations

import re

import pytest

from gateway.domain.roles import Role
from tests.conftest import AuthActions, csrf_token_from
from tests.web.conftest import (  # noqa: F401 - fixtures, found by name
    BLOCKED_TEXT,
    CLEAN_TEXT,
    channels,
    clock,
    quick_password_hashing,
)

#: Who the API tests act as: two officers (so one can approve the other's post), a duty
#: officer, a monitoring officer, an auditor and an admin.
ROLES = {
    "a": (Role.OFFICER,),
    "b": (Role.OFFICER,),
    "duty": (Role.DUTY_OFFICER,),
    "mo": (Role.MONITORING_OFFICER,),
    "auditor": (Role.AUDITOR,),
    "admin": (Role.ADMIN,),
}
#: Tomorrow at 10:30 London (the tests' clock is a Tuesday at 10:00 in March, GMT).
TOMORROW = "2027-03-10T10:30:00+00:00"


def make_token(client, name: str = "Website news", *, days: str = "90", read_only=False, scopes=()):
    """Fill in the "Make a token" form (ticking ``scopes``, if any); returns (the token shown
    once, the page's HTML)."""
    page = client.get("/account/api-tokens")
    assert page.status_code == 200
    data = {"csrf_token": csrf_token_from(page.get_data(as_text=True)), "name": name}
    data["expires"] = days
    if read_only:
        data["read_only"] = "y"
    if scopes:
        data["scopes"] = list(scopes)
    response = client.post("/account/api-tokens", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    match = re.search(r'<code id="new-token">([^<]+)</code>', html)
    assert match, "the new token is not shown"
    return match.group(1), html


class People:
    """Each person signed in on a browser-like client of their own, with a token made there."""

    def __init__(self, app):
        self.app = app
        self.clients = {}
        self.ids = {}
        self.emails = {}
        self.tokens = {}

    def signed_in(self, key: str):
        if key not in self.clients:
            client = self.app.test_client()
            client.environ_base["HTTP_REFERER"] = "https://localhost/"
            self.ids[key], self.emails[key] = AuthActions(self.app, client).sign_in_as(*ROLES[key])
            self.clients[key] = client
        return self.clients[key]

    def token(self, key: str) -> str:
        if key not in self.tokens:
            self.tokens[key] = make_token(self.signed_in(key), f"{key} system")[0]
        return self.tokens[key]

    def headers(self, key: str, **extra) -> dict:
        return {"Authorization": f"Bearer {self.token(key)}", **extra}


@pytest.fixture
def people(app, clock):  # noqa: F811 - the clock fixture, imported above
    return People(app)


@pytest.fixture
def api(app):
    """A client with no cookie jar: the API must never need one."""
    return app.test_client(use_cookies=False)


def new_post(api, people, key="a", *, text=CLEAN_TEXT, channel_ids, when=TOMORROW, **extra):
    response = api.post(
        "/api/v1/posts",
        json={"text": text, "channel_ids": channel_ids, "scheduled_at": when, **extra},
        headers=people.headers(key),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response

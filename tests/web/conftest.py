"""Fixtures for the officers' pages: a clock in office hours, channels, and one signed-in
browser-like client per person (each with its own session cookie)."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from PIL import Image

from gateway.domain.roles import Role
from tests.conftest import AuthActions
from tests.support.channels import ChannelSpec, add_channels

LONDON = ZoneInfo("Europe/London")
# Test accounts (kept here: importing tests.platforms.accounts loads the whole fake platform).
X_ACCOUNT = "1500000000000000001"
X_CREDENTIALS = {
    "consumer_key": "ck-web-tests",
    "consumer_secret": "cs-web-tests-secret",
    "access_token": f"{X_ACCOUNT}-at-web-tests",
    "access_token_secret": "ats-web-tests-secret",
}
PAGE_ID = "104000000000001"
PAGE_TOKEN = "EAAWebTestsPageToken"
IG_USER = "17841400000000001"
#: A Tuesday at 10:00 in London, in office hours and no bank holiday near.
NOW = datetime(2027, 3, 9, 10, 0, tzinfo=LONDON)
#: The next morning, when the tests' posts go out (Wednesday 10 March 2027, 10:30).
TOMORROW = {"publish_date": ["10", "3", "2027"], "publish_time": "10:30am"}
CLEAN_TEXT = "Bins are collected on Wednesday this week because of the roadworks."
#: A private mobile number: the personal-data guardrail blocks it (GDPR; the council's
#: customer use policy allows departmental numbers only).
BLOCKED_TEXT = "Please call Jenny on 07700 900461 if you see her cat."


def png(colour: tuple[int, int, int] = (10, 120, 200), size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def channels(app):
    """An X account and a Facebook Page (credentials encrypted), and a disabled Instagram."""
    return add_channels(
        app,
        "http://127.0.0.1:9",
        [
            ChannelSpec("x", "Council on X", X_ACCOUNT, X_CREDENTIALS),
            ChannelSpec("facebook", "Council Facebook Page", PAGE_ID, {"access_token": PAGE_TOKEN}),
            ChannelSpec(
                "instagram", "Old Instagram", IG_USER, {"access_token": "t"}, enabled=False
            ),
        ],
    )


ROLES = {
    "a": (Role.OFFICER,),
    "b": (Role.OFFICER,),
    "c": (Role.OFFICER,),
    "mo": (Role.MONITORING_OFFICER,),
    "admin": (Role.ADMIN,),
    "auditor": (Role.AUDITOR,),
    "duty": (Role.DUTY_OFFICER,),
}


class People:
    """Officers A and B, a monitoring officer, an admin, an auditor: each signed in through
    the real sign-in form on a client of their own, made the first time a test asks."""

    def __init__(self, app):
        self.app = app
        self.clients = {}
        self.ids = {}
        self.emails = {}

    def __getitem__(self, key: str):
        if key not in self.clients:
            client = self.app.test_client()
            client.environ_base["HTTP_REFERER"] = "https://localhost/"
            actions = AuthActions(self.app, client)
            self.ids[key], self.emails[key] = actions.sign_in_as(*ROLES[key])
            self.clients[key] = client
        return self.clients[key]


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch):
    """Argon2id at its cheapest: these tests are about pages, not the hashing cost (the
    foundation's tests keep the real parameters)."""
    from argon2 import PasswordHasher

    from gateway.auth import passwords

    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def people(app, clock):
    # Signed in after the clock moves, or the session would look a year old and time out.
    return People(app)

"""Connecting Mastodon by the instance's own sign-in (issue 21): the gateway registers itself as
an application on the instance the admin names (POST /api/v1/apps), sends the admin to its
consent page, and exchanges the code it sends back for a token (POST /oauth/token), with
Mastodon.py, against the fake platform's Mastodon (no Mastodon server installs here)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from fakeplatform.client import FakePlatformControl
from fakeplatform.server import serve_in_thread
from gateway.credentials import decrypt_credentials
from gateway.extensions import db
from gateway.models import Channel
from tests.web.helpers import get, submit

ACCOUNT = "109000000000000077"


@pytest.fixture(scope="module")
def fake_server():
    base_url, stop = serve_in_thread()
    yield base_url
    stop()


@pytest.fixture
def fake(fake_server):
    with FakePlatformControl(fake_server) as control:
        control.reset()
        control.register_account(
            "mastodon",
            ACCOUNT,
            {"access_token": "a-token-the-gateway-never-sees"},
            name="Harbourside",
            username="harbourside",
        )
        yield control


def test_an_admin_connects_mastodon_by_signing_in_on_the_instance(
    app, people, clock, fake, fake_server
):
    app.config["PLATFORM_ALLOWED_HOSTS"] = ("127.0.0.1",)
    app.config["PUBLIC_URL"] = "https://gateway.harbourside.example"
    admin = people["admin"]
    assert "Connect a Mastodon account" in get(admin, "/admin/channels").text()
    page = get(admin, "/admin/channels/mastodon")
    started = submit(
        admin, page, {"instance_url": fake_server, "display_name": "Harbourside on Mastodon"}
    )
    assert started.status == 302
    authorize = started.response.headers["Location"]
    assert authorize.startswith(f"{fake_server}/oauth/authorize?")
    asked = parse_qs(urlsplit(authorize).query)
    assert asked["redirect_uri"] == [
        "https://gateway.harbourside.example/admin/channels/mastodon/callback"
    ]
    assert set(asked["scope"][0].split()) == {
        "write:statuses",
        "write:media",
        "read:accounts",
        "read:statuses",
    }
    assert asked["response_type"] == ["code"] and asked["state"][0]

    # The admin signs in on the instance and authorises; it sends them back with a code.
    assert requests.get(authorize, timeout=10).status_code == 200
    back = requests.post(
        f"{fake_server}/oauth/authorize",
        data={**{k: v[0] for k, v in asked.items()}, "account": "harbourside"},
        allow_redirects=False,
        timeout=10,
    )
    assert back.status_code == 302
    callback = urlsplit(back.headers["Location"])
    assert callback.netloc == "gateway.harbourside.example"
    done = admin.get(f"{callback.path}?{callback.query}")
    assert done.status_code == 302, done.get_data(as_text=True)
    assert "Harbourside on Mastodon connected" in get(admin, done.headers["Location"]).text()
    with app.app_context():
        channel = db.session.scalars(select(Channel)).one()
        channel_id = channel.id
        assert channel.platform == "mastodon" and channel.external_account_id == ACCOUNT
        assert channel.base_url == fake_server and channel.limits["max_characters"] == 500
        stored = decrypt_credentials(channel.id, channel.credentials_encrypted)
        assert set(stored) == {"access_token", "client_id", "client_secret"}
        assert stored["access_token"] != "a-token-the-gateway-never-sees"

    # The code and the state work once: the same answer again adds nothing.
    again = admin.get(f"{callback.path}?{callback.query}")
    assert again.status_code == 302 and again.headers["Location"].endswith(
        "/admin/channels/mastodon"
    )
    assert "has expired" in get(admin, again.headers["Location"]).text()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Channel)) == 1

    # The token the instance issued works.
    tested = submit(
        admin,
        get(admin, f"/admin/channels/{channel_id}"),
        action=f"/admin/channels/{channel_id}/test",
    )
    assert tested.status == 302
    assert "@harbourside" in get(admin, f"/admin/channels/{channel_id}").text()


def test_a_state_the_gateway_did_not_start_is_refused(app, people, clock, fake):
    admin = people["admin"]
    refused = admin.get("/admin/channels/mastodon/callback?code=abc&state=made-up")
    assert refused.status_code == 302
    assert refused.headers["Location"].endswith("/admin/channels/mastodon")
    assert "was not started here" in get(admin, refused.headers["Location"]).text()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Channel)) == 0
    # An officer cannot reach either page.
    assert people["a"].get("/admin/channels/mastodon").status_code == 403

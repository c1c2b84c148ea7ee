"""A Mastodon channel through the product (issue 21), on the fake platform's Mastodon API (no
Mastodon-API server installs here): an admin connects it with the instance's address and a
pasted access token, the instance's own limits are read and kept on the channel, the officers'
preview counts against them (not 500), and the worker publishes an approved post with its
image's alt text."""

from __future__ import annotations

from datetime import datetime

import pytest
import requests
from sqlalchemy import select

from fakeplatform.client import FakePlatformControl
from fakeplatform.server import serve_in_thread
from gateway.credentials import decrypt_credentials
from gateway.extensions import db
from gateway.models import AuditEntry, Channel, Delivery, Post
from gateway.publishing.release import Releaser
from tests.web.conftest import LONDON, TOMORROW, png
from tests.web.helpers import get, submit
from workers.worker import build_worker

ACCOUNT = "109000000000000042"
TOKEN = "mastodon-web-test-token-abcdef0123456789"  # noqa: S105 - the fake's test account
LINK = "https://www.harbourside.gov.uk/news/2027/03/the-quay-footbridge-reopens-on-wednesday"


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
            "mastodon", ACCOUNT, {"access_token": TOKEN}, name="Harbourside", username="harbourside"
        )
        # This instance allows 1,000 characters: the gateway must not assume Mastodon's 500.
        requests.post(
            f"{fake_server}/_fake/mastodon/instance", json={"max_characters": 1000}, timeout=10
        ).raise_for_status()
        yield control


def _add(admin, fake_server, **overrides):
    fields = {
        "platform": "mastodon",
        "display_name": "Harbourside on Mastodon",
        "base_url": fake_server,
        "access_token": TOKEN,
    } | overrides
    return submit(admin, get(admin, "/admin/channels/new"), fields)


def test_an_admin_connects_a_mastodon_channel_and_an_approved_post_goes_out(
    app, people, clock, fake, fake_server
):
    app.config["PLATFORM_ALLOWED_HOSTS"] = ("127.0.0.1",)
    admin = people["admin"]
    refused = _add(admin, fake_server, access_token="not-the-token")
    assert refused.status == 400
    assert "did not accept this token" in refused.field_error("access_token")
    no_instance = _add(admin, fake_server, base_url="")
    assert "instance's address" in no_instance.field_error("base_url")

    added = _add(admin, fake_server)
    assert added.status == 302, added.errors()
    with app.app_context():
        channel = db.session.scalars(select(Channel)).one()
        channel_id = channel.id
        assert channel.external_account_id == ACCOUNT
        assert channel.limits["max_characters"] == 1000
        assert channel.limits["characters_reserved_per_url"] == 23
        assert decrypt_credentials(channel.id, channel.credentials_encrypted) == {
            "access_token": TOKEN
        }
    tested = submit(
        admin,
        get(admin, f"/admin/channels/{channel_id}"),
        action=f"/admin/channels/{channel_id}/test",
    )
    assert tested.status == 302
    assert "@harbourside" in get(admin, f"/admin/channels/{channel_id}").text()

    # 600 letters and a long link: over 500, but 624 of this instance's 1,000 (the link is 23).
    text = "Footbridge news. " + "a" * 583 + " " + LINK
    a = people["a"]
    draft = submit(
        a,
        get(a, "/posts/new"),
        {
            "text": text,
            "channels": [str(channel_id)],
            "images-0-alt_text": "The Quay footbridge with its new blue railings",
            **TOMORROW,
        },
        files={"images-0-file": (png(), "bridge.png")},
        button=("action", "save"),
    )
    assert draft.status == 302, draft.errors()
    with app.app_context():
        post_id = db.session.scalars(select(Post.id)).one()
    page = get(a, f"/posts/{post_id}")
    assert "624 of 1,000 characters" in page.text()
    sent = submit(a, get(a, f"/posts/{post_id}/edit"), button=("action", "submit"))
    assert sent.status == 302, sent.errors()
    b = people["b"]
    assert submit(b, get(b, f"/posts/{post_id}"), action=f"/posts/{post_id}/approve").status == 302

    clock.move_to(datetime(2027, 3, 10, 10, 30, 1, tzinfo=LONDON))
    with app.app_context():
        assert Releaser(app).tick() == 1
    build_worker(app).work(burst=True)
    [status] = fake.posts("mastodon")
    assert status["text"] == text
    assert status["media"][0]["alt_text"] == "The Quay footbridge with its new blue railings"
    with app.app_context():
        delivery = db.session.scalars(select(Delivery)).one()
        assert delivery.status == "published", delivery.held_reason
        assert delivery.platform_post_id == status["id"]
        leaves = b"".join(bytes(r.leaf) for r in db.session.scalars(select(AuditEntry)))
    assert TOKEN.encode() not in leaves


def test_over_the_instances_limit_is_blocked_at_submit(app, people, clock, fake, fake_server):
    app.config["PLATFORM_ALLOWED_HOSTS"] = ("127.0.0.1",)
    requests.post(
        f"{fake_server}/_fake/mastodon/instance", json={"max_characters": 100}, timeout=10
    ).raise_for_status()
    assert _add(people["admin"], fake_server).status == 302
    with app.app_context():
        channel_id = db.session.scalars(select(Channel.id)).one()
    a = people["a"]
    blocked = submit(
        a,
        get(a, "/posts/new"),
        {"text": "b" * 101, "channels": [str(channel_id)], **TOMORROW},
        button=("action", "submit"),
    )
    assert blocked.status == 400
    assert "this instance allows 100" in blocked.text()

"""Emergency posts on a Bluesky channel (issue 21), through the real form and worker, with the
channel on the fake platform's Bluesky as a training channel is: a flood warning at 3am goes
out on Bluesky with the others; one over Bluesky's 300 graphemes leaves Bluesky out, with why,
and still goes out where it fits."""

from __future__ import annotations

from datetime import datetime

import pytest
import time_machine
from sqlalchemy import select

from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import Delivery, Post
from tests.conftest import csrf_token_from
from tests.publishing.conftest import LONDON
from tests.support.channels import ChannelSpec, add_channels
from workers.worker import build_worker

NIGHT = datetime(2027, 3, 10, 3, 0, tzinfo=LONDON)
DID = "did:plc:harboursideemergency2345"
HANDLE = "harbourside.fake.invalid"
APP_PASSWORD = "emer-genc-ypas-swrd"  # noqa: S105 - the fake's test account


@pytest.fixture
def night():
    with time_machine.travel(NIGHT, tick=True) as traveller:
        yield traveller


@pytest.fixture
def bluesky_channel(app, fake, fake_server, channels):
    fake.register_account(
        "bluesky", DID, {"app_password": APP_PASSWORD}, name="Harbourside", username=HANDLE
    )
    spec = ChannelSpec(
        "bluesky", "Harbourside on Bluesky", DID, {"handle": HANDLE, "app_password": APP_PASSWORD}
    )
    return add_channels(app, fake_server, [spec])["bluesky"]


def _emergency(client, text, channel_ids):
    page = client.get("/emergency")
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(
        "/emergency",
        data={
            "category": "flooding",
            "text": text,
            "channels": channel_ids,
            "csrf_token": token,
            "action": "publish",
        },
    )


def _deliveries(app, post_id):
    with app.app_context():
        rows = db.session.scalars(select(Delivery).where(Delivery.post_id == post_id)).all()
        return {d.channel.platform: (d.status, d.last_error, d.platform_url) for d in rows}


def test_a_flood_warning_goes_out_on_bluesky_and_one_too_long_for_it_leaves_it_out(
    app, client, auth, night, fake, fake_server, channels, bluesky_channel
):
    auth.sign_in_as(Role.DUTY_OFFICER)
    text = "Flood warning 🌊: the river is rising at Saltmarsh. Avoid the quayside road tonight."
    sent = _emergency(client, text, [channels["facebook"], bluesky_channel])
    assert sent.status_code == 302, sent.get_data(as_text=True)
    build_worker(app).work(burst=True)
    [post] = fake.posts("bluesky")
    assert post["text"] == text
    with app.app_context():
        first = db.session.scalars(select(Post.id)).one()
    status, _, url = _deliveries(app, first)["bluesky"]
    # Training: the link is the fake's own page for the post.
    assert status == "published" and url.startswith(f"{fake_server}/_fake/posts/")

    # 301 graphemes: Facebook takes it, Bluesky is left out with Bluesky's count.
    long_text = "Flood warning. " + "é" * 286
    sent = _emergency(client, long_text, [channels["facebook"], bluesky_channel])
    assert sent.status_code == 302, sent.get_data(as_text=True)
    build_worker(app).work(burst=True)
    with app.app_context():
        second = db.session.scalars(select(Post.id).where(Post.id != first)).one()
    deliveries = _deliveries(app, second)
    assert deliveries["facebook"][0] == "published"
    status, reason, _ = deliveries["bluesky"]
    assert status == "skipped" and "301 characters as Bluesky counts them" in reason
    assert len(fake.posts("bluesky")) == 1

"""Publishing fixtures: the fake platform over real HTTP, channels pointing at it, and a clock
set inside office hours (the guardrails re-check office hours at publish time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from fakeplatform.client import FakePlatformControl
from fakeplatform.server import serve_in_thread
from gateway import users
from gateway.audit import Actor
from gateway.extensions import db
from gateway.models import Delivery, Post
from gateway.posts import service
from tests.conftest import TEST_PASSWORD
from tests.platforms.accounts import (
    IG_TOKEN,
    IG_USER,
    PAGE_ID,
    PAGE_TOKEN,
    X_ACCOUNT,
    X_CREDENTIALS,
)
from tests.support.channels import ChannelSpec, add_channels

LONDON = ZoneInfo("Europe/London")
#: A Tuesday morning in office hours, not a bank holiday.
OFFICE_HOURS = datetime(2027, 3, 9, 10, 0, tzinfo=LONDON)


@pytest.fixture
def clock():
    """Time runs normally, from a Tuesday at 10:00 in London."""
    with time_machine.travel(OFFICE_HOURS, tick=True) as traveller:
        yield traveller


@pytest.fixture(scope="session")
def fake_server():
    base_url, stop = serve_in_thread()
    yield base_url
    stop()


@pytest.fixture
def fake(fake_server):
    control = FakePlatformControl(fake_server)
    control.reset()
    control.register_account("x", X_ACCOUNT, X_CREDENTIALS, name="Council", username="council")
    control.register_account("facebook", PAGE_ID, {"access_token": PAGE_TOKEN}, name="Council")
    control.register_account("instagram", IG_USER, {"access_token": IG_TOKEN}, name="Council")
    yield control
    control.clear_faults()
    control.close()


@pytest.fixture
def gateway_server(app):
    """The gateway itself over HTTP, so Instagram can fetch approved images from it."""
    base_url, stop = serve_in_thread(app=app)
    app.config["PUBLIC_URL"] = base_url
    yield base_url
    stop()


@pytest.fixture
def channels(app, fake, fake_server):
    host = fake_server.split("://", 1)[1].split(":")[0]
    app.config["PLATFORM_ALLOWED_HOSTS"] = (host,)
    return add_channels(
        app,
        fake_server,
        [
            ChannelSpec("x", "Council on X", X_ACCOUNT, X_CREDENTIALS),
            ChannelSpec("facebook", "Council Facebook Page", PAGE_ID, {"access_token": PAGE_TOKEN}),
            ChannelSpec("instagram", "Council Instagram", IG_USER, {"access_token": IG_TOKEN}),
        ],
    )


class Officers:
    def __init__(self, app):
        with app.app_context():
            self.author = users.create_user(
                "author@council.example", ["officer"], TEST_PASSWORD, actor=Actor.system()
            ).id
            self.approver = users.create_user(
                "approver@council.example", ["officer"], TEST_PASSWORD, actor=Actor.system()
            ).id
            self.monitoring = users.create_user(
                "mo@council.example", ["monitoring_officer"], TEST_PASSWORD, actor=Actor.system()
            ).id
            db.session.commit()


@pytest.fixture
def officers(app):
    return Officers(app)


def user(user_id):
    from gateway.models import User

    return db.session.get(User, user_id)


def approved_post(
    app,
    officers,
    channel_ids,
    *,
    text="Bin collections on Monday will take place as normal.",
    due_in=timedelta(seconds=0),
    images=(),
) -> int:
    with app.app_context():
        post = service.create_draft(
            user(officers.author),
            text=text,
            channel_ids=channel_ids,
            scheduled_at=datetime.now(UTC) + timedelta(seconds=1) + due_in,
            images=images,
        )
        # Set again just before submit checks it is not in the past: the draft's guardrails
        # can take over a second on a busy machine (two test workers on two cores).
        post.scheduled_at = datetime.now(UTC) + timedelta(seconds=1) + due_in
        service.submit(post, user(officers.author))
        db.session.commit()
        service.approve(post, user(officers.approver))
        db.session.commit()
        return post.id


def deliveries(app, post_id):
    with app.app_context():
        rows = db.session.scalars(
            select(Delivery).where(Delivery.post_id == post_id).order_by(Delivery.id)
        ).all()
        return [(d.channel.platform, d.status, d.platform_post_id, d.held_reason) for d in rows]


def post_status(app, post_id):
    with app.app_context():
        return db.session.get(Post, post_id).status

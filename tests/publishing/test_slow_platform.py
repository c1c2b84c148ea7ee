"""A platform that is merely slow is looked up after a delay, and again before holding (issue 19).

Found under faults: a read timeout was followed at once by the look-up, which found nothing yet,
and the delivery was held as not found while the post appeared moments later (4 of 4 with a
20 s latency). The fake platform here takes longer to answer than the gateway waits, and
creates the post only when its latency is over, as a slow platform does.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from gateway import settings
from gateway.extensions import db
from gateway.models import AuditEntry, Delivery
from gateway.publishing import attempt
from tests.publishing.conftest import approved_post, deliveries

#: The gateway gives up on an answer after this (GATEWAY_PLATFORM_TIMEOUT_SECONDS)...
TIMEOUT_SECONDS = 1
#: ... while the platform takes this long, then makes the post.
LATENCY_MS = 3000
#: Looks after 0.5 s (the post is not there yet), then 6 s later (it is, since 2 s).
DELAYS = (0.5, 6.0)


@pytest.fixture
def slow_x(app, fake):
    app.config["PLATFORM_TIMEOUT_SECONDS"] = TIMEOUT_SECONDS
    app.config["LOOKUP_DELAYS_SECONDS"] = DELAYS
    fake.inject_fault(
        "latency", platform="x", path_contains="/2/tweets", method="POST", latency_ms=LATENCY_MS
    )


def _publish(app, clock, post_id):
    clock.shift(timedelta(seconds=2))
    with app.app_context():
        delivery_id = db.session.scalar(select(Delivery.id).where(Delivery.post_id == post_id))
        return attempt.publish(delivery_id)


def test_a_post_that_appears_after_the_timeout_is_found_not_held(
    app, clock, fake, channels, officers, slow_x
):
    post_id = approved_post(app, officers, [channels["x"]])
    assert _publish(app, clock, post_id) == "published"
    [(_, status, platform_post_id, _)] = deliveries(app, post_id)
    [post] = fake.posts("x")
    assert status == "published" and platform_post_id == post["id"]


def test_a_post_that_never_appears_is_held_after_the_last_look_up(
    app, clock, fake, channels, officers, slow_x
):
    fake.clear_faults()
    # The connection drops before anything is made: a post that never appears.
    fake.inject_fault("drop", platform="x", path_contains="/2/tweets", method="POST")
    post_id = approved_post(app, officers, [channels["x"]])
    assert _publish(app, clock, post_id) == "held: outcome unknown"
    [(_, status, _, reason)] = deliveries(app, post_id)
    assert status == "held"
    assert f"looked {len(DELAYS)} times" in reason
    assert fake.posts("x") == []
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions.count("delivery.lookup") == len(DELAYS)


def test_the_look_up_delays_and_platform_timeout_are_settings():
    loaded = settings.load({})
    assert loaded["LOOKUP_DELAYS_SECONDS"] == (5.0, 20.0)
    assert loaded["PLATFORM_TIMEOUT_SECONDS"] == 15.0
    loaded = settings.load(
        {"GATEWAY_LOOKUP_DELAYS_SECONDS": "2, 10,30", "GATEWAY_PLATFORM_TIMEOUT_SECONDS": "20"}
    )
    assert loaded["LOOKUP_DELAYS_SECONDS"] == (2.0, 10.0, 30.0)
    assert loaded["PLATFORM_TIMEOUT_SECONDS"] == 20.0
    for bad in ("5,x", "-1", "5,,20", "50,20"):
        with pytest.raises(settings.SettingsError):
            settings.load({"GATEWAY_LOOKUP_DELAYS_SECONDS": bad})

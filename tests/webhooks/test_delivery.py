"""Webhooks end to end (issue 17): a state change writes its message in the same transaction,
the ``webhooks`` worker sends it signed to a real receiver on loopback, a receiver that is down
gets it later, one that hangs never delays a publish, and a Redis that lost everything loses
no message."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select, text
from standardwebhooks.webhooks import Webhook

from gateway import users
from gateway.audit import Actor
from gateway.extensions import db
from gateway.models import Channel, Post, User, WebhookAttempt, WebhookMessage
from gateway.oauth.health import mark_needs_reconnecting
from gateway.posts import emergency
from gateway.queue import WEBHOOKS_QUEUE
from gateway.webhooks.delivery import RETRY_FOR, deliver_message, webhook_sweep
from gateway.webhooks.signing import decrypt_secret
from tests.conftest import TEST_PASSWORD
from tests.publishing.conftest import LONDON, approved_post, deliveries, post_status
from tests.webhooks.conftest import independent_signature, register
from workers.worker import build_worker


def run_publishing(app):
    """The publishing worker: its queues only, never the webhooks'."""
    build_worker(app).work(burst=True)


def run_webhooks(app, *, sweep=True):
    """The scheduler's sweep (which queues due messages), then the webhooks worker."""
    if sweep:
        with app.app_context():
            webhook_sweep(app)
    build_worker(app, queues=(WEBHOOKS_QUEUE,)).work(burst=True)


def messages(app):
    with app.app_context():
        rows = db.session.scalars(select(WebhookMessage).order_by(WebhookMessage.id)).all()
        return [(m.event_type, m.status, m.attempts) for m in rows]


def attempts(app):
    with app.app_context():
        rows = db.session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)).all()
        return [(a.status_code, a.error) for a in rows]


def test_each_state_change_of_a_published_post_reaches_the_receiver_signed(
    app, clock, fake, channels, officers, endpoint, receiver
):
    post_id = approved_post(app, officers, [channels["x"]])
    # Written with the submission and the approval, before any worker ran.
    assert [m[0] for m in messages(app)] == ["post.submitted", "post.approved"]
    with app.app_context():
        assert webhook_sweep(app) == 2  # queued on the webhooks queue
    run_publishing(app)
    assert post_status(app, post_id) == "published"
    assert receiver.received == []  # the publishing worker does not serve the webhooks queue
    run_webhooks(app)
    assert receiver.types() == ["post.submitted", "post.approved", "post.published"]
    assert all(r.verified for r in receiver.received), "a signature did not verify"
    published = receiver.payloads()[-1]
    [(_, _, platform_post_id, _)] = deliveries(app, post_id)
    assert published["data"]["post_id"] == post_id
    assert published["data"]["platform"] == "x"
    assert published["data"]["platform_post_id"] == platform_post_id
    assert published["data"]["links"]["post"].endswith(f"/api/v1/posts/{post_id}")
    # Each message's id is its header's, and the same on every attempt.
    with app.app_context():
        ids = db.session.scalars(select(WebhookMessage.message_id).order_by(WebhookMessage.id))
        assert [r.headers["webhook-id"] for r in receiver.received] == list(ids)
    assert [m[1:] for m in messages(app)] == [("delivered", 1)] * 3
    assert attempts(app) == [(200, None)] * 3


def test_a_wrong_secret_does_not_verify(app, clock, fake, channels, officers, endpoint, receiver):
    """The receiver's check can fail: with another secret nothing verifies."""
    receiver.secret = "whsec_" + "QUJD" * 8
    approved_post(app, officers, [channels["x"]])
    run_webhooks(app)
    assert len(receiver.received) == 2
    assert not any(r.verified for r in receiver.received)


def _signatures(received) -> list[str]:
    return received.headers["webhook-signature"].split()


def _opens(secret: str, received) -> bool:
    try:
        Webhook(secret).verify(received.body, received.headers)
    except Exception:  # noqa: BLE001
        return False
    return True


def test_a_rotation_that_keeps_the_old_secret_signs_with_both_for_a_day(
    app, clock, channels, endpoint, receiver
):
    """Standard Webhooks' rotation: for 24 hours every message carries a signature by the new
    secret and one by the old, so the receiving system changes over without refusing one;
    then only the new. A rotation "now" (a leaked secret) stops the old one at once."""
    from gateway.models import WebhookEndpoint
    from gateway.webhooks import endpoints as service

    old = receiver.secret
    with app.app_context():
        new = service.rotate_secret(
            db.session.get(WebhookEndpoint, endpoint), actor=Actor.system(), keep_old=True
        )
        stored = db.session.get(WebhookEndpoint, endpoint)
        # The old secret is kept sealed for its own purpose: not as text, and not openable as
        # the current secret's column (a swap of the two columns decrypts nothing).
        assert old.encode() not in bytes(stored.previous_secret_encrypted)
        with pytest.raises(Exception):  # noqa: B017, PT011
            decrypt_secret(endpoint, stored.previous_secret_encrypted)
        db.session.commit()
    receiver.secret = new

    def one_event(reason: str):
        with app.app_context():
            channel = db.session.get(Channel, channels["facebook"])
            channel.needs_reauthorisation = False
            db.session.commit()
            assert mark_needs_reconnecting(channels["facebook"], reason)
            db.session.commit()
        run_webhooks(app)
        return receiver.received[-1]

    during = one_event("the token was revoked")
    assert len(_signatures(during)) == 2
    assert _opens(new, during) and _opens(old, during) and during.verified
    expected = {
        independent_signature(
            s, during.headers["webhook-id"], during.headers["webhook-timestamp"], during.body
        )
        for s in (new, old)
    }
    assert set(_signatures(during)) == expected

    clock.shift(timedelta(hours=24, minutes=1))
    after = one_event("the token expired")
    assert len(_signatures(after)) == 1
    assert _opens(new, after) and not _opens(old, after)

    # Rotated again "now": the one before stops at once, with no overlap.
    with app.app_context():
        newest = service.rotate_secret(
            db.session.get(WebhookEndpoint, endpoint), actor=Actor.system(), keep_old=False
        )
        assert db.session.get(WebhookEndpoint, endpoint).previous_secret_encrypted is None
        db.session.commit()
    at_once = one_event("revoked again")
    assert _opens(newest, at_once) and not _opens(new, at_once)
    assert len(_signatures(at_once)) == 1


def test_a_receiver_that_is_down_gets_the_message_later(
    app, clock, fake, channels, officers, endpoint, receiver
):
    receiver.stop()
    approved_post(app, officers, [channels["x"]])
    run_webhooks(app)
    assert [m[1:] for m in messages(app)] == [("pending", 1), ("pending", 1)]
    assert all(code is None and "could not connect" in error for code, error in attempts(app))
    # Not yet due again: the sweep leaves them.
    with app.app_context():
        assert webhook_sweep(app) == 0
    receiver.start()  # the same port
    clock.shift(timedelta(seconds=20))
    with app.app_context():
        assert webhook_sweep(app) == 2
    run_webhooks(app)
    assert receiver.types() == ["post.submitted", "post.approved"]
    assert all(r.verified for r in receiver.received)
    assert [m[1:] for m in messages(app)] == [("delivered", 2), ("delivered", 2)]


def test_an_error_answer_is_retried_with_backoff_then_given_up_after_24_hours(
    app, clock, fake, channels, officers, allow_private, receiver
):
    endpoint_id, receiver.secret = register(app, receiver.url, ["post.submitted"])
    receiver.status = 500
    with app.app_context():
        from gateway.posts import service
        from tests.publishing.conftest import user

        post = service.create_draft(
            user(officers.author),
            text="Bin collections on Monday will take place as normal.",
            channel_ids=[channels["x"]],
            scheduled_at=datetime.now(UTC) + timedelta(days=2),
        )
        service.submit(post, user(officers.author))
        db.session.commit()
    run_webhooks(app)
    with app.app_context():
        m = db.session.scalar(select(WebhookMessage))
        first_wait = m.next_attempt_at - datetime.now(UTC)
        created = m.created_at
    assert 0 < first_wait.total_seconds() <= 15
    waits = []
    for _ in range(40):
        with app.app_context():
            m = db.session.scalar(select(WebhookMessage))
            if m.status != "pending":
                break
            waits.append(m.next_attempt_at - created)
            clock.move_to(m.next_attempt_at + timedelta(seconds=1))
            webhook_sweep(app)
        run_webhooks(app)
    tried = attempts(app)
    with app.app_context():
        m = db.session.scalar(select(WebhookMessage))
        assert m.status == "gave_up"
        assert "24 hours" in m.gave_up_reason and "HTTP 500" in m.gave_up_reason
        assert m.attempts == len(tried) > 5
    # The waits grew (doubling) and the last try was at the end of the 24 hours.
    gaps = [b - a for a, b in zip(waits, waits[1:], strict=False)]
    assert gaps[1] > gaps[0] and max(waits) <= RETRY_FOR
    assert all(code == 500 for code, _ in tried)
    assert len(receiver.received) == len(tried)


def test_a_receiver_that_hangs_does_not_delay_a_publish(
    app, clock, fake, channels, officers, endpoint, receiver
):
    receiver.hang = True
    post_id = approved_post(app, officers, [channels["x"]])
    with app.app_context():
        first = db.session.scalar(select(WebhookMessage.message_id).order_by(WebhookMessage.id))
    results = []

    def webhook_worker():
        with app.app_context():
            try:
                results.append(deliver_message(first))
            finally:
                db.session.remove()

    thread = threading.Thread(target=webhook_worker)
    thread.start()
    try:
        assert receiver.arrived.wait(10), "the webhook never reached the receiver"
        run_publishing(app)  # while the receiver still holds the webhook worker
        assert not receiver.release.is_set() and thread.is_alive()
        assert post_status(app, post_id) == "published"
        assert [r[1] for r in deliveries(app, post_id)] == ["published"]
        statuses = {m[0]: m[1] for m in messages(app)}
        assert statuses == {
            "post.submitted": "sending",
            "post.approved": "pending",
            "post.published": "pending",
        }
    finally:
        receiver.release.set()
        thread.join(30)
    assert results == ["delivered"]
    receiver.hang = False
    run_webhooks(app)
    assert receiver.types() == ["post.submitted", "post.approved", "post.published"]
    assert all(r.verified for r in receiver.received)


def test_a_flushed_redis_loses_no_message(
    app, clock, fake, channels, officers, endpoint, receiver, redis_conn
):
    approved_post(app, officers, [channels["x"]])
    with app.app_context():
        assert webhook_sweep(app) == 2
        assert webhook_sweep(app) == 0  # queued once, not twice
    redis_conn.flushdb()  # every queued job is gone
    run_webhooks(app, sweep=False)
    assert receiver.received == []
    with app.app_context():
        assert webhook_sweep(app) == 2
    run_webhooks(app, sweep=False)
    assert receiver.types() == ["post.submitted", "post.approved"]


def test_a_rolled_back_change_writes_no_message(app, clock, channels, officers, endpoint):
    with app.app_context():
        from gateway.posts import service
        from tests.publishing.conftest import user

        post = service.create_draft(
            user(officers.author),
            text="Bin collections on Monday will take place as normal.",
            channel_ids=[channels["x"]],
            scheduled_at=datetime.now(UTC) + timedelta(days=2),
        )
        db.session.commit()
        service.submit(post, user(officers.author))
        db.session.rollback()
    assert messages(app) == []


def test_only_the_events_an_endpoint_chose_and_none_for_a_disabled_one(
    app, clock, fake, channels, officers, allow_private, receiver
):
    _, receiver.secret = register(app, receiver.url, ["post.published"])
    register(app, receiver.url + "/off", ["post.published"], enabled=False)
    approved_post(app, officers, [channels["x"]])
    run_publishing(app)
    assert messages(app) == [("post.published", "pending", 0)]
    run_webhooks(app)
    assert receiver.types() == ["post.published"]


def test_failed_held_and_blocked_posts_and_a_channel_to_reconnect(
    app, clock, fake, channels, officers, endpoint, receiver
):
    # Refused by the platform: failed.
    fake.inject_fault(
        "error", platform="x", status=403, times=1, path_contains="/2/tweets", method="POST"
    )
    failed = approved_post(app, officers, [channels["x"]])
    run_publishing(app)
    assert [r[1] for r in deliveries(app, failed)] == ["failed"]
    # An unknown outcome, not found on the platform: held.
    fake.inject_fault(
        "error", platform="x", status=500, times=1, path_contains="/2/tweets", method="POST"
    )
    held = approved_post(app, officers, [channels["x"]])
    run_publishing(app)
    assert [r[1] for r in deliveries(app, held)] == ["held"]
    # Changed behind its approval's back: blocked at publish time.
    blocked = approved_post(app, officers, [channels["x"]])
    with app.app_context():
        db.session.execute(
            text("UPDATE posts SET text = 'Vote for the best party!' WHERE id = :id"),
            {"id": blocked},
        )
        db.session.commit()
    run_publishing(app)
    assert [r[1] for r in deliveries(app, blocked)] == ["blocked"]
    # A channel whose token was revoked.
    with app.app_context():
        assert mark_needs_reconnecting(channels["facebook"], "the token was revoked")
        db.session.commit()
    run_webhooks(app)
    assert all(r.verified for r in receiver.received)
    by_type = {}
    for p in receiver.payloads():
        by_type.setdefault(p["type"], []).append(p["data"])
    assert [d["post_id"] for d in by_type["post.failed"]] == [failed]
    assert [d["post_id"] for d in by_type["post.held"]] == [held]
    assert [d["post_id"] for d in by_type["post.blocked"]] == [blocked]
    assert by_type["channel.needs_reconnecting"] == [
        {
            "channel_id": channels["facebook"],
            "platform": "facebook",
            "reason": "the token was revoked",
        }
    ]
    assert "changed after it was approved" in by_type["post.blocked"][0]["reason"]


def test_an_emergency_post_sent_at_night(app, fake, channels, endpoint, receiver):
    with time_machine.travel(datetime(2027, 3, 10, 3, 0, tzinfo=LONDON), tick=True):
        with app.app_context():
            duty = users.create_user(
                "duty@council.example", ["duty_officer"], TEST_PASSWORD, actor=Actor.system()
            )
            db.session.commit()
            post = emergency.send(
                db.session.get(User, duty.id),
                text="Flood warning: the river is rising at Saltmarsh. Avoid the quayside road.",
                channel_ids=[channels["x"]],
                category="flooding",
            )
            db.session.commit()
            post_id = post.id
        run_publishing(app)
        run_webhooks(app)
    assert all(r.verified for r in receiver.received)
    types = receiver.types()
    assert types[0] == "emergency.sent" and "post.published" in types
    sent = receiver.payloads()[0]["data"]
    assert sent["post_id"] == post_id and sent["category"] == "flooding"
    assert sent["release"] == "at_once"
    with app.app_context():
        assert db.session.get(Post, post_id).status == "published"
    # The body names no person: the actor's email is the publish log's, not the receiver's.
    assert all("duty@council.example" not in json.dumps(p) for p in receiver.payloads())


def test_an_emergency_post_approved_by_fast_track_is_sent_as_an_emergency_too(
    app, fake, channels, endpoint, receiver
):
    """In office hours an emergency post waits for another officer's fast-track approval; when
    it is approved it goes out at once, and a receiver of "emergency.sent" is told, as of one
    sent at night (a system that listens for emergencies only must not miss the day's)."""
    from gateway.posts import service

    with time_machine.travel(datetime(2027, 3, 10, 12, 0, tzinfo=LONDON), tick=True):
        with app.app_context():
            duty = users.create_user(
                "duty@council.example",
                ["duty_officer", "officer"],
                TEST_PASSWORD,
                actor=Actor.system(),
            )
            approver = users.create_user(
                "approver@council.example", ["officer"], TEST_PASSWORD, actor=Actor.system()
            )
            db.session.commit()
            post = emergency.send(
                db.session.get(User, duty.id),
                text="Road closed: the A12 at Saltmarsh bridge is shut after a collision.",
                channel_ids=[channels["x"]],
                category="road_closure",
            )
            db.session.commit()
            post_id = post.id
            assert post.emergency_release == "fast_track"
            service.approve(db.session.get(Post, post_id), db.session.get(User, approver.id))
            db.session.commit()
        run_publishing(app)
        run_webhooks(app)
    types = receiver.types()
    assert types.count("emergency.sent") == 1 and types.count("post.approved") == 1
    by_type = {p["type"]: p["data"] for p in receiver.payloads()}
    assert by_type["emergency.sent"]["post_id"] == post_id
    assert by_type["emergency.sent"]["category"] == "road_closure"
    assert "post.published" in types
    assert all("approver@council.example" not in json.dumps(p) for p in receiver.payloads())


def test_a_message_whose_worker_died_mid_attempt_is_sent_again(
    app, clock, channels, officers, endpoint, receiver, redis_conn
):
    """A worker killed after its claim leaves the message "sending" under a lease nobody
    renews: past the lease the sweep sends it again, with the same webhook-id."""
    from gateway.posts import service
    from tests.publishing.conftest import user

    with app.app_context():
        post = service.create_draft(
            user(officers.author),
            text="Bin collections on Monday will take place as normal.",
            channel_ids=[channels["x"]],
            scheduled_at=datetime.now(UTC) + timedelta(days=2),
        )
        service.submit(post, user(officers.author))
        db.session.commit()
        message = db.session.scalar(select(WebhookMessage))
        message.status, message.attempts = "sending", 1
        message.lease_expires_at = datetime.now(UTC) + timedelta(seconds=120)
        message_id = message.message_id
        db.session.commit()
    redis_conn.flushdb()  # its job went with the worker
    with app.app_context():
        assert webhook_sweep(app) == 0  # the lease still runs
    clock.shift(timedelta(seconds=121))
    with app.app_context():
        assert webhook_sweep(app) == 1
    run_webhooks(app)
    assert [r.headers["webhook-id"] for r in receiver.received] == [message_id]
    assert messages(app) == [("post.submitted", "delivered", 2)]

"""Two races read in the code under faults (issue 19), each constructed here step by step.

1. The outcome after a look-up: the attempt lets go of its row while it asks the platform, then
   takes the lock again. It checked only that the row still existed, so another attempt's claim,
   or an outcome already recorded for the same attempt by the sweep's resolve job, could be
   written over. It now checks that the attempt id and the status are still its own.
2. The "missed its grace period" hold was an ORM update of a row read without a lock, so a job
   run very late could overwrite another worker's "publishing" with "held". It is now a
   conditional UPDATE (the status and attempt it read, or nothing).

Each interleaving runs at a fixed point in the real code: the other worker's steps run inside
the real look-up (after the platform answered it) or as the row is loaded. Everything else is
the real gateway against the fake platform.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from gateway.domain.statuses import DeliveryStatus
from gateway.extensions import db
from gateway.models import AuditEntry, Delivery
from gateway.models.base import utcnow
from gateway.publishing import attempt
from tests.publishing.conftest import approved_post

D = DeliveryStatus


def _claimed(app, clock, fake, channels, officers, fault):
    fake.inject_fault(fault, platform="x", path_contains="/2/tweets", method="POST")
    post_id = approved_post(app, officers, [channels["x"]])
    clock.shift(timedelta(seconds=2))
    with app.app_context():
        delivery_id = db.session.scalar(select(Delivery.id).where(Delivery.post_id == post_id))
        prepared = attempt.claim(delivery_id)
    assert not isinstance(prepared, str), prepared
    with app.app_context():
        result = attempt.call_platform(prepared)
    assert isinstance(result, attempt.OutcomeUnknown)
    return delivery_id, prepared, result


def _during_first_look_up(monkeypatch, other_worker):
    """Run ``other_worker`` once, right after the first look-up has its answer."""
    real = attempt.look_up
    calls = []

    def look_up(prepared):
        found = real(prepared)
        if not calls:
            calls.append(prepared)
            other_worker()
        return found

    monkeypatch.setattr(attempt, "look_up", look_up)


def _row(app, delivery_id):
    with app.app_context():
        d = db.session.get(Delivery, delivery_id)
        db.session.expunge_all()
        return d.status, d.attempt_id


def _outcomes(app, attempt_id):
    with app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "delivery.outcome")
        ).all()
        return [e for e in entries if attempt_id.encode() in e.leaf]


def test_an_outcome_after_a_look_up_does_not_overwrite_another_attempts_claim(
    app, clock, fake, channels, officers, monkeypatch
):
    delivery_id, prepared, result = _claimed(app, clock, fake, channels, officers, "drop")
    theirs = {}

    def meanwhile():
        # This attempt's lease lapsed while it waited on the platform: the sweep's resolve job
        # held the delivery, a person released it, and another worker claimed it.
        assert attempt.resolve_abandoned(delivery_id, prepared.attempt_id) == (
            "held: outcome unknown"
        )
        db.session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status == D.HELD.value)
            .values(status=D.SCHEDULED.value, held_reason=None)
        )
        db.session.commit()
        other = attempt.claim(delivery_id)
        assert not isinstance(other, str), other
        theirs["attempt_id"] = other.attempt_id

    _during_first_look_up(monkeypatch, meanwhile)
    with app.app_context():
        assert attempt.record_outcome(prepared, result) == "claim lost"
    assert _row(app, delivery_id) == (D.PUBLISHING.value, theirs["attempt_id"])
    assert len(_outcomes(app, prepared.attempt_id)) == 1  # the resolve job's, and only it


def test_an_outcome_already_recorded_for_the_same_attempt_is_not_recorded_twice(
    app, clock, fake, channels, officers, monkeypatch
):
    # The post was made and its answer lost; while this (slow) attempt looks it up, the sweep's
    # resolve job for the same attempt finds it and records it published.
    delivery_id, prepared, result = _claimed(app, clock, fake, channels, officers, "lost_answer")

    def meanwhile():
        assert attempt.resolve_abandoned(delivery_id, prepared.attempt_id) == "published"

    _during_first_look_up(monkeypatch, meanwhile)
    with app.app_context():
        assert attempt.record_outcome(prepared, result) == "claim lost"
    assert _row(app, delivery_id) == (D.PUBLISHED.value, prepared.attempt_id)
    assert len(_outcomes(app, prepared.attempt_id)) == 1  # the publish log's rule 2
    assert len(fake.posts("x")) == 1


def test_a_missed_hold_does_not_overwrite_a_claim_made_since_the_row_was_read(
    app, clock, fake, channels, officers, database_url
):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite takes its one write lock at BEGIN: no claim can come in between")
    post_id = approved_post(app, officers, [channels["x"]])
    clock.shift(timedelta(minutes=45))  # this job runs long after the grace period
    with app.app_context():
        delivery_id = db.session.scalar(select(Delivery.id).where(Delivery.post_id == post_id))
        db.session.remove()
    fired = []

    def another_worker_claims(target, context):
        # As this job reads the row, another worker claims it and commits (its own connection).
        if fired or target.id != delivery_id:
            return
        fired.append(True)
        with db.engine.begin() as conn:
            conn.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id)
                .values(
                    status=D.PUBLISHING.value,
                    attempt_id="another-worker",
                    lease_expires_at=utcnow() + attempt.LEASE,
                )
            )

    event.listen(Delivery, "load", another_worker_claims)
    try:
        with app.app_context():
            assert attempt.claim(delivery_id) == "claimed by another worker"
    finally:
        event.remove(Delivery, "load", another_worker_claims)
    assert fired
    assert _row(app, delivery_id) == (D.PUBLISHING.value, "another-worker")
    with app.app_context():
        held = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "delivery.held")
        ).all()
    assert held == []


def test_a_missed_delivery_nobody_else_touched_is_still_held(app, clock, fake, channels, officers):
    post_id = approved_post(app, officers, [channels["x"]])
    clock.shift(timedelta(minutes=45))
    with app.app_context():
        delivery_id = db.session.scalar(select(Delivery.id).where(Delivery.post_id == post_id))
        assert attempt.claim(delivery_id) == "missed"
    status, _ = _row(app, delivery_id)
    assert status == D.HELD.value

"""A post's deliveries (one per channel, all due at once) published by workers at the same moment.

Each attempt changes the post's status (approved -> publishing -> published); the post row is
versioned, so without a lock all but one of them failed with a stale version and their
deliveries were only published later by the sweep (found by bench/bench_publish.py).
"""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from gateway.extensions import db
from gateway.models import Delivery
from gateway.publishing import attempt
from tests.publishing.conftest import approved_post, deliveries, post_status


def _publish_in_thread(app, delivery_id, wait, results, errors) -> threading.Thread:
    """A worker in its own thread: waits for its cue, publishes, reports what happened."""

    def run() -> None:
        with app.app_context():
            try:
                wait()
                results.append(attempt.publish(delivery_id))
            except BaseException as exc:  # noqa: BLE001 - reported by the test's assertion
                errors.append(exc)
            finally:
                db.session.remove()

    return threading.Thread(target=run)


def _run(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_deliveries_of_one_post_published_at_once_all_succeed_and_settle_the_post(
    app, clock, fake, channels, officers
):
    post_id = approved_post(app, officers, [channels["x"], channels["facebook"]])
    with app.app_context():
        ids = db.session.scalars(
            select(Delivery.id).where(Delivery.post_id == post_id).order_by(Delivery.id)
        ).all()
    clock.shift(timedelta(seconds=2))
    # Slow answers keep both attempts open at the same time.
    fake.inject_fault("latency", latency_ms=300, times=None)
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(ids))

    _run([_publish_in_thread(app, i, barrier.wait, results, errors) for i in ids])
    assert errors == [] and sorted(results) == ["published", "published"], (errors, results)
    assert [r[1] for r in deliveries(app, post_id)] == ["published", "published"]
    assert post_status(app, post_id) == "published"
    assert len(fake.posts("x")) == 1 and len(fake.posts("facebook")) == 1


def test_a_claim_and_a_cancel_at_the_same_instant_take_turns_without_a_deadlock(
    app, clock, fake, channels, officers
):
    """The officer's cancel locks the post's row, then its deliveries' (the ORM's flush
    order); a claim must take them in the same order. Taken the other way round (delivery
    first), the claim held the delivery and waited for the post while the cancel held the post
    and waited for the delivery, until PostgreSQL killed one of them."""
    import time

    import pytest
    from sqlalchemy import text

    post_id = approved_post(app, officers, [channels["x"]])
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite takes its one write lock at BEGIN: no two writers interleave")
        (delivery_id,) = db.session.scalars(
            select(Delivery.id).where(Delivery.post_id == post_id)
        ).all()
    clock.shift(timedelta(seconds=2))
    post_locked = threading.Event()
    results: list[str] = []
    errors: list[BaseException] = []

    def officer_cancels() -> None:
        with app.app_context(), db.engine.connect() as conn:
            try:
                conn.execute(
                    text(
                        "UPDATE posts SET status = 'cancelled', version = version + 1 "
                        "WHERE id = :id"
                    ),
                    {"id": post_id},
                )
                post_locked.set()
                time.sleep(0.5)  # the claim runs meanwhile, and must wait for the post
                conn.execute(
                    text("UPDATE deliveries SET status = 'cancelled' WHERE post_id = :id"),
                    {"id": post_id},
                )
                conn.commit()
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

    _run(
        [
            threading.Thread(target=officer_cancels),
            _publish_in_thread(app, delivery_id, post_locked.wait, results, errors),
        ]
    )
    assert errors == [], errors
    assert results == ["claimed by another worker"]
    assert [r[1] for r in deliveries(app, post_id)] == ["cancelled"]
    assert fake.posts("x") == []

"""The scheduler's release loop: due deliveries reach a queue at their time, once, never early.

Each tick reads only what fell due in a short window behind now; what is older and still has no
job (the scheduler was stopped, Redis lost it) is left to the sweep.
"""

from __future__ import annotations

from datetime import timedelta

from rq import Queue
from rq.registry import ScheduledJobRegistry
from sqlalchemy import update

from gateway.extensions import db
from gateway.models import Delivery
from gateway.models.base import utcnow
from gateway.publishing.release import (
    RELEASE_WINDOW,
    Releaser,
    job_statuses,
    publish_job_id,
    release_due,
)
from gateway.queue import PUBLISH_QUEUE, redis_connection
from tests.publishing.conftest import approved_post, deliveries


def _delivery_id(app, post_id):
    with app.app_context():
        return db.session.scalars(db.select(Delivery.id).where(Delivery.post_id == post_id)).one()


def _queue(app):
    return Queue(PUBLISH_QUEUE, connection=redis_connection(app))


def test_a_scheduled_job_moves_to_the_queue_at_its_time_not_before(
    app, clock, fake, channels, officers
):
    post_id = approved_post(app, officers, [channels["x"]], due_in=timedelta(seconds=20))
    job_id = publish_job_id(_delivery_id(app, post_id))
    queue = _queue(app)
    registry = ScheduledJobRegistry(queue=queue)
    assert job_id in registry.get_job_ids() and queue.job_ids == []
    releaser = Releaser(app)
    with app.app_context():
        assert releaser.tick() == 0  # not due yet: it stays with RQ
        assert queue.job_ids == [] and job_id in registry.get_job_ids()
        clock.shift(timedelta(seconds=21))
        assert releaser.tick() == 1
        assert queue.job_ids == [job_id] and registry.get_job_ids() == []
        assert releaser.tick() == 0  # handed over once: the next tick leaves it alone
        assert queue.job_ids == [job_id]


def test_a_due_delivery_with_no_job_is_queued_once(app, clock, fake, channels, officers):
    post_id = approved_post(app, officers, [channels["x"]], due_in=timedelta(seconds=20))
    redis_connection(app).flushdb()  # Redis lost the scheduled job
    delivery_id = _delivery_id(app, post_id)
    releaser = Releaser(app)
    clock.shift(timedelta(seconds=21))
    with app.app_context():
        # Seen without a job once: left for a pass, as a just-committed post's own enqueue
        # may be on its way; still without one on the next pass: queued.
        releaser.tick()
        assert _queue(app).count == 0
        assert releaser.tick() == 1
        assert _queue(app).job_ids == [publish_job_id(delivery_id)]
        assert releaser.tick() == 0
        assert _queue(app).count == 1


def test_a_job_queued_by_its_own_commit_is_not_queued_again(app, clock, fake, channels, officers):
    post_id = approved_post(app, officers, [channels["x"]], due_in=timedelta(seconds=20))
    delivery_id = _delivery_id(app, post_id)
    conn = redis_connection(app)
    conn.flushdb()
    releaser = Releaser(app)
    clock.shift(timedelta(seconds=21))
    with app.app_context():
        releaser.tick()  # no job yet: the commit's own enqueue has not landed
        _queue(app).enqueue(
            "workers.publish.publish_delivery", delivery_id, job_id=publish_job_id(delivery_id)
        )  # now it has
        releaser.tick()
        releaser.tick()
        assert _queue(app).job_ids == [publish_job_id(delivery_id)]


def test_a_delivery_older_than_the_window_is_left_to_the_sweep(
    app, clock, fake, channels, officers
):
    post_id = approved_post(app, officers, [channels["x"]], due_in=timedelta(seconds=20))
    redis_connection(app).flushdb()
    delivery_id = _delivery_id(app, post_id)
    clock.shift(timedelta(seconds=21) + RELEASE_WINDOW * 2)
    with app.app_context():
        assert Releaser(app).tick() == 0
        assert _queue(app).count == 0
        assert release_due(app) == 1  # the sweep, every SWEEP_SECONDS, finds it
        assert _queue(app).job_ids == [publish_job_id(delivery_id)]
    assert [row[1] for row in deliveries(app, post_id)] == ["scheduled"]


def test_a_scheduled_job_whose_time_passed_while_the_scheduler_was_down_is_moved_by_the_sweep(
    app, clock, fake, channels, officers
):
    # Found by the daylight-saving soak (issue 19): its stack was slow to start, the
    # scheduler came up after the first posts' time, and their jobs stayed in RQ's scheduled
    # registry, counted live by the sweep, with nobody to move them (RQ's own scheduler is off).
    post_id = approved_post(app, officers, [channels["x"]], due_in=timedelta(seconds=20))
    delivery_id = _delivery_id(app, post_id)
    job_id = publish_job_id(delivery_id)
    registry = ScheduledJobRegistry(queue=_queue(app))
    clock.shift(timedelta(seconds=21) + RELEASE_WINDOW * 2)
    with app.app_context():
        assert Releaser(app).tick() == 0  # too old for the release loop's window
        assert job_id in registry.get_job_ids()
        assert release_due(app) == 1
        assert _queue(app).job_ids == [job_id] and registry.get_job_ids() == []
        assert release_due(app) == 0  # moved once: now it waits in the queue, live
        assert _queue(app).job_ids == [job_id]
    assert [row[1] for row in deliveries(app, post_id)] == ["scheduled"]


def test_a_retry_is_released_at_its_retry_time(app, clock, fake, channels, officers):
    post_id = approved_post(app, officers, [channels["x"]], due_in=timedelta(seconds=20))
    redis_connection(app).flushdb()
    delivery_id = _delivery_id(app, post_id)
    clock.shift(timedelta(seconds=21))
    with app.app_context():
        db.session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(status="retry", next_attempt_at=utcnow() + timedelta(seconds=30))
        )
        db.session.commit()
        releaser = Releaser(app)
        assert releaser.tick() == 0  # its due time has passed, its retry time has not
        assert _queue(app).count == 0
        clock.shift(timedelta(seconds=31))
        releaser.tick()
        releaser.tick()
        assert _queue(app).job_ids == [publish_job_id(delivery_id)]


def test_job_statuses_reads_each_status_in_one_pass(app, clock, fake, channels, officers):
    post_id = approved_post(app, officers, [channels["x"]])
    job_id = publish_job_id(_delivery_id(app, post_id))
    assert job_statuses(redis_connection(app), [job_id, "no-such-job"]) == ["queued", None]

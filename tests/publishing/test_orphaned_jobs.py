"""A job that a dying worker took off its queue, or a dying scheduler out of RQ's scheduled
registry, is queued again within seconds (issue 19, found by the soak).

Found by bench/soak.py: a worker listening on several queues (the gateway's workers listen on
the emergency and the publish queue) takes a job with BLPOP and marks it started a moment
later. A worker SIGKILLed in between leaves the job "queued" in its hash but on no queue, and
the release sweep counted every queued job as live: the delivery was never published (stuck
"scheduled" after the soak's five-minute drain). RQ's own maintenance does not see it either:
its intermediate queue is used only by workers on one queue. The same holds for a job the
scheduler's release loop took out of the scheduled registry just before it was killed.

The tests leave Redis as the dead process left it and drive the sweep with the time they pass.
"""

from __future__ import annotations

from datetime import timedelta

from rq import Queue
from rq.job import Job

from gateway.models.base import utcnow
from gateway.publishing import liveness
from gateway.publishing.release import publish_job_id, release_due
from gateway.queue import EMERGENCY_QUEUE, redis_connection
from tests.publishing.test_sigkill import _emergency_post, _status
from workers.worker import build_worker

LATER = liveness.WORKER_DEAD_AFTER + timedelta(seconds=1)


def _status_of(conn, job_id):
    raw = conn.hget(Job.key_for(job_id), "status")
    return None if raw is None else raw.decode()


def test_a_job_taken_off_its_queue_by_a_worker_that_died_is_queued_again(app, fake, channels):
    delivery_id = _emergency_post(app, channels)
    conn = redis_connection(app)
    job_id = publish_job_id(delivery_id)
    queue = Queue(EMERGENCY_QUEUE, connection=conn)
    # What a worker on several queues does first (rq.Queue.dequeue_any: BLPOP) ... then dies.
    assert conn.lpop(queue.key).decode() == job_id
    assert _status_of(conn, job_id) == "queued"
    with app.app_context():
        # A live worker marks its job started a moment later: not yet.
        assert release_due(app) == 0
        assert release_due(app, now=utcnow() + LATER) == 1
    assert queue.get_job_ids() == [job_id]
    build_worker(app).work(burst=True)
    assert _status(app, delivery_id) == "published"
    assert len(fake.posts("x")) == 1


def test_a_job_lost_between_the_scheduled_registry_and_its_queue_is_queued_again(
    app, fake, channels
):
    delivery_id = _emergency_post(app, channels)
    conn = redis_connection(app)
    job_id = publish_job_id(delivery_id)
    queue = Queue(EMERGENCY_QUEUE, connection=conn)
    # The release loop took it out of the scheduled registry (ZREM) and was killed before
    # queuing it: "scheduled" in its hash, in neither place.
    conn.lrem(queue.key, 0, job_id)
    conn.hset(Job.key_for(job_id), "status", "scheduled")
    with app.app_context():
        assert release_due(app) == 0
        assert release_due(app, now=utcnow() + LATER) == 1
    build_worker(app).work(burst=True)
    assert _status(app, delivery_id) == "published"
    assert len(fake.posts("x")) == 1


def test_a_job_waiting_on_its_queue_is_left_alone(app, fake, channels):
    delivery_id = _emergency_post(app, channels)
    conn = redis_connection(app)
    job_id = publish_job_id(delivery_id)
    with app.app_context():
        for _ in range(3):
            assert release_due(app, now=utcnow() + LATER) == 0
    assert Queue(EMERGENCY_QUEUE, connection=conn).get_job_ids() == [job_id]
    build_worker(app).work(burst=True)
    assert _status(app, delivery_id) == "published"
    assert len(fake.posts("x")) == 1

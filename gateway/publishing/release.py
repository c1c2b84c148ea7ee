"""Getting due deliveries to a worker on time, from the approval and from the sweep.

Redis only delivers: the approval enqueues each delivery for its time after the commit, and the
scheduler sweep finds any due delivery that has no live job (Redis flushed, down at commit time,
a job lost with a dead worker) and enqueues it again. The job id is derived from the delivery
id, so a delivery cannot be queued twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, or_, select

from gateway.domain.statuses import DeliveryStatus, PostStatus
from gateway.extensions import db
from gateway.models import Delivery, Post
from gateway.models.base import utcnow
from gateway.queue import EMERGENCY_QUEUE, PUBLISH_QUEUE, get_queue, redis_connection
from workers.enqueue import enqueue_after_commit

#: The sweep hands deliveries due this soon to the queue; the job then waits for the exact
#: instant, so a post is never published before its time and lateness stays well under 1 s.
RELEASE_AHEAD = timedelta(seconds=1.5)
#: How often the release loop (``release_now``) looks for deliveries that have just fallen due.
#: RQ's own scheduler keeps whole seconds and polls once a second, so it hands a job over up
#: to a second early (the job then sleeps in a worker) or late; measured in bench/bench_publish.py
#: and docs/benchmarks.md. This loop moves each job within one tick after its exact time.
RELEASE_TICK_SECONDS = 0.05
#: Jobs in these states will still run: the sweep leaves them alone.
LIVE_STATES = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED}
CLAIMABLE = (DeliveryStatus.SCHEDULED.value, DeliveryStatus.RETRY.value)


def publish_job_id(delivery_id: int) -> str:
    return f"publish-delivery-{delivery_id}"


def resolve_job_id(delivery_id: int, attempt_id: str) -> str:
    return f"resolve-delivery-{delivery_id}-{attempt_id}"


def _queue_name(emergency: bool) -> str:
    return EMERGENCY_QUEUE if emergency else PUBLISH_QUEUE


def ceil_to_second(at: datetime) -> datetime:
    """RQ's enqueue_at keeps whole seconds: round up so nothing is released early."""
    if at.microsecond == 0:
        return at
    return at.replace(microsecond=0) + timedelta(seconds=1)


def enqueue_delivery_after_commit(delivery: Delivery, *, emergency: bool) -> None:
    from workers.publish import publish_delivery

    due = delivery.next_attempt_at or delivery.due_at
    at = (
        None
        if due is None or due - RELEASE_AHEAD <= utcnow()
        else ceil_to_second(due - RELEASE_AHEAD)
    )
    enqueue_after_commit(
        publish_delivery,
        delivery.id,
        queue=_queue_name(emergency),
        job_id=publish_job_id(delivery.id),
        at=at,
    )


def _job_is_live(conn, job_id: str) -> bool:  # noqa: ANN001
    try:
        status = Job.fetch(job_id, connection=conn).get_status(refresh=False)
    except NoSuchJobError:
        return False
    return status in LIVE_STATES


def release_due(app: Flask, *, now: datetime | None = None) -> int:
    """Enqueue every due delivery that has no live job. Returns how many were enqueued."""
    from workers.options import job_options
    from workers.publish import publish_delivery

    now = now or utcnow()
    due_time = func.coalesce(Delivery.next_attempt_at, Delivery.due_at)
    rows = db.session.execute(
        select(Delivery.id, Post.emergency_category)
        .join(Post, Post.id == Delivery.post_id)
        .where(Delivery.status.in_(CLAIMABLE), due_time <= now + RELEASE_AHEAD)
        .order_by(due_time)
    ).all()
    if not rows:
        return 0
    conn = redis_connection(app)
    enqueued = 0
    for delivery_id, emergency in rows:
        job_id = publish_job_id(delivery_id)
        if _job_is_live(conn, job_id):
            continue
        get_queue(_queue_name(bool(emergency)), app).enqueue(
            publish_delivery, delivery_id, job_id=job_id, **job_options()
        )
        enqueued += 1
    return enqueued


def release_now(app: Flask, *, now: datetime | None = None) -> int:
    """Hand every delivery that is due now to its queue: move its job out of RQ's scheduled
    registry, or enqueue it if it has no live job. Never before its time, so no worker waits.

    Run every RELEASE_TICK_SECONDS by the scheduler process. A job moved here and by RQ's own
    scheduler at the same moment would run twice; the claim's compare-and-set makes the second
    run do nothing.
    """
    from workers.options import job_options
    from workers.publish import publish_delivery

    now = now or utcnow()
    due_time = func.coalesce(Delivery.next_attempt_at, Delivery.due_at)
    rows = db.session.execute(
        select(Delivery.id, Post.emergency_category)
        .join(Post, Post.id == Delivery.post_id)
        .where(Delivery.status.in_(CLAIMABLE), due_time <= now)
        .order_by(due_time)
    ).all()
    db.session.rollback()  # hold no snapshot or lock between ticks
    if not rows:
        return 0
    conn = redis_connection(app)
    jobs = Job.fetch_many([publish_job_id(delivery_id) for delivery_id, _ in rows], conn)
    released = 0
    jobless: dict[int, bool] = {}
    for (delivery_id, emergency), job in zip(rows, jobs, strict=True):
        queue = get_queue(_queue_name(bool(emergency)), app)
        status = job.get_status(refresh=False) if job is not None else None
        if status is JobStatus.SCHEDULED:
            # Only the remover enqueues: ZREM answers 1 to exactly one caller.
            if conn.zrem(ScheduledJobRegistry(queue=queue).key, job.id):
                queue.enqueue_job(job)
                released += 1
        elif status not in LIVE_STATES:
            jobless[delivery_id] = bool(emergency)
    if jobless:
        # A job may have run and finished between the read above and the fetch of its job:
        # read those rows again, so a delivery just published is not queued a second time
        # (the claim would refuse it, but its worker may still be writing the finished job).
        still = db.session.scalars(
            select(Delivery.id).where(
                Delivery.id.in_(list(jobless)), Delivery.status.in_(CLAIMABLE)
            )
        ).all()
        db.session.rollback()
        for delivery_id in still:
            get_queue(_queue_name(jobless[delivery_id]), app).enqueue(
                publish_delivery, delivery_id, job_id=publish_job_id(delivery_id), **job_options()
            )
            released += 1
    return released


def release_stale(app: Flask, *, now: datetime | None = None) -> int:
    """Deliveries stuck in "publishing" past their lease: their worker died. Resolve each by
    asking the platform, never by sending again blindly."""
    from workers.options import job_options
    from workers.publish import resolve_delivery

    now = now or utcnow()
    rows = db.session.execute(
        select(Delivery.id, Delivery.attempt_id, Post.emergency_category)
        .join(Post, Post.id == Delivery.post_id)
        .where(
            Delivery.status == DeliveryStatus.PUBLISHING.value,
            or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at < now),
        )
    ).all()
    conn = redis_connection(app)
    enqueued = 0
    for delivery_id, attempt_id, emergency in rows:
        job_id = resolve_job_id(delivery_id, attempt_id or "none")
        if _job_is_live(conn, job_id):
            continue
        get_queue(_queue_name(bool(emergency)), app).enqueue(
            resolve_delivery, delivery_id, attempt_id, job_id=job_id, **job_options()
        )
        enqueued += 1
    return enqueued


def post_is_live(status: str) -> bool:
    return status in (PostStatus.APPROVED.value, PostStatus.PUBLISHING.value)

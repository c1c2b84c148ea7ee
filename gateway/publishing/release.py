"""Getting due deliveries to a worker on time, from the approval and from the sweep.

Redis only delivers: the approval enqueues each delivery for its time after the commit, and the
scheduler sweep finds any due delivery that has no live job (Redis flushed, down at commit time,
a job lost with a dead worker) and enqueues it again. The job id is derived from the delivery
id, so a delivery cannot be queued twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from flask import Flask
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from sqlalchemy import and_, func, or_, select

from gateway.domain.statuses import DeliveryStatus, PostStatus
from gateway.extensions import db
from gateway.models import Delivery, Post
from gateway.models.base import utcnow
from gateway.publishing.liveness import forget_dead_run, forget_orphan, job_states
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
#: How far back each tick of the release loop looks. Wider than any pause between ticks (a
#: slow database, a busy machine); what is older and still waiting is the sweep's.
RELEASE_WINDOW = timedelta(seconds=5)
#: Jobs in these states will still run: the sweep leaves them alone.
LIVE_STATUSES = frozenset(
    state.value
    for state in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED)
)
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


def due_between(upper: datetime, lower: datetime | None = None):  # noqa: ANN201
    """Claimable deliveries whose next time (retry time, else due time) is in (lower, upper].

    Written as two ranges rather than over ``coalesce(next_attempt_at, due_at)`` so that each
    can use its index (ix_deliveries_status_due, ix_deliveries_status_next_attempt): the release
    loop asks twenty times a second, while thousands of deliveries wait for later.
    """
    no_retry = and_(Delivery.next_attempt_at.is_(None), Delivery.due_at <= upper)
    retry = Delivery.next_attempt_at <= upper
    if lower is not None:
        no_retry = and_(no_retry, Delivery.due_at > lower)
        retry = and_(retry, Delivery.next_attempt_at > lower)
    return and_(Delivery.status.in_(CLAIMABLE), or_(no_retry, retry))


def _next_time():  # noqa: ANN202
    return func.coalesce(Delivery.next_attempt_at, Delivery.due_at)


def job_statuses(conn, job_ids: list[str]) -> list[str | None]:  # noqa: ANN001
    """Each job's RQ status (None: no such job), in one round trip to Redis.

    Only the status field is read: fetching whole jobs (their pickled calls) for every due
    delivery on every pass cost the scheduler half a core under a backlog (docs/benchmarks.md).
    """
    pipe = conn.pipeline(transaction=False)
    for job_id in job_ids:
        pipe.hget(Job.key_for(job_id), "status")
    return [None if raw is None else raw.decode() for raw in pipe.execute()]


def _is_live(status: str | None) -> bool:
    return status in LIVE_STATUSES


def _enqueue_publish(app: Flask, delivery_id: int, *, emergency: bool) -> None:
    """Queue the delivery's publish job now, on the emergency queue if it is one."""
    from workers.options import job_options
    from workers.publish import publish_delivery

    get_queue(_queue_name(emergency), app).enqueue(
        publish_delivery, delivery_id, job_id=publish_job_id(delivery_id), **job_options()
    )


def release_due(app: Flask, *, now: datetime | None = None) -> int:
    """Enqueue every due delivery that has no live job. Returns how many were enqueued.

    A job RQ still calls "started" is live only while its worker beats
    (gateway.publishing.liveness): one whose worker was killed before its claim is released
    again within seconds, not when RQ's own maintenance expires it ten minutes later.
    """

    now = now or utcnow()
    rows = db.session.execute(
        select(Delivery.id, Post.emergency_category, _next_time())
        .join(Post, Post.id == Delivery.post_id)
        .where(due_between(now + RELEASE_AHEAD))
        .order_by(_next_time())
    ).all()
    if not rows:
        return 0
    conn = redis_connection(app)
    job_ids = [publish_job_id(delivery_id) for delivery_id, _, _ in rows]
    states = job_states(conn, job_ids)
    enqueued = 0
    for (delivery_id, emergency, due), job_id, state in zip(rows, job_ids, states, strict=True):
        if state.status == JobStatus.SCHEDULED.value and due < now - RELEASE_WINDOW:
            # Its time passed while no release loop ran (the scheduler down or slow to start,
            # longer than the loop's window), and RQ's own scheduler is off: it would wait in
            # the scheduled registry for ever (found by the soak, issue 19). Move it as the
            # loop does; only the remover queues it.
            queue = get_queue(_queue_name(bool(emergency)), app)
            if conn.zrem(ScheduledJobRegistry(queue=queue).key, job_id):
                try:
                    queue.enqueue_job(Job.fetch(job_id, connection=conn))
                except NoSuchJobError:
                    _enqueue_publish(app, delivery_id, emergency=bool(emergency))
                enqueued += 1
                continue
        if state.live(now):
            continue
        if state.status == JobStatus.STARTED.value:
            forget_dead_run(conn, job_id, state)
        elif state.orphaned_since is not None:
            forget_orphan(conn, job_id)
        _enqueue_publish(app, delivery_id, emergency=bool(emergency))
        enqueued += 1
    return enqueued


def release_now(
    app: Flask,
    *,
    now: datetime | None = None,
    since: datetime | None = None,
    handed: Mapping[int, datetime] | None = None,
    unseen: set[int] | None = None,
) -> list[tuple[int, datetime]]:
    """Hand every delivery due in (since, now] to its queue: move its job out of RQ's scheduled
    registry, or enqueue it if it has no live job. Never before its time, so no worker waits.
    ``handed``: deliveries already handed over for the time they are due now, left alone.
    ``unseen``: when given, a delivery found with no job is queued only if it had none on the
    previous pass too (it is in the set); otherwise it is added to the set and left for that
    pass. A post just approved or sent as an emergency is queued by its own commit a moment
    after the row is visible: queuing it here as well would queue one job id twice, and the
    second copy fails in RQ once the first has run.
    Returns the (delivery id, next time) of the others it found, handed over or already live.

    Run every RELEASE_TICK_SECONDS by the scheduler's Releaser. A job moved here and by RQ's
    own scheduler at the same moment would run twice; the claim's compare-and-set makes the
    second run do nothing.
    """

    now = now or utcnow()
    rows = db.session.execute(
        select(Delivery.id, Post.emergency_category, _next_time())
        .join(Post, Post.id == Delivery.post_id)
        .where(due_between(now, since))
        .order_by(_next_time())
    ).all()
    db.session.rollback()  # hold no snapshot or lock between ticks
    if handed:
        rows = [row for row in rows if handed.get(row[0]) != row[2]]
    if not rows:
        return []
    conn = redis_connection(app)
    statuses = job_statuses(conn, [publish_job_id(delivery_id) for delivery_id, _, _ in rows])
    jobless: dict[int, bool] = {}
    for (delivery_id, emergency, _), status in zip(rows, statuses, strict=True):
        if status == JobStatus.SCHEDULED.value:
            queue = get_queue(_queue_name(bool(emergency)), app)
            job_id = publish_job_id(delivery_id)
            # Only the remover enqueues: ZREM answers 1 to exactly one caller.
            if conn.zrem(ScheduledJobRegistry(queue=queue).key, job_id):
                try:
                    queue.enqueue_job(Job.fetch(job_id, connection=conn))
                except NoSuchJobError:  # expired between the two reads: queue a new one
                    jobless[delivery_id] = bool(emergency)
        elif not _is_live(status):
            jobless[delivery_id] = bool(emergency)
    if unseen is not None:
        first_sight = {i for i in jobless if i not in unseen}
        unseen.clear()
        unseen.update(first_sight)
        jobless = {i: em for i, em in jobless.items() if i not in first_sight}
    if jobless:
        # A job may have run and finished between the read above and the read of its status:
        # read those rows again, so a delivery just published is not queued a second time
        # (the claim would refuse it, but its worker may still be writing the finished job).
        still = db.session.scalars(
            select(Delivery.id).where(
                Delivery.id.in_(list(jobless)), Delivery.status.in_(CLAIMABLE)
            )
        ).all()
        db.session.rollback()
        for delivery_id in still:
            _enqueue_publish(app, delivery_id, emergency=jobless[delivery_id])
    return [(delivery_id, due) for delivery_id, _, due in rows]


class Releaser:
    """The scheduler's release loop: each tick hands over what fell due since the last one.

    Each tick reads only the deliveries due in a short window behind now, and skips those it
    already handed over for the same time, so a backlog of queued deliveries costs nothing per
    tick. A delivery older than the window that is still waiting (the scheduler was down, Redis
    lost its job) is the sweep's (``release_due``, every SWEEP_SECONDS).
    """

    def __init__(self, app: Flask, *, window: timedelta = RELEASE_WINDOW) -> None:
        self.app = app
        self.window = window
        self._handed: dict[int, datetime] = {}
        self._unseen: set[int] = set()

    def tick(self, now: datetime | None = None) -> int:
        """One pass. Returns how many deliveries it handed over for the first time."""
        now = now or utcnow()
        since = now - self.window
        self._handed = {i: due for i, due in self._handed.items() if due > since}
        found = release_now(
            self.app, now=now, since=since, handed=self._handed, unseen=self._unseen
        )
        handed = {i: due for i, due in found if i not in self._unseen}
        self._handed.update(handed)
        return len(handed)


def release_stale(app: Flask, *, now: datetime | None = None) -> int:
    """Deliveries stuck in "publishing" past their lease: nobody renews it, so the process
    running the attempt died (gateway.publishing.liveness). Resolve each by asking the
    platform, never by sending again blindly. A resolve job whose own worker died is queued
    again."""
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
    if not rows:
        return 0
    job_ids = [
        resolve_job_id(delivery_id, attempt_id or "none") for delivery_id, attempt_id, _ in rows
    ]
    conn = redis_connection(app)
    states = job_states(conn, job_ids)
    enqueued = 0
    for (delivery_id, attempt_id, emergency), job_id, state in zip(
        rows, job_ids, states, strict=True
    ):
        if state.live(now):
            continue
        if state.status == JobStatus.STARTED.value:
            forget_dead_run(conn, job_id, state)
        elif state.orphaned_since is not None:
            forget_orphan(conn, job_id)
        get_queue(_queue_name(bool(emergency)), app).enqueue(
            resolve_delivery, delivery_id, attempt_id, job_id=job_id, **job_options()
        )
        enqueued += 1
    return enqueued


def post_is_live(status: str) -> bool:
    return status in (PostStatus.APPROVED.value, PostStatus.PUBLISHING.value)

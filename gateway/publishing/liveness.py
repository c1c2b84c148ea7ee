"""Telling a live attempt from a dead one within seconds (issue 19, "found under faults").

Two heartbeats, each beaten by a thread in the process doing the work, so a process killed with
SIGKILL stops beating at once:

- **The worker's**: every worker process refreshes ``last_heartbeat`` on its RQ worker hash
  every WORKER_HEARTBEAT_SECONDS (RQ itself beats only between jobs, and a non-forking worker
  not at all while a job runs). The sweeps ask it of every job RQ calls "started": a job
  started on a worker silent for WORKER_DEAD_AFTER is dead, whatever RQ's registries say (RQ's
  own maintenance would notice only after 10 minutes). Before its claim such a job is simply
  released again (the claim's compare-and-set makes a second run harmless); a resolve job is
  queued again.
- **The attempt's lease**: a claimed delivery's ``lease_expires_at`` is renewed every third of
  the lease (PUBLISH_LEASE_SECONDS, 30 s by default) by the process running the attempt, for
  as long as it runs (at most the RQ job timeout). Past the lease nobody is renewing it: the
  sweep resolves it by asking the platform. The lease used to be a fixed 180 s, longer than any
  attempt could last, so every dead attempt waited three minutes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app
from redis import Redis
from rq.job import Job, JobStatus
from rq.queue import Queue
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.utils import utcparse
from rq.worker import Worker
from sqlalchemy import update

from gateway import clock
from gateway.domain.statuses import DeliveryStatus
from gateway.extensions import db
from gateway.models import Delivery
from gateway.models.base import utcnow
from gateway.settings import DEFAULT_PUBLISH_LEASE_SECONDS

log = logging.getLogger(__name__)

#: How often a worker process writes its heartbeat.
WORKER_HEARTBEAT_SECONDS = 5.0
#: A worker whose last heartbeat is older than this is dead: four beats missed, so a busy
#: machine (a slow Redis answer, a long garbage collection) is not taken for a dead one.
WORKER_DEAD_AFTER = timedelta(seconds=20)
#: The default lease (GATEWAY_PUBLISH_LEASE_SECONDS), renewed every third of it.
DEFAULT_LEASE_SECONDS = DEFAULT_PUBLISH_LEASE_SECONDS
#: Where the sweep notes when it first saw a waiting job on no list (``_orphaned_since``), and
#: for how long: past WORKER_DEAD_AFTER so the next sweeps see it, short so that a job id used
#: again later (a retry) starts afresh.
ORPHAN_SEEN_KEY = "gateway:orphan-seen:"
ORPHAN_SEEN_TTL_SECONDS = 120
#: Jobs in these states will still run.
WAITING_STATUSES = frozenset(
    s.value for s in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED)
)


def lease_seconds(app: Flask | None = None) -> int:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return int(app.config.get("PUBLISH_LEASE_SECONDS", DEFAULT_LEASE_SECONDS))


def lease(app: Flask | None = None) -> timedelta:
    return timedelta(seconds=lease_seconds(app))


# The worker's heartbeat ------------------------------------------------------------------------


def beat(worker: Worker) -> None:
    """One heartbeat of ``worker``: ``last_heartbeat`` now, its hash kept alive. A hash that had
    gone (Redis flushed) is written whole again, as RQ's own heartbeat does. Nothing before the
    worker registered its birth (RQ refuses to start a worker whose hash exists) or after it
    registered its death."""
    if worker.birth_date is None or worker.connection.hexists(worker.key, "death"):
        return
    with worker.connection.pipeline() as pipe:
        worker.heartbeat(pipeline=pipe)
        created = pipe.execute()[0]
    if created:
        worker.connection.hset(worker.key, mapping=worker.serialize())


class WorkerHeartbeat:
    """A daemon thread beating for one worker until stopped (the worker's ``work()`` ends)."""

    def __init__(self, worker: Worker, interval: float = WORKER_HEARTBEAT_SECONDS) -> None:
        self.worker = worker
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"heartbeat-{worker.name}", daemon=True
        )

    def start(self) -> WorkerHeartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 1)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                beat(self.worker)
            except Exception:  # noqa: BLE001 - Redis down: the next beat tries again
                log.warning("worker %s could not send its heartbeat", self.worker.name)


# Is a job still going to run? ------------------------------------------------------------------


@dataclass(frozen=True)
class JobState:
    """What Redis says of one job id."""

    status: str | None  # None: no such job
    worker_name: str | None = None
    origin: str | None = None
    worker_heartbeat: datetime | None = None
    #: Queued or scheduled, but on neither its queue nor the scheduled registry since then:
    #: the process that took it off (a worker's BLPOP, the release loop's ZREM) may have died.
    orphaned_since: datetime | None = None

    def live(self, now: datetime) -> bool:
        """Whether the job will still run: waiting in a queue or a registry, or started on a
        worker that is beating."""
        if self.status in WAITING_STATUSES:
            # A live taker marks its job started (or queues it) a moment later; a job left
            # waiting on no list for WORKER_DEAD_AFTER will never run.
            return self.orphaned_since is None or now - self.orphaned_since < WORKER_DEAD_AFTER
        if self.status != JobStatus.STARTED.value:
            return False
        if not self.worker_name:
            return True  # started by something we cannot ask: leave it to RQ
        return self.worker_heartbeat is not None and now - self.worker_heartbeat < WORKER_DEAD_AFTER


def job_states(conn: Redis, job_ids: list[str]) -> list[JobState]:
    """Each job's state, in two round trips to Redis whatever the number of jobs: the job
    hashes' status, worker and queue, then the heartbeat of each worker running one."""
    pipe = conn.pipeline(transaction=False)
    for job_id in job_ids:
        pipe.hmget(Job.key_for(job_id), "status", "worker_name", "origin")
    rows = [[None if v is None else v.decode() for v in row] for row in pipe.execute()]
    names = sorted({w for s, w, _ in rows if s == JobStatus.STARTED.value and w})
    beats: dict[str, datetime | None] = {}
    if names:
        pipe = conn.pipeline(transaction=False)
        for name in names:
            pipe.hget(Worker.redis_worker_namespace_prefix + name, "last_heartbeat")
        for name, raw in zip(names, pipe.execute(), strict=True):
            beats[name] = _parse_beat(raw)
    orphans = _orphaned_since(conn, job_ids, rows)
    return [
        JobState(status, worker, origin, beats.get(worker) if worker else None, orphans.get(i))
        for i, (status, worker, origin) in enumerate(rows)
    ]


def _orphaned_since(conn: Redis, job_ids: list[str], rows: list[list]) -> dict[int, datetime]:
    """For the queued and scheduled jobs that are on neither their queue nor the scheduled
    registry, when the sweep first saw them so (by index in ``job_ids``).

    A worker on several queues takes a job with BLPOP and marks it started a moment later
    (rq.Queue.dequeue_any; RQ's intermediate queue is only for a worker on one queue), and the
    release loop takes a job out of the scheduled registry and then queues it: a process
    SIGKILLed in between leaves the job waiting on no list, forever (issue 19, found by the
    soak). The first sighting is noted in Redis, so that every sweep, whichever scheduler runs
    it, counts from the same moment."""
    queued = [i for i, (status, _, origin) in enumerate(rows) if status == "queued" and origin]
    scheduled = [
        i for i, (status, _, origin) in enumerate(rows) if status == "scheduled" and origin
    ]
    if not queued and not scheduled:
        return {}
    origins = sorted({rows[i][2] for i in queued})
    pipe = conn.pipeline(transaction=False)
    for origin in origins:
        pipe.lrange(Queue(origin, connection=conn).key, 0, -1)
    for i in scheduled:
        pipe.zscore(ScheduledJobRegistry(rows[i][2], connection=conn).key, job_ids[i])
    answers = pipe.execute()
    listed = {raw.decode() for ids in answers[: len(origins)] for raw in ids}
    missing = [i for i in queued if job_ids[i] not in listed]
    missing += [
        i for i, score in zip(scheduled, answers[len(origins) :], strict=True) if score is None
    ]
    if not missing:
        return {}
    pipe = conn.pipeline(transaction=False)
    for i in missing:
        key = ORPHAN_SEEN_KEY + job_ids[i]
        pipe.set(key, str(clock.epoch()), nx=True, ex=ORPHAN_SEEN_TTL_SECONDS)
        pipe.get(key)
    seen = pipe.execute()[1::2]
    return {
        i: datetime.fromtimestamp(float(raw), UTC)
        for i, raw in zip(missing, seen, strict=True)
        if raw
    }


def forget_orphan(conn: Redis, job_id: str) -> None:
    """The sweep queues a job it found orphaned again: its first sighting starts afresh."""
    conn.delete(ORPHAN_SEEN_KEY + job_id)
    log.warning("job %s was waiting on no queue (its taker stopped): queued again", job_id)


def _parse_beat(raw: bytes | None) -> datetime | None:
    if not raw:
        return None
    try:
        # RQ stamps it by the system clock; the sweep compares it with the gateway's.
        return clock.from_system(utcparse(raw.decode()))
    except ValueError:
        return None


def forget_dead_run(conn: Redis, job_id: str, state: JobState) -> None:
    """Take a job whose worker died out of its queue's started registry, so that RQ's own
    clean-up, minutes later, does not mark the job queued again in its place as failed."""
    if not state.origin:
        return
    registry = StartedJobRegistry(state.origin, connection=conn)
    members = list(conn.zscan_iter(registry.key, match=f"{job_id}:*"))
    if members:
        conn.zrem(registry.key, *(member for member, _ in members))
    log.warning(
        "job %s was running on worker %s, which has stopped: released again",
        job_id,
        state.worker_name,
    )


# The attempt's lease ---------------------------------------------------------------------------


@dataclass
class _Held:
    app: Flask
    delivery_id: int
    attempt_id: str
    since: float  # time.monotonic() when this process took it on
    max_seconds: float


class LeaseKeeper:
    """Renews the leases of the attempts this process is running, from a daemon thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, _Held] = {}
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    @contextlib.contextmanager
    def keep(self, delivery_id: int, attempt_id: str) -> Iterator[None]:
        """Renew the attempt's lease while the block runs (at most the RQ job timeout)."""
        from workers.options import JOB_TIMEOUT_SECONDS

        app = current_app._get_current_object()  # type: ignore[attr-defined]
        held = _Held(
            app,
            delivery_id,
            attempt_id,
            time.monotonic(),
            JOB_TIMEOUT_SECONDS + lease_seconds(app),
        )
        with self._lock:
            self._held[attempt_id] = held
            self._ensure_thread()
        try:
            yield
        finally:
            with self._lock:
                self._held.pop(attempt_id, None)

    def _ensure_thread(self) -> None:
        # A forked child has the parent's object but not its thread.
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
        self._thread.start()

    def _interval(self) -> float:
        with self._lock:
            held = list(self._held.values())
        seconds = [lease_seconds(h.app) for h in held] or [DEFAULT_LEASE_SECONDS]
        return max(1.0, min(seconds) / 3)

    def _run(self) -> None:
        while True:
            time.sleep(self._interval())
            self.renew()

    def renew(self) -> int:
        """Renew every lease this process holds, once. Returns how many were renewed."""
        with self._lock:
            held = list(self._held.values())
        renewed = 0
        for h in held:
            if time.monotonic() - h.since > h.max_seconds:
                continue  # a wedged attempt: let its lease lapse and the sweep resolve it
            try:
                renewed += renew_lease(h.app, h.delivery_id, h.attempt_id)
            except Exception:  # noqa: BLE001 - the database away: the next pass tries again
                log.warning("could not renew the lease of attempt %s", h.attempt_id)
        return renewed


def renew_lease(app: Flask, delivery_id: int, attempt_id: str, now: datetime | None = None) -> int:
    """Move the attempt's lease to now + the lease, if the delivery is still its own and
    publishing; in a short transaction of its own, outside any session."""
    with app.app_context(), db.engine.begin() as conn:
        now = now or utcnow()
        return conn.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery_id,
                Delivery.attempt_id == attempt_id,
                Delivery.status == DeliveryStatus.PUBLISHING.value,
            )
            .values(lease_expires_at=now + lease(app))
        ).rowcount


#: The one keeper of this process.
KEEPER = LeaseKeeper()

"""A worker killed before its claim is seen dead within seconds, not minutes (issue 19).

Found under faults: the release sweep counted a job in RQ's started registry as live without
asking whether its worker was, so a delivery whose worker was SIGKILLed before its claim waited
until RQ's own maintenance expired the job, 6 to 13 minutes. Each worker process now beats every
few seconds (gateway.publishing.liveness) and the sweeps ask each started job's worker.

The tests drive the sweep themselves with the time they pass it: nothing here depends on how
fast this machine is, only on the order of events, which the test holds with a lock on the
database that the worker's claim must wait for.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
from datetime import timedelta

import psycopg
import pytest
from rq import Queue, Worker
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.utils import utcparse
from sqlalchemy import select

from gateway import settings
from gateway.extensions import db
from gateway.models import Delivery
from gateway.models.base import utcnow
from gateway.publishing import attempt, liveness
from gateway.publishing.release import (
    _enqueue_publish,
    publish_job_id,
    release_due,
    release_stale,
    resolve_job_id,
)
from gateway.queue import EMERGENCY_QUEUE, redis_connection
from tests.publishing.test_sigkill import _emergency_post, _start_worker, _status, _wait_for
from workers.worker import build_worker

#: The sweep's clock moves this much between runs (the real sweep runs every second).
STEP = timedelta(seconds=5)


@contextlib.contextmanager
def claims_wait(database_url, post_id):
    """Hold what a claim must take first, so a worker's job stops before its claim: the post's
    row lock on PostgreSQL, the database's one write lock on SQLite."""
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
    else:
        conn = psycopg.connect(database_url)
        conn.execute("SELECT id FROM posts WHERE id = %s FOR UPDATE", (post_id,))
    try:
        yield
    finally:
        conn.rollback() if not isinstance(conn, sqlite3.Connection) else conn.execute("ROLLBACK")
        conn.close()


def _post_id(app, delivery_id):
    with app.app_context():
        return db.session.get(Delivery, delivery_id).post_id


def _job_field(conn, job_id, field):
    raw = conn.hget(Job.key_for(job_id), field)
    return None if raw is None else raw.decode()


def _heartbeat(conn, worker_name):
    raw = conn.hget(Worker.redis_worker_namespace_prefix + worker_name, "last_heartbeat")
    return utcparse(raw.decode()) if raw else None


def test_a_worker_killed_before_its_claim_is_released_again_within_a_few_sweeps(
    app, fake, channels, gateway_server, database_url
):
    conn = redis_connection(app)
    delivery_id = _emergency_post(app, channels)
    job_id = publish_job_id(delivery_id)
    Job.fetch(job_id, connection=conn).delete()  # the worker starts with nothing to do
    worker = _start_worker(app, database_url)
    try:
        assert _wait_for(lambda: Worker.all(connection=conn)), "the worker never started"
        with claims_wait(database_url, _post_id(app, delivery_id)):
            _enqueue_publish(app, delivery_id, emergency=True)
            assert _wait_for(lambda: _job_field(conn, job_id, "status") == "started")
            name = _job_field(conn, job_id, "worker_name")
            started = _heartbeat(conn, name)
            # A live worker busy in a job keeps beating, and its job is left alone.
            assert _wait_for(lambda: _heartbeat(conn, name) > started, timeout=30)
            # (what release_due asks; the sweep itself would wait for the lock on SQLite)
            [state] = liveness.job_states(conn, [job_id])
            assert state.live(utcnow())
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)  # reaped here, not warned about in a later test
    assert _status(app, delivery_id) == "scheduled"  # killed before its claim
    assert _job_field(conn, job_id, "status") == "started"  # ... and RQ still calls it running
    last_beat = _heartbeat(conn, name)

    now, runs, released = utcnow(), 0, 0
    while not released and runs < 10:
        with app.app_context():
            released = release_due(app, now=now)
        runs += 1
        if not released:
            assert now - last_beat < liveness.WORKER_DEAD_AFTER  # never while it might be alive
            now += STEP
    assert released == 1
    assert runs <= liveness.WORKER_DEAD_AFTER / STEP + 2
    registry = StartedJobRegistry(EMERGENCY_QUEUE, connection=conn)
    assert not [m for m in registry.get_job_and_execution_ids(cleanup=False) if m[0] == job_id]
    with app.app_context():
        assert release_due(app, now=now) == 0  # queued now: not released twice

    build_worker(app).work(burst=True)
    assert _status(app, delivery_id) == "published"
    assert len(fake.posts("x")) == 1


def test_a_resolve_job_whose_worker_died_is_queued_again(app, fake, channels):
    delivery_id = _emergency_post(app, channels)
    conn = redis_connection(app)
    Job.fetch(publish_job_id(delivery_id), connection=conn).delete()
    with app.app_context():
        prepared = attempt.claim(delivery_id)  # ... and the worker died
    assert not isinstance(prepared, str)
    later = utcnow() + attempt.LEASE + timedelta(seconds=1)
    with app.app_context():
        assert release_stale(app, now=later) == 1
    job_id = resolve_job_id(delivery_id, prepared.attempt_id)
    # The resolve job starts on a worker that is then killed: RQ calls it started for minutes.
    job = Job.fetch(job_id, connection=conn)
    Queue(EMERGENCY_QUEUE, connection=conn).remove(job)
    with conn.pipeline() as pipe:
        job.prepare_for_execution("gateway-worker-killed", pipeline=pipe)
        pipe.execute()
    with app.app_context():
        assert release_stale(app, now=later) == 1  # no heartbeat at all: dead
    assert _job_field(conn, job_id, "status") == "queued"
    build_worker(app).work(burst=True)
    assert _status(app, delivery_id) == "held"  # nothing reached the platform
    assert fake.posts("x") == []


def test_a_lease_is_renewed_while_its_attempt_runs_and_lapses_when_it_stops(app, fake, channels):
    delivery_id = _emergency_post(app, channels)
    Job.fetch(publish_job_id(delivery_id), connection=redis_connection(app)).delete()
    with app.app_context():
        prepared = attempt.claim(delivery_id)
    start = utcnow()
    lease = attempt.LEASE
    keeper = liveness.LeaseKeeper()
    with app.app_context(), keeper.keep(prepared.delivery_id, prepared.attempt_id):
        # renewed as it would be every third of the lease, here driven by the test
        renewed_at = start + lease * 2 / 3
        assert liveness.renew_lease(app, delivery_id, prepared.attempt_id, now=renewed_at) == 1
        assert release_stale(app, now=start + lease + timedelta(seconds=1)) == 0
        db.session.rollback()  # the sweep runs in another process: no write lock held here
        assert keeper.renew() == 1  # the keeper renews what it holds
    with app.app_context():
        lease_end = db.session.scalar(
            select(Delivery.lease_expires_at).where(Delivery.id == delivery_id)
        )
        assert lease_end >= start + lease
        # the attempt stopped (its process died): nobody renews it, and past it the sweep acts
        assert keeper.renew() == 0
        assert release_stale(app, now=lease_end + timedelta(seconds=1)) == 1


def test_the_lease_is_a_setting(app, fake, channels):
    assert settings.load({})["PUBLISH_LEASE_SECONDS"] == attempt.LEASE.total_seconds() == 30
    with pytest.raises(settings.SettingsError):
        settings.load({"GATEWAY_PUBLISH_LEASE_SECONDS": "1"})
    app.config["PUBLISH_LEASE_SECONDS"] = settings.load({"GATEWAY_PUBLISH_LEASE_SECONDS": "12"})[
        "PUBLISH_LEASE_SECONDS"
    ]
    delivery_id = _emergency_post(app, channels)
    Job.fetch(publish_job_id(delivery_id), connection=redis_connection(app)).delete()
    with app.app_context():
        prepared = attempt.claim(delivery_id)
        row = db.session.get(Delivery, delivery_id)
        assert row.lease_expires_at - prepared.started_at == timedelta(seconds=12)

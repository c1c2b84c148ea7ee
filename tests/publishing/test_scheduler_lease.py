"""One active scheduler per database (workers/lease.py, issue 19): on PostgreSQL a session
advisory lock makes every other scheduler a standby, which takes over as soon as the active
one stops, dies or loses its connection. On SQLite (one host) every scheduler runs."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from gateway.extensions import db
from workers import lease as lease_module
from workers.lease import SCHEDULER_LOCK_KEY, SchedulerLease

#: Long enough for a standby on a loaded machine to poll and take over; the test fails
#: only if nobody has taken over by then, it measures nothing.
TAKEOVER_LIMIT_SECONDS = 60


def _holders(app) -> list[int]:
    """Backend pids holding the scheduler's advisory lock, as PostgreSQL says."""
    key = SCHEDULER_LOCK_KEY
    with app.app_context():
        rows = db.session.execute(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = :hi AND objid = :lo AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"hi": key >> 32, "lo": key & 0xFFFFFFFF},
        ).all()
        db.session.rollback()
    return [r[0] for r in rows]


def _backend_pid(lease: SchedulerLease) -> int:
    return lease._conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()


postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@postgresql_only
def test_only_one_scheduler_holds_the_lock_and_another_takes_it_when_released(app):
    first, second = SchedulerLease(app), SchedulerLease(app)
    assert first.held()
    assert not second.held()
    assert first.held()  # still ours
    assert _holders(app) == [_backend_pid(first)]
    first.release()
    assert second.held()
    assert not first.held()
    assert _holders(app) == [_backend_pid(second)]
    second.release()
    assert _holders(app) == []


@postgresql_only
def test_a_terminated_connection_steps_the_scheduler_down(app, monkeypatch):
    monkeypatch.setattr(lease_module, "CHECK_SECONDS", 0.0)
    first, second = SchedulerLease(app), SchedulerLease(app)
    assert first.held()
    pid = _backend_pid(first)
    with app.app_context():
        db.session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        db.session.commit()
    # The lock went with the session: the standby has it, and the first knows it lost it.
    assert second.held()
    assert not first.held()
    second.release()


def test_on_sqlite_every_scheduler_runs(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("the SQLite case")
    assert SchedulerLease(app).held() and SchedulerLease(app).held()


@postgresql_only
def test_a_standby_scheduler_takes_over_when_the_active_one_stops(app):
    from workers.scheduler import run_forever

    stops = [threading.Event(), threading.Event()]
    threads = [
        threading.Thread(target=run_forever, args=(app,), kwargs={"stop": s}, daemon=True)
        for s in stops
    ]
    threads[0].start()
    _wait_for(lambda: len(_holders(app)) == 1)
    active = _holders(app)
    threads[1].start()
    time.sleep(2 * lease_module.STANDBY_POLL_SECONDS)
    assert _holders(app) == active  # the second is a standby, not a second active one
    stops[0].set()
    threads[0].join(timeout=10)
    _wait_for(lambda: _holders(app) not in ([], active))
    assert len(_holders(app)) == 1
    stops[1].set()
    threads[1].join(timeout=10)
    assert _holders(app) == []


def _wait_for(condition) -> None:
    deadline = time.monotonic() + TAKEOVER_LIMIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "no scheduler took the lock"
        time.sleep(0.1)

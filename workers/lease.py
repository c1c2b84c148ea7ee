"""One active scheduler per database, so a scheduler can run on every host (issue 19).

On PostgreSQL the active scheduler holds a session-level advisory lock
(``pg_try_advisory_lock``) on a connection of its own for as long as it runs; every other
scheduler of the same database waits in standby and tries to take the lock every
STANDBY_POLL_SECONDS. The lock goes with the session: a scheduler killed, its host lost or its
connection terminated (``pg_terminate_backend``) frees it at once, and a standby takes over
within a poll. The active one checks its connection every CHECK_SECONDS and steps down the
moment it is gone.

Two schedulers at once were already harmless (job ids derived from delivery ids, the claim's
compare-and-set; the soak runs them): the lock makes the second a standby rather than a
duplicate, so more hosts mean no single point of failure rather than more load. SQLite is
one file on one host, so there the lock is not taken: run one scheduler.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask
from sqlalchemy import text

from gateway.extensions import db

log = logging.getLogger(__name__)

#: The advisory lock's key, a bigint of our own: the ASCII of "gwsched" (nothing else in the
#: gateway's database takes advisory locks).
SCHEDULER_LOCK_KEY = int.from_bytes(b"gwsched", "big")
#: How often the active scheduler checks that its lock's connection is still there.
CHECK_SECONDS = 1.0
#: How often a standby tries to take the lock: a dead scheduler is replaced within this.
STANDBY_POLL_SECONDS = 1.0


class SchedulerLease:
    """Whether this process is the active scheduler. ``held()`` takes the lock when it is free
    and says whether it is ours; ``release()`` gives it up (on stopping)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._conn: Any = None
        self._checked = 0.0
        self.takeovers = 0
        with app.app_context():
            self.applies = db.engine.dialect.name == "postgresql"

    def held(self) -> bool:
        if not self.applies:
            return True
        now = time.monotonic()
        if self._conn is not None:
            if now - self._checked < CHECK_SECONDS:
                return True
            self._checked = now
            try:
                self._conn.exec_driver_sql("SELECT 1")
                self._conn.rollback()
                return True
            except Exception:  # noqa: BLE001 - the session is gone, and the lock with it
                log.warning("scheduler: lost the lock's connection; standing by")
                self._drop()
        return self._take()

    def _take(self) -> bool:
        with self.app.app_context():
            try:
                conn = db.engine.connect()
            except Exception:  # noqa: BLE001 - the database is down: stand by, try again
                return False
            try:
                got = conn.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": SCHEDULER_LOCK_KEY}
                ).scalar()
                conn.rollback()  # a session lock outlives the transaction
            except Exception:  # noqa: BLE001
                conn.close()
                return False
        if not got:
            conn.close()
            return False
        self._conn, self._checked = conn, time.monotonic()
        self.takeovers += 1
        log.info("scheduler: active (holds advisory lock %s)", SCHEDULER_LOCK_KEY)
        return True

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()  # never back into the pool: its session may hold the lock
            except Exception:  # noqa: BLE001
                log.debug("scheduler: could not invalidate the lock's connection")

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEDULER_LOCK_KEY})
            self._conn.rollback()
        except Exception:  # noqa: BLE001 - the session ends below, which frees it anyway
            log.debug("scheduler: could not unlock")
        self._drop()

"""The scheduler: a sweep every few seconds that reconciles the database with Redis.

The database is the source of truth and Redis only delivers (STYLE.md): a Redis that lost
everything must lose no post, so each pass finds the work that should be queued and is not.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

from flask import Flask

from gateway.extensions import db
from gateway.publishing.release import RELEASE_TICK_SECONDS, Releaser
from gateway.queue import SCHEDULER_HEARTBEAT_KEY, redis_connection
from workers.lease import STANDBY_POLL_SECONDS, SchedulerLease
from workers.sweeps import SWEEPS

log = logging.getLogger(__name__)


def run_once(app: Flask) -> None:
    with app.app_context():
        for sweep in SWEEPS:
            try:
                sweep(app)
            except Exception:  # one failing sweep must not stop the others or the heartbeat
                log.exception("sweep %s failed", sweep.__name__)
                db.session.rollback()
            finally:
                db.session.remove()
        # The heartbeat is written after the sweeps, so it shows the sweeps really ran.
        redis_connection(app).set(SCHEDULER_HEARTBEAT_KEY, str(time.time()))


def release_tick(app: Flask, releaser: Releaser) -> None:
    """Between sweeps: hand deliveries that have just fallen due to the workers, on time."""
    with app.app_context():
        try:
            releaser.tick()
        except Exception:  # Redis or the database down: the next tick or sweep tries again
            log.exception("release tick failed")
            db.session.rollback()
        finally:
            db.session.remove()


def run_forever(app: Flask, *, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()

    def _stop(signum, frame):  # noqa: ANN001
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    interval = app.config["SWEEP_SECONDS"]
    lease = SchedulerLease(app)
    releaser = Releaser(app)
    next_sweep = time.monotonic()
    standing_by = False
    try:
        while not stop.is_set():
            if not lease.held():
                # Another scheduler of this database is active (workers/lease.py): wait to
                # take over, then start afresh (its hand-overs are not ours to skip).
                if not standing_by:
                    log.info("scheduler: standby, another scheduler is active")
                    standing_by = True
                stop.wait(STANDBY_POLL_SECONDS)
                releaser = Releaser(app)
                next_sweep = time.monotonic()
                continue
            standing_by = False
            started = time.monotonic()
            if started >= next_sweep:
                next_sweep = started + interval
                try:
                    run_once(app)
                except Exception:  # Redis down: keep trying, the heartbeat shows we are stuck
                    log.exception("scheduler pass failed")
            # Every tick, not only every sweep: a post due at 10:00:00.3 goes out at
            # 10:00:00.3, not at the next whole second (issue 5, "Speed").
            release_tick(app, releaser)
            stop.wait(max(0.0, RELEASE_TICK_SECONDS - (time.monotonic() - started)))
    finally:
        lease.release()

"""Enqueue only after the row is committed (STYLE.md: a fast worker must not race the commit)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from gateway import clock
from gateway.extensions import db
from gateway.queue import get_queue
from workers.options import job_options

_PENDING_KEY = "gateway_pending_jobs"


def enqueue_after_commit(
    func: Callable[..., Any],
    *args: Any,
    queue: str,
    job_id: str | None = None,
    at: datetime | None = None,
    **options: Any,
) -> None:
    """Queue ``func(*args)`` once the current transaction commits; drop it on rollback.

    If Redis is down at that moment nothing is lost: the scheduler sweep finds the committed row
    with no live job and enqueues it.
    """
    session = db.session()
    pending = session.info.setdefault(_PENDING_KEY, [])
    pending.append((func, args, queue, job_id, at, job_options(**options)))
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    session.info["gateway_app"] = app


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING_KEY, None)
    app = session.info.get("gateway_app")
    if not pending or app is None:
        return
    for func, args, queue, job_id, at, options in pending:
        try:
            q = get_queue(queue, app)
            if at is None:
                q.enqueue(func, *args, job_id=job_id, **options)
            else:
                # RQ's scheduler runs by the system clock (gateway.clock).
                q.enqueue_at(clock.to_system(at), func, *args, job_id=job_id, **options)
        except Exception:  # noqa: BLE001 - Redis down: the sweep will enqueue it
            app.logger.warning("could not enqueue %s; the sweep will retry", job_id or func)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)

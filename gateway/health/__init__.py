"""/healthz (the process answers) and /readyz (database, Redis and a worker answer)."""

from __future__ import annotations

import time

from flask import Blueprint, Flask, current_app, jsonify
from rq import Worker
from sqlalchemy import text

from gateway.extensions import db
from gateway.queue import SCHEDULER_HEARTBEAT_KEY, WEBHOOKS_QUEUE, redis_connection
from gateway.security import public

bp = Blueprint("health", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/healthz")
@public
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
@public
def readyz():
    checks: dict[str, dict[str, object]] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = {"ok": True}
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    finally:
        db.session.rollback()
    max_age = current_app.config["WORKER_HEARTBEAT_MAX_AGE"]
    try:
        conn = redis_connection()
        conn.ping()
        checks["redis"] = {"ok": True}
        now = time.time()
        fresh, webhooks = 0, 0
        for w in Worker.all(connection=conn):
            if not w.last_heartbeat or now - w.last_heartbeat.timestamp() > max_age:
                continue
            # A worker of the webhooks queue alone publishes nothing (issue 17): it is counted
            # apart, and is not what makes the gateway ready.
            if set(w.queue_names()) <= {WEBHOOKS_QUEUE}:
                webhooks += 1
            else:
                fresh += 1
        checks["worker"] = {
            "ok": bool(fresh),
            "workers": fresh,
            "webhook_workers": webhooks,
            **({} if fresh else {"error": f"no worker heartbeat in the last {max_age} s"}),
        }
        raw = conn.get(SCHEDULER_HEARTBEAT_KEY)
        age = now - float(raw) if raw else None
        checks["scheduler"] = {"ok": age is not None and age <= max_age}
        if age is None or age > max_age:
            checks["scheduler"]["error"] = f"no scheduler heartbeat in the last {max_age} s"
    except Exception as exc:  # noqa: BLE001
        checks.setdefault("redis", {"ok": False, "error": type(exc).__name__})
        checks.setdefault("worker", {"ok": False, "error": "Redis did not answer"})
        checks.setdefault("scheduler", {"ok": False, "error": "Redis did not answer"})
    ready = all(c["ok"] for c in checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), (200 if ready else 503)

"""Redis and the RQ queues: connections are made lazily, never at import time."""

from __future__ import annotations

from flask import Flask, current_app
from redis import Redis
from rq import Queue

#: Emergency deliveries go first: workers listen to the queues in this order (issue 7).
EMERGENCY_QUEUE = "emergency"
PUBLISH_QUEUE = "publish"
DEFAULT_QUEUE = "default"
QUEUE_ORDER = (EMERGENCY_QUEUE, PUBLISH_QUEUE, DEFAULT_QUEUE)
#: Webhook messages (issue 17) have a queue, and workers, of their own (``gateway worker
#: --webhooks``): a receiver that is slow or down must never hold up a publish.
WEBHOOKS_QUEUE = "webhooks"
#: Redis key the scheduler sweep writes after every pass; /readyz reads it.
SCHEDULER_HEARTBEAT_KEY = "gateway:scheduler:heartbeat"

_EXT_KEY = "gateway_redis"


def init_app(app: Flask) -> None:
    app.extensions[_EXT_KEY] = None
    app.config.setdefault("RATELIMIT_STORAGE_URI", _limits_uri(app.config["REDIS_URL"]))


def _limits_uri(redis_url: str) -> str:
    # The `limits` library names a Unix-socket Redis "redis+unix://".
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url.removeprefix("unix://")
    return redis_url


def redis_connection(app: Flask | None = None) -> Redis:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    conn = app.extensions.get(_EXT_KEY)
    if conn is None:
        conn = Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=5, health_check_interval=30
        )
        app.extensions[_EXT_KEY] = conn
    return conn


def get_queue(name: str = DEFAULT_QUEUE, app: Flask | None = None) -> Queue:
    return Queue(name, connection=redis_connection(app))

"""Redis and the RQ queues: connections are made lazily, never at import time."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

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


#: ``redis+sentinel://[user:password@]host:port[,host:port...]/service``: the master that
#: Redis Sentinel names for the service, found again after a failover. The `limits` library
#: (the sign-in rate limits) reads the same form, so one REDIS_URL serves both.
SENTINEL_SCHEME = "redis+sentinel://"
DEFAULT_SENTINEL_PORT = 26379
#: Both as before: a Redis that does not answer is noticed within seconds.
CONNECTION_OPTIONS = {"socket_connect_timeout": 5, "health_check_interval": 30}


def connect(url: str) -> Redis:
    """A client for REDIS_URL: one server, or the master its sentinels name."""
    if not url.startswith(SENTINEL_SCHEME):
        return Redis.from_url(url, **CONNECTION_OPTIONS)
    from redis.sentinel import Sentinel

    parts = urlsplit(url)
    auth = {
        k: unquote(v) for k, v in (("username", parts.username), ("password", parts.password)) if v
    }
    hosts = parts.netloc.rpartition("@")[2]
    sentinels = []
    for host in hosts.split(","):
        name, _, port = host.rpartition(":") if ":" in host else (host, "", "")
        sentinels.append((name, int(port or DEFAULT_SENTINEL_PORT)))
    sentinel = Sentinel(sentinels, sentinel_kwargs={**auth, "socket_timeout": 5}, **auth)
    return sentinel.master_for(parts.path.strip("/"), **CONNECTION_OPTIONS)


def uses_sentinel(app: Flask) -> bool:
    return app.config["REDIS_URL"].startswith(SENTINEL_SCHEME)


def redis_connection(app: Flask | None = None) -> Redis:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    conn = app.extensions.get(_EXT_KEY)
    if conn is None:
        conn = connect(app.config["REDIS_URL"])
        app.extensions[_EXT_KEY] = conn
    return conn


def get_queue(name: str = DEFAULT_QUEUE, app: Flask | None = None) -> Queue:
    return Queue(name, connection=redis_connection(app))

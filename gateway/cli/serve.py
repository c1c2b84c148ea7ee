"""`gateway web`: the officers' pages and the API served by gunicorn, several processes.

Why gunicorn with worker processes (issue 6, "Speed"): rendering a page is Python, and one
Python process runs one thread at a time (the GIL), so a single waitress process used one core
of two however many threads it had, and 20 officers queued behind it. Gunicorn's pre-fork
model runs N independent processes on one listening socket, each with a few threads
(``gthread``) to overlap its database round trips; the master restarts a worker that dies or
hangs. Each worker builds its own app after the fork, so no database or Redis connection is
ever shared between processes.
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.app.base import BaseApplication

#: One worker process per core: each process renders on one core at a time (the GIL).
DEFAULT_WORKERS = os.cpu_count() or 1
#: Threads per worker: enough to overlap database round trips, few enough that a busy
#: process does not take on more pages than it can render (the rest wait in the socket's
#: backlog and go to whichever worker is free first).
DEFAULT_THREADS = 4
#: A request still running after this long is a hung worker: gunicorn restarts it.
WORKER_TIMEOUT_SECONDS = 60
#: On SIGTERM, requests in flight get this long to finish.
GRACEFUL_TIMEOUT_SECONDS = 15
#: An idle kept-alive connection stays open this long (gunicorn's default is 2 s). A client or
#: reverse proxy that reuses a connection just as the server closes it gets a reset (the load
#: bench saw 1% of requests fail so, docs/benchmarks.md "Load"), so the server must wait longer
#: than the proxy's own idle timeout (nginx's upstream keepalive_timeout is 60 s): the proxy
#: then always closes first. Idle connections sit in gthread's poller, not in a thread.
KEEPALIVE_SECONDS = 75


def workers_from_env() -> int:
    return int(os.environ.get("GATEWAY_WEB_WORKERS") or 0) or DEFAULT_WORKERS


def threads_from_env() -> int:
    return int(os.environ.get("GATEWAY_WEB_THREADS") or 0) or DEFAULT_THREADS


class GatewayServer(BaseApplication):
    """Gunicorn run from our own CLI, with our settings, rather than its command line."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):  # noqa: ANN201 - a WSGI app
        # In each worker, after the fork: its own engine, pools and Redis connections.
        from gateway.cli import _create_app

        return _create_app()


def serve(host: str, port: int, workers: int, threads: int) -> None:
    from gateway.warmup import warm_up

    # In the master, before it forks its workers: each starts with the calendars loaded.
    warm_up(os.environ.get("GATEWAY_HOLIDAY_NATION") or "ENG")
    GatewayServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": WORKER_TIMEOUT_SECONDS,
            "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS,
            "keepalive": KEEPALIVE_SECONDS,
            # Proxy headers are the app's business (GATEWAY_TRUSTED_PROXIES and ProxyFix):
            # gunicorn must not turn X-Forwarded-Proto into https on its own.
            "forwarded_allow_ips": "",
            "secure_scheme_headers": {},
            "proc_name": "gateway-web",
            # Errors to stderr; no access log of our own (the app logs what matters).
            "errorlog": "-",
            # No runtime management socket in the home folder: nothing here uses gunicornc,
            # and two gateways on one machine would fight over its one path.
            "control_socket_disable": True,
        }
    ).run()

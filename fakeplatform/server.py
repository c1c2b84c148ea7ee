"""Run the fake platform over real HTTP on 127.0.0.1: in a thread for tests, or in the foreground.

werkzeug's threaded server is used rather than waitress because a "dropped connection" fault
needs the raw socket (``environ["werkzeug.socket"]``), which waitress does not expose.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from fakeplatform.app import create_app

log = logging.getLogger("fakeplatform")
_TOKEN_IN_QUERY = re.compile(r"(?i)\b(access_token|oauth_token|oauth_signature)=[^&\s'\"]+")

DEFAULT_HOST = "127.0.0.1"
# How often the serving thread checks for stop(): short, so test teardown is quick.
STOP_POLL_SECONDS = 0.05
# A fixed default port so `gateway up` and a person's browser agree on where it is.
DEFAULT_PORT = 8025


class QuietRequestHandler(WSGIRequestHandler):
    """Logs method, path and status only: Graph GETs carry ``access_token`` in the query."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.split("?", 1)[0]
        log.info("%s %s %s", self.command, path, code)

    def log(self, type: str, message: str, *args: Any) -> None:
        # werkzeug's error lines can quote the raw request line, query string and all.
        text = _TOKEN_IN_QUERY.sub(r"\1=[redacted]", message % args if args else message)
        getattr(log, type if type in ("info", "warning", "error") else "info")("%s", text)


def make_fake_server(host: str = DEFAULT_HOST, port: int = 0, app: Any = None) -> BaseWSGIServer:
    """A threaded HTTP server for ``app`` (the fake platform unless another WSGI app is given)."""
    return make_server(
        host,
        port,
        app if app is not None else create_app(),
        threaded=True,
        request_handler=QuietRequestHandler,
    )


def serve_in_thread(
    port: int = 0, *, host: str = DEFAULT_HOST, app: Any = None
) -> tuple[str, Callable[[], None]]:
    """Start a server in a daemon thread; return its base URL and a function that stops it.

    ``port=0`` picks a free port. ``app`` serves any other WSGI app (tests use it to serve the
    images that Instagram containers fetch).
    """
    server = make_fake_server(host, port, app)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": STOP_POLL_SECONDS},
        name="fakeplatform",
        daemon=True,
    )
    thread.start()
    base_url = f"http://{host}:{server.server_port}"

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()

    return base_url, stop


def serve_forever(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, app: Any = None) -> None:
    """Serve the fake platform in the foreground until interrupted (the CLI's entry point)."""
    server = make_fake_server(host, port, app)
    log.info("fake platform listening on http://%s:%s", host, server.server_port)
    try:
        server.serve_forever()
    finally:
        server.server_close()

"""Fault injection: which faults hit a request, and how a connection is dropped on purpose.

A fault is chosen per account (POST /_fake/faults) or per request (the ``X-Fake-Fault`` header,
e.g. ``X-Fake-Fault: rate_limit; reset_in=30`` or ``X-Fake-Fault: error; status=503``).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

from fakeplatform.state import Fault

FAULT_HEADER = "X-Fake-Fault"

# WSGI environ keys the platform views set to ask ConnectionDropper to close the socket.
DROP_BEFORE = "fakeplatform.drop"  # nothing was done
DROP_AFTER = "fakeplatform.lost_answer"  # the work was done, the answer is lost
ERROR_AFTER = "fakeplatform.error_after"  # the work was done, the answer is an error
#: Faults that only the Graph API's views carry out.
GRAPH_ONLY_KINDS = frozenset({"error_after"})

_INT_FIELDS = ("latency_ms", "status", "reset_in", "times")


def parse_fault_header(value: str) -> Fault:
    """Parse ``kind[; key=value ...]`` into a one-off Fault. Raises ValueError when malformed."""
    kind, _, rest = value.partition(";")
    kind = kind.strip()
    if kind not in Fault.KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(Fault.KINDS)}")
    if kind in GRAPH_ONLY_KINDS:
        raise ValueError(f"{kind!r} is a Graph API fault: inject it with POST /_fake/faults")
    options: dict[str, Any] = {}
    for part in rest.split(";"):
        if not part.strip():
            continue
        key, _, raw = part.partition("=")
        key = key.strip()
        if key not in _INT_FIELDS:
            raise ValueError(f"unknown fault option {key!r}")
        options[key] = int(raw.strip())
    options["times"] = 1
    return Fault(kind=kind, **options)


def fault_from_json(data: dict[str, Any]) -> Fault:
    """Build a Fault from the JSON body of POST /_fake/faults. Raises ValueError when malformed."""
    kind = data.get("kind")
    if kind not in Fault.KINDS:
        raise ValueError(f"'kind' must be one of {', '.join(Fault.KINDS)}")
    allowed = {"platform", "account_id", "method", "path_contains", *_INT_FIELDS}
    unknown = set(data) - allowed - {"kind"}
    if unknown:
        raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
    fields: dict[str, Any] = {k: data[k] for k in allowed if k in data}
    if kind in GRAPH_ONLY_KINDS and fields.get("platform") not in ("facebook", "instagram"):
        raise ValueError(f"{kind!r} is a Graph API fault: give platform facebook or instagram")
    for key in _INT_FIELDS:
        if fields.get(key) is not None:
            fields[key] = int(fields[key])
    return Fault(kind=kind, **fields)


def apply_latency(faults: Iterable[Fault]) -> None:
    """Sleep for every latency fault that hit (they add up, as slow hops do)."""
    delay = sum(f.latency_ms for f in faults if f.kind == "latency")
    if delay:
        time.sleep(delay / 1000)


def first_failure(faults: Iterable[Fault]) -> Fault | None:
    """The first fault that changes the answer (anything but latency)."""
    return next((f for f in faults if f.kind != "latency"), None)


class ConnectionDropper:
    """WSGI middleware that closes the client's socket without an answer when asked to.

    Views cannot do this themselves: Flask would turn an exception into a 500 answer. Here the
    whole answer is buffered; if a view set DROP_BEFORE or DROP_AFTER the socket is shut down
    (the client sees "connection closed without response", as after a load balancer reset) and
    ConnectionAbortedError tells werkzeug's server the peer is gone, which it handles quietly.
    Needs werkzeug's server, which puts the socket in ``environ["werkzeug.socket"]``.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        captured: list[tuple[Any, ...]] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured[:] = [(status, headers, exc_info)]
            return lambda data: None

        body_iter = self.app(environ, capture)
        try:
            body = b"".join(body_iter)
        finally:
            close = getattr(body_iter, "close", None)
            if close is not None:
                close()
        if environ.get(DROP_BEFORE) or environ.get(DROP_AFTER):
            sock = environ.get("werkzeug.socket")
            if sock is None:
                raise RuntimeError("dropping a connection needs werkzeug's server")
            with contextlib.suppress(OSError):  # the client may have gone already
                sock.shutdown(socket.SHUT_RDWR)
            raise ConnectionAbortedError("fake platform dropped the connection on purpose")
        status, headers, exc_info = captured[0]
        start_response(status, headers, exc_info)
        return [body]

"""Webhook fixtures: a real HTTP receiver on loopback, in a thread, that checks the signature
of every message it gets, and endpoints registered for it.

The receiver checks each signature twice: with the ``standardwebhooks`` library (what a
council's receiving system would use) and with an independent implementation of the
specification here (hmac and base64 from the standard library), so a gateway that signed the
wrong bytes in the way the library also expects could not pass.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook

from gateway.audit import Actor
from gateway.extensions import db
from gateway.webhooks import endpoints
from gateway.webhooks.events import EVENT_TYPES
from tests.publishing.conftest import (  # noqa: F401 - fixtures, found by name
    channels,
    clock,
    fake,
    fake_server,
    officers,
)
from tests.web.conftest import quick_password_hashing  # noqa: F401 - a fixture


def independent_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """The Standard Webhooks signature, written from the specification alone."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool
    payload: dict | None = None


@dataclass
class Receiver:
    """What the receiver got, and how it answers: ``status`` for each message, or ``hang``
    (it waits until ``release`` is set before answering)."""

    secret: str | None = None
    status: int = 200
    hang: bool = False
    release: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Event = field(default_factory=threading.Event)
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _server: ThreadingHTTPServer | None = None
    _port: int = 0

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.received.append(Received(headers, body, receiver._verify(headers, body)))
                receiver.arrived.set()
                if receiver.hang:
                    receiver.release.wait(30)
                self.send_response(receiver.status)
                self.send_header("content-type", "text/plain")
                self.end_headers()
                self.wfile.write(b"thanks")

            def log_message(self, *args):  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        self._port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self._port}/hooks"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self.release.set()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _verify(self, headers: dict[str, str], body: bytes) -> bool:
        if self.secret is None:
            return False
        try:
            Webhook(self.secret).verify(body, headers)
        except Exception:  # noqa: BLE001
            return False
        expected = independent_signature(
            self.secret, headers["webhook-id"], headers["webhook-timestamp"], body
        )
        return any(hmac.compare_digest(expected, s) for s in headers["webhook-signature"].split())

    def payloads(self) -> list[dict]:
        return [json.loads(r.body) for r in self.received]

    def types(self) -> list[str]:
        return [p["type"] for p in self.payloads()]


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def allow_private(app):
    """The tests' receivers are on loopback over plain http: GATEWAY_WEBHOOKS_ALLOW_PRIVATE."""
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    return app


def register(app, url: str, events=tuple(EVENT_TYPES), *, enabled: bool = True):
    """An endpoint made by the service the admin page calls; returns (id, secret)."""
    with app.app_context():
        endpoint, secret = endpoints.create(
            url=url,
            description="test receiver",
            events=events,
            enabled=enabled,
            actor=Actor.system(),
        )
        db.session.commit()
        return endpoint.id, secret


@pytest.fixture
def endpoint(app, allow_private, receiver):
    endpoint_id, secret = register(app, receiver.url)
    receiver.secret = secret
    return endpoint_id

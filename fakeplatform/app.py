"""The fake platform's WSGI app: X API v2 under /2, a Bluesky PDS's XRPC under /xrpc, the Graph
API elsewhere, controls at /_fake."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, g

from fakeplatform import (
    bluesky_xrpc,
    control,
    facebook_login,
    graph_api,
    mastodon_api,
    x_api,
    x_oauth2,
)
from fakeplatform.faults import ConnectionDropper
from fakeplatform.state import FakeState

# Multipart image uploads: X allows 5 MB images, Facebook 10 MB; leave room for the form.
MAX_CONTENT_LENGTH = 16 * 1024 * 1024


def create_app(state: FakeState | None = None) -> Flask:
    """Build the fake platform. It needs nothing from the gateway (no database, no Redis)."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    app.extensions["fakeplatform"] = state or FakeState()

    @app.before_request
    def note_arrival() -> None:
        g.received_at = time.time()

    app.register_blueprint(control.bp)
    app.register_blueprint(x_api.bp)
    app.register_blueprint(x_oauth2.bp)
    app.register_blueprint(facebook_login.bp)
    app.register_blueprint(bluesky_xrpc.bp)
    app.register_blueprint(mastodon_api.bp)
    app.register_blueprint(graph_api.bp)  # last: its catch-all route must not shadow the others
    app.wsgi_app = ConnectionDropper(app.wsgi_app)  # type: ignore[method-assign]
    return app


def state_of(app: Any) -> FakeState:
    """The FakeState behind an app made by create_app (for tests that inspect it directly)."""
    return app.extensions["fakeplatform"]

"""The auditors' pages over the publish log (issue #8): read-only, for the auditor and the
monitoring officer."""

from __future__ import annotations

from flask import Flask

from gateway.audit import checkpoints


def init_app(app: Flask) -> None:
    checkpoints.init_app(app)
    from gateway.auditor.views import bp

    app.register_blueprint(bp)

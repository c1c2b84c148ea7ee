"""The officers' pages."""

from __future__ import annotations

from flask import Flask

from gateway.domain.roles import Role
from gateway.web.views import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.context_processor(lambda: {"Role": Role})

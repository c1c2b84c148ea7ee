"""The duty officer's emergency form and the next-day review list (issue 7)."""

from __future__ import annotations

from flask import Flask

from gateway.emergency.views import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

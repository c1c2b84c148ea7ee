"""Admin pages: users and roles (channels, elections and the register follow in issue 6)."""

from __future__ import annotations

from flask import Flask

from gateway.admin.views import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

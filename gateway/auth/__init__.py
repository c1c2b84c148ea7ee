"""Signing in and out, sessions, and who the current user is."""

from __future__ import annotations

from flask import Flask

from gateway.auth import oidc, sessions, two_factor
from gateway.auth.views import bp
from gateway.extensions import limiter, login_manager


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Sign in to continue."
    login_manager.session_protection = "basic"
    limiter.init_app(app)
    sessions.init_app(app)
    app.register_blueprint(bp)
    oidc.init_app(app)
    two_factor.init_app(app)

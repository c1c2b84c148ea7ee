"""Idle and absolute session timeouts, and revocable sessions through the user's version."""

from __future__ import annotations

import time

from flask import Flask, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user
from sqlalchemy.orm import joinedload

from gateway.extensions import db, login_manager
from gateway.models import User

SIGNED_IN_AT = "signed_in_at"
LAST_SEEN = "last_seen"


@login_manager.user_loader
def load_user(token: str) -> User | None:
    try:
        user_id, version = (int(part) for part in token.split(":"))
    except ValueError:
        return None
    # The user and their roles in one statement: this runs before every signed-in page.
    user = db.session.get(User, user_id, options=[joinedload(User.role_rows)])
    if user is None or not user.active or user.session_version != version:
        return None  # ended by an admin, a sign-out everywhere, or a role change
    return user


def start(user: User) -> None:
    """A new session on sign-in: nothing from before it survives (session fixation)."""
    session.clear()
    session.permanent = True
    now = int(time.time())
    session[SIGNED_IN_AT] = now
    session[LAST_SEEN] = now


def init_app(app: Flask) -> None:
    @app.before_request
    def _enforce_timeouts():
        if request.endpoint in {"static", "health.healthz", "health.readyz"}:
            return None
        if not current_user.is_authenticated:
            return None
        now = int(time.time())
        idle = app.config["SESSION_IDLE_MINUTES"] * 60
        absolute = app.config["SESSION_ABSOLUTE_HOURS"] * 3600
        signed_in_at = session.get(SIGNED_IN_AT, 0)
        last_seen = session.get(LAST_SEEN, 0)
        if now - last_seen > idle or now - signed_in_at > absolute:
            logout_user()
            session.clear()
            flash("You were signed out because your session timed out. Sign in again.")
            return redirect(url_for("auth.sign_in"))
        session[LAST_SEEN] = now
        return None

"""Server-side sessions, idle and absolute timeouts, and ending sessions (issue 20).

Each sign-in adds a ``UserSession`` row with a random id; the signed cookie carries
``user id:session version:session id`` and the user loader checks all three on every request,
before any page (kept or not) is served. Deleting the row ends that one session wherever its
cookie has been copied (signing out, changing one's password for the other sessions); bumping
``users.session_version`` ends all of them at once (an admin's "end sessions", a role change,
a deactivation, a password reset).
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, logout_user
from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from gateway.extensions import db, login_manager
from gateway.models import User, UserSession
from gateway.models.base import utcnow

SIGNED_IN_AT = "signed_in_at"
LAST_SEEN = "last_seen"
#: 32 random bytes: the session id is a bearer secret, as long as the cookie lives.
SESSION_ID_BYTES = 32
#: What a session that must set a new password may still reach (an admin's reset).
_WHILE_PASSWORD_MUST_CHANGE = frozenset(
    {"static", "health.healthz", "health.readyz", "auth.change_password", "auth.sign_out"}
)


def _absolute_limit() -> timedelta:
    return timedelta(hours=current_app.config["SESSION_ABSOLUTE_HOURS"])


@login_manager.user_loader
def load_user(token: str) -> User | None:
    try:
        user_part, version_part, session_id = token.split(":")
        user_id, version = int(user_part), int(version_part)
    except ValueError:
        return None  # includes cookies from before server-side sessions: sign in again
    # The user, their roles and their session row in one statement: this runs before every
    # signed-in page.
    row = (
        db.session.execute(
            select(User, UserSession.created_at)
            .join(UserSession, UserSession.user_id == User.id)
            .where(User.id == user_id, UserSession.id == session_id)
            .options(joinedload(User.role_rows))
        )
        .unique()
        .first()
    )
    if row is None:
        return None  # signed out, or ended on another device
    user, started = row
    if not user.active or user.session_version != version:
        return None  # ended by an admin, a deactivation, a reset or a role change
    if utcnow() - started > _absolute_limit():
        return None  # the cookie's own clock can be copied; the row's cannot
    user.session_id = session_id
    return user


def start(user: User) -> None:
    """A new session on sign-in: nothing from before it survives (session fixation). Adds the
    session's row to the current transaction: commit, then ``login_user(user)``."""
    session.clear()
    session.permanent = True
    now = int(time.time())
    session[SIGNED_IN_AT] = now
    session[LAST_SEEN] = now
    # Sessions past the absolute limit can no longer be used: drop them as this user signs in,
    # so the table holds live sessions only.
    db.session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id, UserSession.created_at < utcnow() - _absolute_limit()
        )
    )
    user.session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
    db.session.add(UserSession(id=user.session_id, user_id=user.id))


def end(user: User) -> None:
    """End the session this request belongs to (in the current transaction)."""
    if user.session_id:
        db.session.execute(delete(UserSession).where(UserSession.id == user.session_id))


def end_all(user: User) -> None:
    """End every session of ``user`` (in the current transaction)."""
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))


def end_others(user: User) -> int:
    """End every session of ``user`` but this request's; return how many ended."""
    result = db.session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id, UserSession.id != (user.session_id or "")
        )
    )
    return result.rowcount or 0


def init_app(app: Flask) -> None:
    @app.before_request
    def _enforce_timeouts():
        if request.endpoint in {"static", "health.healthz", "health.readyz"}:
            return None
        if not current_user.is_authenticated or g.get("api_token") is not None:
            # An API call is its token's owner, never a cookie's (gateway.api.auth): no
            # session to time out.
            return None
        now = int(time.time())
        idle = app.config["SESSION_IDLE_MINUTES"] * 60
        absolute = app.config["SESSION_ABSOLUTE_HOURS"] * 3600
        signed_in_at = session.get(SIGNED_IN_AT, 0)
        last_seen = session.get(LAST_SEEN, 0)
        if now - last_seen > idle or now - signed_in_at > absolute:
            user = current_user._get_current_object()
            end(user)
            db.session.commit()
            logout_user()
            session.clear()
            flash("You were signed out because your session timed out. Sign in again.")
            return redirect(url_for("auth.sign_in"))
        session[LAST_SEEN] = now
        if current_user.password_must_change and request.endpoint not in (
            _WHILE_PASSWORD_MUST_CHANGE
        ):
            return redirect(url_for("auth.change_password"))
        return None

"""Sign in and sign out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from gateway.audit import Actor, record
from gateway.auth import sessions
from gateway.auth.forms import SignInForm
from gateway.auth.passwords import check_password, hash_password, needs_rehash
from gateway.extensions import db, limiter
from gateway.models import User
from gateway.models.base import utcnow
from gateway.security import public, signed_in

bp = Blueprint("auth", __name__)


def _signin_limit() -> str:
    return current_app.config["SIGNIN_RATE_LIMIT"]


def _safe_next(target: str | None) -> str:
    # Only a path on this site: an open redirect would help a phishing page.
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("web.dashboard")


@bp.route("/sign-in", methods=["GET", "POST"])
@public
@limiter.limit(_signin_limit, methods=["POST"])
def sign_in():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("web.dashboard"))
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(select(User).where(User.email == email))
        # An unknown or disabled account is checked against a dummy hash, so the answer takes
        # as long and reads the same either way: it does not reveal which accounts exist.
        stored = user.password_hash if user is not None and user.active else None
        if check_password(stored, form.password.data):
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(form.password.data)
            user.last_sign_in_at = utcnow()
            record("auth.signed_in", actor=Actor.of(user), obj=("user", user.id))
            db.session.commit()
            sessions.start(user)
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        record(
            "auth.sign_in_failed",
            actor=Actor.anonymous(),
            payload={"email": email, "address": request.remote_addr or ""},
        )
        db.session.commit()
        error = "The email address or password is not right. Check them and try again."
    return render_template("auth/sign_in.html", form=form, error=error), (400 if error else 200)


@bp.route("/sign-out", methods=["POST"])
@signed_in
def sign_out():
    logout_user()
    session.clear()
    flash("You have signed out.")
    return redirect(url_for("auth.sign_in"))

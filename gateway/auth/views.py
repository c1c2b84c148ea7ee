"""Sign in, sign out and change one's own password."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from gateway import users
from gateway.audit import Actor, record
from gateway.auth import oidc, sessions, two_factor
from gateway.auth.forms import ChangePasswordForm, SignInForm
from gateway.auth.identifiers import normalise_typed, typed_identifier_digest
from gateway.auth.passwords import check_password, hash_password, needs_rehash
from gateway.domain.roles import Role
from gateway.extensions import db, limiter
from gateway.models import User
from gateway.models.base import utcnow
from gateway.security import public, signed_in

bp = Blueprint("auth", __name__)
#: Set on ``g`` when a request's password was wrong: only those count towards the limits.
_ATTEMPT_FAILED = "sign_in_attempt_failed"


def _signin_limit() -> str:
    return current_app.config["SIGNIN_RATE_LIMIT"]


def _account_limit() -> str:
    return current_app.config["SIGNIN_ACCOUNT_RATE_LIMIT"]


def _typed_account() -> str:
    """The per-account limit's key: the typed email, normalised and keyed-hashed (so Redis
    holds no addresses), from any client address."""
    typed = request.form.get("email", "")
    return "account:" + typed_identifier_digest(typed, current_app.config["SECRET_KEY"])


def _password_was_wrong(response) -> bool:  # noqa: ANN001 - Flask-Limiter's deduct_when
    # Successes, and forms sent back for a missing field or token, do not use up the limit:
    # a whole office behind one address must not lock itself out (issue 20).
    return bool(g.get(_ATTEMPT_FAILED))


def home_url(user) -> str:  # noqa: ANN001 - a User, or the current user's proxy
    """Where a user lands after signing in: the emergency form for a duty officer who is not
    also an officer (issue 22: at 3am, on a phone, the emergency form is all they came for,
    and the dashboard's drafts and approvals are not theirs); the dashboard for everyone
    else, a duty officer who also drafts and approves office-hours posts included."""
    if user.has_role(Role.DUTY_OFFICER) and not user.has_role(Role.OFFICER):
        return url_for("emergency.new")
    return url_for("web.dashboard")


def _safe_next(target: str | None, user=None) -> str:  # noqa: ANN001
    # Only a path on this site: an open redirect would help a phishing page. Browsers read a
    # backslash as a slash and drop tabs and newlines ("/\\evil.example", "/\t/evil.example"),
    # and Werkzeug refuses CR/LF in a header with a 500: any of them sends to the dashboard.
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
    ):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return home_url(user) if user is not None else url_for("web.dashboard")


@bp.route("/sign-in", methods=["GET", "POST"])
@public
@limiter.limit(_signin_limit, methods=["POST"], deduct_when=_password_was_wrong)
@limiter.limit(
    _account_limit, key_func=_typed_account, methods=["POST"], deduct_when=_password_was_wrong
)
def sign_in():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(home_url(current_user))
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        email = normalise_typed(form.email.data)
        user = db.session.scalar(select(User).where(User.email == email))
        # An unknown or disabled account is checked against a dummy hash, so the answer takes
        # as long and reads the same either way: it does not reveal which accounts exist.
        # With local passwords turned off only the break-glass admin's is checked (issue 16).
        usable = user is not None and user.active and oidc.may_use_password(user)
        stored = user.password_hash if usable else None
        if check_password(stored, form.password.data):
            if two_factor.enrolled(user):
                # The code next (issue 16): not signed in until it is given. An admin's
                # one-time password is used up then, so a lost phone does not waste it.
                if not user.password_must_change and needs_rehash(user.password_hash):
                    user.password_hash = hash_password(form.password.data)
                two_factor.begin_second_step(user, request.args.get("next"))
                db.session.commit()
                return redirect(url_for("two_factor.sign_in_code"))
            must_change = user.password_must_change
            if must_change:
                users.use_one_time_password(user)
            elif needs_rehash(user.password_hash):
                user.password_hash = hash_password(form.password.data)
            user.last_sign_in_at = utcnow()
            sessions.start(user)
            record("auth.signed_in", actor=Actor.of(user), obj=("user", user.id))
            db.session.commit()
            login_user(user)
            if must_change:
                return redirect(url_for("auth.change_password"))
            return redirect(_safe_next(request.args.get("next"), user))
        g.setdefault(_ATTEMPT_FAILED, True)
        # Never the typed text: people type passwords into the email box, and the log is kept
        # for years (issue 20). A keyed hash still links attempts on one address.
        record(
            "auth.sign_in_failed",
            actor=Actor.anonymous(),
            obj=("user", user.id) if user is not None else None,
            payload={
                "email_hmac": typed_identifier_digest(email, current_app.config["SECRET_KEY"]),
                "address": request.remote_addr or "",
            },
        )
        db.session.commit()
        error = "The email address or password is not right. Check them and try again."
    return render_template(
        "auth/sign_in.html", form=form, error=error, sso=oidc.sign_in_context()
    ), (400 if error else 200)


@bp.route("/sign-out", methods=["POST"])
@signed_in
def sign_out():
    # The session's row goes, so its cookie stops working wherever it was copied (issue 20);
    # the user's other sessions carry on. (Not a log entry, as before: sign-ins are.)
    sessions.end(current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash("You have signed out.")
    return redirect(url_for("auth.sign_in"))


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
@limiter.limit(_signin_limit, methods=["POST"], deduct_when=_password_was_wrong)
def change_password():
    user = current_user._get_current_object()
    if not oidc.keeps_local_password(user):
        # An account made by single sign-on has no local password to change (issue 16): its
        # password is the provider's, and setting one here would open a second way in.
        flash(f"You sign in with {oidc.provider_name()}: change your password there.")
        return redirect(home_url(user))
    forced = user.password_must_change
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            ended = users.change_password(
                user, None if forced else form.current_password.data, form.new_password.data
            )
            db.session.commit()
        except users.WrongPassword as exc:
            db.session.rollback()
            g.setdefault(_ATTEMPT_FAILED, True)
            form.current_password.errors = [str(exc)]
        except users.UserError as exc:
            db.session.rollback()
            form.new_password.errors = [str(exc)]
        else:
            others = f" {ended} other session(s) ended." if ended else ""
            flash(f"Your password has been changed.{others}")
            return redirect(home_url(user))
    status = 400 if form.errors else 200
    return render_template("auth/change_password.html", form=form, forced=forced), status

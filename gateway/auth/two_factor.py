"""Two-factor authentication for local accounts (issue 16): TOTP and recovery codes.

- Who: admins, monitoring officers and duty officers must use it with a local password
  (``GATEWAY_TWO_FACTOR_REQUIRED=everyone``: everyone); anyone else may. A session opened by
  single sign-on is not asked: the provider's own multi-factor authentication covers it.
- Enrolling: the account page makes a secret (sealed at rest, bound to the user) and shows it
  as a QR code and as text; the first code from the app confirms it, and ten single-use
  recovery codes are shown once and kept as Argon2id hashes. A required user who has not
  enrolled reaches no other page (only signing out and changing their password).
- Signing in: the password first, then the code. Until the code, the browser holds only a
  short-lived "password accepted" mark in its signed session, no signed-in session; the code
  opens a new session (a new id: session fixation). A code is never accepted twice, wrong
  codes are limited per account (GATEWAY_TWO_FACTOR_RATE_LIMIT), and there is no "remember
  this device".
- Lost phone: a recovery code, or another administrator resets two-factor (never one's own).

Every enrolment, failure, recovery code used, new set of recovery codes and reset is a
publish-log entry; no entry holds a secret or a code.
"""

from __future__ import annotations

import time

import segno
from flask import (
    Blueprint,
    Flask,
    abort,
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
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovTextInput
from sqlalchemy import delete, func, or_, select, update
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from gateway.audit import Actor, record
from gateway.auth import oidc, sessions
from gateway.auth.passwords import check_recovery_code, hash_recovery_code
from gateway.credentials import needs_rotation, seal, unseal
from gateway.domain import totp
from gateway.domain.roles import Role
from gateway.extensions import db, limiter
from gateway.models import RecoveryCode, User, UserTwoFactor
from gateway.models.base import utcnow
from gateway.security import public, signed_in
from gateway.settings import TWO_FACTOR_EVERYONE

bp = Blueprint("two_factor", __name__)

#: The roles that must use two-factor by default: they publish at once (duty officers), clear
#: referrals (monitoring officers) or decide who can do anything (admins).
REQUIRED_ROLES = (Role.ADMIN, Role.MONITORING_OFFICER, Role.DUTY_OFFICER)
#: The session key of a sign-in whose password was right and whose code is awaited.
PENDING = "two_factor_pending"
#: The session key saying how this session's second factor was given.
SECOND_FACTOR = "second_factor"
#: How long the code may take after the password.
PENDING_SECONDS = 300
#: Set on ``g`` when a code was wrong: only those count towards the limit.
_CODE_FAILED = "two_factor_code_failed"
#: What a session that must enrol first may still reach.
_WHILE_ENROLMENT_REQUIRED = frozenset(
    {
        "static",
        "health.healthz",
        "health.readyz",
        "auth.sign_out",
        "auth.change_password",
        "oidc.no_role",
        "two_factor.enrol",
        "two_factor.start",
        "two_factor.confirm",
    }
)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals.update(two_factor_panel=_admin_panel, two_factor_link=_show_link)
    # After the timeouts and the forced password change (gateway.auth.sessions).
    app.before_request(_require_enrolment)


# --- Who, and the stored secret ------------------------------------------------------------


def required(user: User) -> bool:
    if current_app.config.get("TWO_FACTOR_REQUIRED") == TWO_FACTOR_EVERYONE:
        return True
    return user.has_role(*REQUIRED_ROLES)


def _aad(user_id: int) -> bytes:
    return f"gateway/user/{int(user_id)}/totp".encode()


def _secret_of(row: UserTwoFactor) -> str:
    return unseal(_aad(row.user_id), row.secret_encrypted).decode()


def record_of(user: User) -> UserTwoFactor | None:
    return db.session.get(UserTwoFactor, user.id)


def enrolled(user: User) -> bool:
    row = record_of(user)
    return row is not None and row.confirmed_at is not None


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


class CodeRefused(ValueError):
    """A code that was not accepted; ``reason`` is the log's, the message the person's."""

    def __init__(self, reason: totp.Refusal) -> None:
        self.reason = reason
        super().__init__(_MESSAGES[reason])


_MESSAGES = {
    totp.Refusal.MALFORMED: "Enter the 6-digit code from your authenticator app",
    totp.Refusal.WRONG: "The code is not right. Check your authenticator app and enter the "
    "code it shows now.",
    totp.Refusal.REUSED: "That code has already been used. Wait for your authenticator app to "
    "show a new code, then enter it.",
    totp.Refusal.WRONG_RECOVERY: "The recovery code is not right, or has already been used. "
    "Each recovery code works once.",
}


def begin(user: User) -> str:
    """Start (or start again) an enrolment: a new secret, not yet confirmed. The caller
    commits. Refused once enrolled: only another admin's reset starts over."""
    row = record_of(user)
    if row is not None and row.confirmed_at is not None:
        raise ValueError("Two-factor authentication is already set up.")
    secret = totp.new_secret()
    sealed = seal(_aad(user.id), secret.encode())
    if row is None:
        db.session.add(UserTwoFactor(user_id=user.id, secret_encrypted=sealed))
    else:
        row.secret_encrypted = sealed
        row.created_at = utcnow()
        row.last_used_step = None
    db.session.flush()
    return secret


def pending_secret(user: User) -> str | None:
    row = record_of(user)
    if row is None or row.confirmed_at is not None:
        return None
    return _secret_of(row)


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = totp.new_recovery_codes()
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_hash=hash_recovery_code(c)) for c in codes
    )
    db.session.flush()
    return [totp.shown_recovery_code(c) for c in codes]


def _accept_step(row: UserTwoFactor, code: str | None) -> None:
    """Check ``code`` against ``row`` and use up its step, atomically: of two requests with
    the same code at the same moment, one wins. Raises CodeRefused."""
    verdict = totp.check_code(_secret_of(row), code, time.time(), row.last_used_step)
    if not verdict.accepted:
        raise CodeRefused(verdict.refusal)
    result = db.session.execute(
        update(UserTwoFactor)
        .where(
            UserTwoFactor.user_id == row.user_id,
            or_(
                UserTwoFactor.last_used_step.is_(None),
                UserTwoFactor.last_used_step < verdict.step,
            ),
        )
        .values(last_used_step=verdict.step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise CodeRefused(totp.Refusal.REUSED)
    db.session.refresh(row)


def confirm_enrolment(user: User, code: str | None) -> list[str]:
    """Confirm the enrolment with the app's first code; return the recovery codes to show
    once. Every other session of the user ends (they were opened without the second factor).
    Raises CodeRefused. The caller commits."""
    row = record_of(user)
    if row is None or row.confirmed_at is not None:
        raise ValueError("There is no two-factor set-up waiting to be confirmed.")
    _accept_step(row, code)
    row.confirmed_at = utcnow()
    codes = _new_recovery_codes(user)
    ended = sessions.end_others(user)
    record(
        "auth.two_factor_enrolled",
        actor=Actor.of(user),
        obj=("user", user.id),
        payload={"method": "totp", "recovery_codes": len(codes), "other_sessions_ended": ended},
    )
    return codes


def check(user: User, code: str | None) -> None:
    """A sign-in's code. Raises CodeRefused."""
    row = record_of(user)
    if row is None or row.confirmed_at is None:
        raise CodeRefused(totp.Refusal.WRONG)
    _accept_step(row, code)


def use_recovery_code(user: User, text: str | None) -> int:
    """Use up one recovery code; return how many are left. Raises CodeRefused."""
    code = totp.normalise_recovery_code(text)
    if code is not None and enrolled(user):
        for row in db.session.scalars(
            select(RecoveryCode).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all():
            if not check_recovery_code(row.code_hash, code):
                continue
            used = db.session.execute(
                update(RecoveryCode)
                .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
                .values(used_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if used.rowcount != 1:
                break  # used by another request at this very moment
            left = recovery_codes_left(user)
            record(
                "auth.recovery_code_used",
                actor=Actor.of(user),
                obj=("user", user.id),
                payload={"remaining": left},
            )
            return left
    raise CodeRefused(totp.Refusal.WRONG_RECOVERY)


def replace_recovery_codes(user: User, code: str | None) -> list[str]:
    """A new set of ten, the old ones void, confirmed with a current code (a session left
    open on a shared PC is not enough). Raises CodeRefused. The caller commits."""
    check(user, code)
    codes = _new_recovery_codes(user)
    record(
        "auth.recovery_codes_replaced",
        actor=Actor.of(user),
        obj=("user", user.id),
        payload={"recovery_codes": len(codes)},
    )
    return codes


def reset(user: User, *, admin: User) -> None:
    """Another admin removes ``user``'s two-factor (a lost phone): their sessions end, and
    if it is required they set it up again at their next sign-in. Raises ValueError."""
    if admin.id == user.id:
        raise ValueError("Another administrator must reset your two-factor authentication.")
    if not admin.has_role(Role.ADMIN):
        raise ValueError("Only an administrator can reset two-factor authentication.")
    row = record_of(user)
    if row is None:
        raise ValueError(f"{user.email} has not set up two-factor authentication.")
    was_confirmed = row.confirmed_at is not None
    db.session.delete(row)
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    user.session_version += 1
    sessions.end_all(user)
    record(
        "user.two_factor_reset",
        actor=Actor.of(admin),
        obj=("user", user.id),
        payload={"was_confirmed": was_confirmed},
    )


def _failed(user: User, reason: str, stage: str, *, signed_in_user: bool) -> None:
    """A refused code, in the log (never the code typed), in its own transaction."""
    db.session.rollback()
    record(
        "auth.two_factor_failed",
        actor=Actor.of(user) if signed_in_user else Actor.anonymous(),
        obj=("user", user.id),
        payload={"stage": stage, "reason": str(reason), "address": request.remote_addr or ""},
    )
    db.session.commit()
    g.setdefault(_CODE_FAILED, True)


def rotate_secrets() -> int:
    """Re-seal every TOTP secret with the newest key (``gateway keys rotate``)."""
    changed = 0
    for row in db.session.scalars(select(UserTwoFactor)):
        if needs_rotation(row.secret_encrypted):
            row.secret_encrypted = seal(_aad(row.user_id), _secret_of(row).encode())
            record(
                "user.two_factor_secret_rotated",
                actor=Actor.system(),
                obj=("user", row.user_id),
                payload={},
            )
            changed += 1
    return changed


# --- The sign-in's second step -------------------------------------------------------------


def begin_second_step(user: User, nxt: str | None) -> None:
    """The password was right: the browser is asked for the code, and is not signed in yet.
    Nothing from before survives in its session."""
    session.clear()
    session[PENDING] = {
        "user": user.id,
        "version": user.session_version,
        "at": int(time.time()),
        "next": (nxt or "")[:2000],
    }


def _pending() -> tuple[User | None, str | None]:
    data = session.get(PENDING)
    if not isinstance(data, dict):
        return None, None
    user = db.session.get(User, data.get("user"))
    fresh = 0 <= time.time() - data.get("at", 0) <= PENDING_SECONDS
    if (
        user is None
        or not fresh
        or not user.active
        or user.session_version != data.get("version")
        or not oidc.may_use_password(user)
        or not enrolled(user)
    ):
        return None, None
    return user, data.get("next") or None


def _finish_sign_in(user: User, method: str, nxt: str | None):
    from gateway import users
    from gateway.auth.views import _safe_next

    must_change = user.password_must_change
    if must_change:
        users.use_one_time_password(user)
    user.last_sign_in_at = utcnow()
    sessions.start(user)  # clears the session: a new id, nothing of the pending step kept
    session[SECOND_FACTOR] = method
    record(
        "auth.signed_in",
        actor=Actor.of(user),
        obj=("user", user.id),
        payload={"second_factor": method},
    )
    db.session.commit()
    login_user(user)
    if must_change:
        return redirect(url_for("auth.change_password"))
    return redirect(_safe_next(nxt, user))


def _limit() -> str:
    return current_app.config["TWO_FACTOR_RATE_LIMIT"]


def _limit_user_id() -> int | None:
    data = session.get(PENDING)
    if isinstance(data, dict) and isinstance(data.get("user"), int):
        return data["user"]
    if current_user.is_authenticated:
        return current_user.id
    return None


def _limit_key() -> str:
    return f"two-factor:user:{_limit_user_id()}"


def _code_was_wrong(response) -> bool:  # noqa: ANN001 - Flask-Limiter's deduct_when
    return bool(g.get(_CODE_FAILED))


def _breached(limit) -> None:  # noqa: ANN001 - Flask-Limiter's RequestLimit
    """Too many wrong codes: this attempt is refused unread, and logged."""
    user = db.session.get(User, _limit_user_id()) if _limit_user_id() is not None else None
    if user is not None:
        record(
            "auth.two_factor_failed",
            actor=Actor.of(user) if current_user.is_authenticated else Actor.anonymous(),
            obj=("user", user.id),
            payload={
                "stage": request.endpoint or "",
                "reason": "too_many_attempts",
                "address": request.remote_addr or "",
            },
        )
        db.session.commit()


#: Every code the gateway reads (sign-in, recovery, enrolment, new recovery codes) counts
#: towards one limit per account.
code_limit = limiter.shared_limit(
    _limit,
    scope="two-factor",
    key_func=_limit_key,
    methods=["POST"],
    deduct_when=_code_was_wrong,
    on_breach=_breached,
)


class CodeForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app",
        widget=GovTextInput(),
        description="The 6-digit code your app shows for the Council Publishing Gateway.",
        validators=[
            DataRequired("Enter the 6-digit code from your authenticator app"),
            Length(max=20),
        ],
    )


class RecoveryCodeForm(FlaskForm):
    code = StringField(
        "Recovery code",
        widget=GovTextInput(),
        description="One of the ten codes you were given when you set up two-factor "
        "authentication, for example abcde-fghjk.",
        validators=[DataRequired("Enter one of your recovery codes"), Length(max=40)],
    )


def _no_pending_step():
    session.pop(PENDING, None)
    flash("Sign in again: the time to enter your code ran out, or you were signed out.")
    return redirect(url_for("auth.sign_in"))


@bp.route("/sign-in/two-factor", methods=["GET", "POST"])
@public
@code_limit
def sign_in_code():
    user, nxt = _pending()
    if user is None:
        return _no_pending_step()
    form = CodeForm()
    if form.validate_on_submit():
        try:
            check(user, form.code.data)
        except CodeRefused as exc:
            _failed(user, exc.reason, "sign_in", signed_in_user=False)
            form.code.errors = [str(exc)]
        else:
            return _finish_sign_in(user, "totp", nxt)
    return render_template("auth/two_factor_code.html", form=form), (400 if form.errors else 200)


@bp.route("/sign-in/recovery-code", methods=["GET", "POST"])
@public
@code_limit
def sign_in_recovery():
    user, nxt = _pending()
    if user is None:
        return _no_pending_step()
    form = RecoveryCodeForm()
    if form.validate_on_submit():
        try:
            left = use_recovery_code(user, form.code.data)
        except CodeRefused as exc:
            _failed(user, exc.reason, "sign_in", signed_in_user=False)
            form.code.errors = [str(exc)]
        else:
            response = _finish_sign_in(user, "recovery_code", nxt)
            flash(
                f"You used a recovery code: {left} left. "
                + (
                    "Make new recovery codes on your two-factor page soon."
                    if left <= 3
                    else "Each code works once."
                )
            )
            return response
    return render_template("auth/two_factor_recovery.html", form=form), (
        400 if form.errors else 200
    )


# --- The account page: enrolling, recovery codes ------------------------------------------


def _qr_data_uri(secret: str, account: str) -> str:
    """The QR code as an SVG data: URI for an <img> (the CSP allows data: images only)."""
    return segno.make(totp.provisioning_uri(secret, account), error="m").svg_data_uri(
        scale=5, border=4
    )


def _page(user: User, form: CodeForm | None = None, status: int = 200):
    row = record_of(user)
    context = {
        "required": required(user),
        "via_sso": session.get(oidc.SIGN_IN_METHOD) == "oidc",
        "row": row,
        "form": form or CodeForm(),
        "secret": None,  # nosec B105
        "qr": None,
        "codes_left": 0,
    }
    if row is not None and row.confirmed_at is None:
        secret = _secret_of(row)
        context.update(secret=totp.grouped(secret), qr=_qr_data_uri(secret, user.email))
    elif row is not None:
        context["codes_left"] = recovery_codes_left(user)
    return render_template("auth/two_factor.html", **context), status


@bp.get("/account/two-factor")
@signed_in
def enrol():
    return _page(current_user._get_current_object())


@bp.post("/account/two-factor/start")
@signed_in
def start():
    user = current_user._get_current_object()  # the CSRF token is checked for every POST
    try:
        begin(user)
    except ValueError as exc:
        flash(str(exc))
    else:
        db.session.commit()
    return redirect(url_for("two_factor.enrol"))


@bp.post("/account/two-factor/confirm")
@signed_in
@code_limit
def confirm():
    user = current_user._get_current_object()
    form = CodeForm()
    if pending_secret(user) is None:
        flash("Start setting up two-factor authentication first.")
        return redirect(url_for("two_factor.enrol"))
    if not form.validate_on_submit():
        return _page(user, form, 400)
    try:
        codes = confirm_enrolment(user, form.code.data)
    except CodeRefused as exc:
        _failed(user, exc.reason, "enrolment", signed_in_user=True)
        form.code.errors = [str(exc)]
        return _page(user, form, 400)
    # The session now holds both factors: a new one, so its id changes (session fixation).
    sessions.end(user)
    sessions.start(user)
    session[SECOND_FACTOR] = "enrolled"
    db.session.commit()
    login_user(user)
    return _codes_page(user, codes, first=True)


@bp.post("/account/two-factor/recovery-codes")
@signed_in
@code_limit
def recovery_codes():
    user = current_user._get_current_object()
    form = CodeForm()
    if not enrolled(user):
        return redirect(url_for("two_factor.enrol"))
    if not form.validate_on_submit():
        return _page(user, form, 400)
    try:
        codes = replace_recovery_codes(user, form.code.data)
    except CodeRefused as exc:
        _failed(user, exc.reason, "recovery_codes", signed_in_user=True)
        form.code.errors = [str(exc)]
        return _page(user, form, 400)
    db.session.commit()
    return _codes_page(user, codes, first=False)


def _codes_page(user: User, codes: list[str], *, first: bool):
    from gateway.auth.views import home_url

    # Shown on this response only: never stored in clear, in the session or in the log.
    return render_template(
        "auth/two_factor_recovery_codes.html", codes=codes, first=first, home=home_url(user)
    )


# --- Every page: enrol first ----------------------------------------------------------------


def _require_enrolment():
    if request.endpoint in _WHILE_ENROLMENT_REQUIRED or request.endpoint is None:
        return None
    if not current_user.is_authenticated or session.get(SECOND_FACTOR):
        return None
    if g.get("api_token") is not None:
        # An API token's owner made it in a session that had given its second factor.
        return None
    if session.get(oidc.SIGN_IN_METHOD) == "oidc":
        return None
    user = current_user._get_current_object()
    if user.password_must_change or not required(user):
        return None
    if enrolled(user):
        # Enrolled, yet this session never gave the second factor (it was opened before the
        # enrolment, which ends such sessions): it ends now.
        sessions.end(user)
        db.session.commit()
        logout_user()
        session.clear()
        flash("Sign in again with your password and the code from your authenticator app.")
        return redirect(url_for("auth.sign_in"))
    if request.blueprint == "api" or request.accept_mimetypes.best == "application/json":
        abort(403)
    return redirect(url_for("two_factor.enrol"))


# --- What the admin's user page and the header show ----------------------------------------


def _show_link() -> bool:
    return current_user.is_authenticated and session.get(oidc.SIGN_IN_METHOD) != "oidc"


def _admin_panel(user: User) -> dict:
    row = record_of(user)
    return {
        "state": "none" if row is None else ("on" if row.confirmed_at else "pending"),
        "since": row.confirmed_at if row is not None else None,
        "codes_left": recovery_codes_left(user) if row is not None else 0,
        "required": required(user),
        "own": current_user.is_authenticated and current_user.id == user.id,
    }

"""Admin pages: the index and users and roles. Channels and the policy data have their own
modules; every change writes an audit entry in the same transaction (issue 3)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select

from gateway import users
from gateway.admin.forms import ConfirmForm, NewUserForm, RolesForm
from gateway.audit import Actor
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import AllowedContact, Channel, ClosureDay, Election, RegisterPerson, User
from gateway.security import requires

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _status(form) -> int:  # noqa: ANN001
    return 400 if form.errors else 200


@bp.get("/")
@requires(Role.ADMIN)
def index():
    counts = {
        name: db.session.scalar(select(func.count()).select_from(model))
        for name, model in (
            ("users", User),
            ("channels", Channel),
            ("elections", Election),
            ("register", RegisterPerson),
            ("contacts", AllowedContact),
            ("closures", ClosureDay),
        )
    }
    return render_template(
        "admin/index.html",
        counts=counts,
        checkpoint_dir=current_app.config.get("CHECKPOINT_DIR"),
    )


@bp.get("/users")
@requires(Role.ADMIN)
def user_list():
    rows = db.session.scalars(select(User).order_by(User.email)).all()
    return render_template("admin/users.html", users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
@requires(Role.ADMIN)
def user_new():
    form = NewUserForm()
    if form.validate_on_submit():
        password = users.generate_password()
        try:
            user = users.create_user(
                form.email.data,
                form.roles.data,
                password,
                actor=Actor.of(current_user),
                display_name=form.display_name.data or "",
            )
            db.session.commit()
        except users.UserError as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
        else:
            # Shown once, on this page only: it is never stored in plain text or logged.
            return render_template("admin/user_created.html", user=user, password=password)
    return render_template("admin/user_new.html", form=form), _status(form)


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _refused(user: User, exc: users.UserError):
    """A refused account change: the user's page again, with why, and nothing written."""
    db.session.rollback()
    form = RolesForm(data={"roles": sorted(r.value for r in user.roles)})
    return render_template(
        "admin/user_edit.html", user=user, form=form, page_errors=[str(exc)]
    ), 400


def _confirmed() -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires(Role.ADMIN)
def user_edit(user_id: int):
    user = _user_or_404(user_id)
    form = RolesForm(data={"roles": sorted(r.value for r in user.roles)})
    if form.validate_on_submit():
        try:
            users.set_roles(user, form.roles.data, actor=Actor.of(current_user))
            db.session.commit()
        except users.UserError as exc:
            db.session.rollback()
            form.roles.errors.append(str(exc))
        else:
            flash(f"Roles of {user.email} saved.")
            return redirect(url_for("admin.user_list"))
    return render_template("admin/user_edit.html", user=user, form=form), _status(form)


@bp.post("/users/<int:user_id>/end-sessions")
@requires(Role.ADMIN)
def user_end_sessions(user_id: int):
    user = _user_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if user.id == current_user.id:
        # Ending your own sessions from here would sign you out mid-task; "Sign out" does that.
        flash("To end your own session, use Sign out.")
        return redirect(url_for("admin.user_list"))
    users.end_sessions(user, actor=Actor.of(current_user))
    db.session.commit()
    flash(f"Every session of {user.email} has ended.")
    return redirect(url_for("admin.user_list"))


@bp.post("/users/<int:user_id>/deactivate")
@requires(Role.ADMIN)
def user_deactivate(user_id: int):
    return _set_active(user_id, False)


@bp.post("/users/<int:user_id>/reactivate")
@requires(Role.ADMIN)
def user_reactivate(user_id: int):
    return _set_active(user_id, True)


def _set_active(user_id: int, active: bool):
    user = _user_or_404(user_id)
    _confirmed()
    try:
        users.set_active(user, active, actor=Actor.of(current_user))
    except users.UserError as exc:
        return _refused(user, exc)
    db.session.commit()
    if active:
        flash(f"{user.email} can sign in again.")
    else:
        flash(f"{user.email} is deactivated: they cannot sign in, and their sessions have ended.")
    return redirect(url_for("admin.user_list"))


@bp.post("/users/<int:user_id>/reset-password")
@requires(Role.ADMIN)
def user_reset_password(user_id: int):
    user = _user_or_404(user_id)
    _confirmed()
    try:
        password = users.reset_password(user, actor=Actor.of(current_user))
    except users.UserError as exc:
        return _refused(user, exc)
    db.session.commit()
    # Shown once, on this response only: it is never stored in plain text or logged.
    return render_template("admin/password_reset.html", user=user, password=password)

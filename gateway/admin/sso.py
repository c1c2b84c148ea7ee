"""Admin pages for single sign-on (issue 16): turning local passwords off except for a
break-glass admin, and linking an existing user to their identity at the provider."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSelect, GovTextInput
from sqlalchemy import select
from wtforms import RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from gateway.admin.views import bp
from gateway.auth import oidc
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import User, UserRole
from gateway.security import requires


class LocalPasswordsForm(FlaskForm):
    local_passwords = RadioField(
        "Who may sign in with a password",
        widget=GovRadioInput(),
        choices=[
            SelectChoice(oidc.PASSWORDS_ON, "Everyone with a password"),
            SelectChoice(
                oidc.PASSWORDS_BREAK_GLASS_ONLY,
                "Only the break-glass administrator: everyone else uses single sign-on",
            ),
        ],
        validators=[InputRequired("Choose who may sign in with a password")],
    )
    break_glass = SelectField(
        "Break-glass administrator",
        widget=GovSelect(),
        description="An admin with a password, kept for when single sign-on is not working. "
        "Keep their password somewhere safe, such as the council's sealed-envelope store.",
        coerce=str,
        choices=[],
    )


class LinkForm(FlaskForm):
    subject = StringField(
        "Subject identifier (optional)",
        widget=GovTextInput(),
        description="The provider's \u201csub\u201d for this person, if you know it. Leave it "
        "empty to link the account at their next single sign-on with this email address "
        f"(within {oidc.PENDING_LINK_DAYS} days).",
        validators=[Length(max=255)],
    )


def _admins_with_passwords() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.ADMIN.value, User.active.is_(True))
            .order_by(User.email)
        ).unique()
    )


@bp.route("/sign-in", methods=["GET", "POST"])
@requires(Role.ADMIN)
def sign_in_setting():
    current = oidc.local_passwords()
    form = LocalPasswordsForm(
        data={"local_passwords": current, "break_glass": str(oidc.break_glass_admin_id() or "")}
    )
    form.break_glass.choices = [SelectChoice("", "Choose an administrator")] + [
        SelectChoice(str(u.id), u.email) for u in _admins_with_passwords() if oidc.has_password(u)
    ]
    if form.validate_on_submit():
        chosen = form.break_glass.data
        try:
            changed = oidc.change_local_passwords(
                current_user._get_current_object(),
                form.local_passwords.data,
                int(chosen) if chosen and chosen.isdigit() else None,
            )
        except ValueError as exc:
            db.session.rollback()
            form.break_glass.errors = [str(exc)]
        else:
            db.session.commit()
            if not changed:
                flash("Nothing changed.")
            elif form.local_passwords.data == oidc.PASSWORDS_ON:
                flash("Saved: everyone with a password can sign in with it.")
            else:
                flash("Saved: only the break-glass administrator can sign in with a password.")
            return redirect(url_for("admin.sign_in_setting"))
    return render_template(
        "admin/sign_in_setting.html",
        form=form,
        configured=oidc.configured(),
        provider_name=oidc.provider_name(),
    ), (400 if form.errors else 200)


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.post("/users/<int:user_id>/sso-link")
@requires(Role.ADMIN)
def user_sso_link(user_id: int):
    user = _user_or_404(user_id)
    form = LinkForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        identity = oidc.link(user, form.subject.data, admin=current_user._get_current_object())
    except ValueError as exc:
        db.session.rollback()
        flash(f"Not linked: {exc}")
        return redirect(url_for("admin.user_edit", user_id=user.id))
    db.session.commit()
    if identity.subject:
        flash(f"{user.email} is linked to their {oidc.provider_name()} sign-in.")
    else:
        flash(
            f"{user.email} will be linked when they next sign in with {oidc.provider_name()} "
            f"as {user.email}, within {oidc.PENDING_LINK_DAYS} days."
        )
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.post("/users/<int:user_id>/sso-unlink")
@requires(Role.ADMIN)
def user_sso_unlink(user_id: int):
    user = _user_or_404(user_id)
    if not LinkForm().validate_on_submit():
        abort(400)
    try:
        removed = oidc.unlink(user, admin=current_user._get_current_object())
    except ValueError as exc:
        db.session.rollback()
        flash(f"Not changed: {exc}")
        return redirect(url_for("admin.user_edit", user_id=user.id))
    db.session.commit()
    flash(
        f"{user.email} is no longer linked to {oidc.provider_name()}; their sessions have ended."
        if removed
        else "There was no link to remove."
    )
    return redirect(url_for("admin.user_edit", user_id=user.id))

"""The "API tokens" account page (issue 17): a user makes, names and revokes their own tokens.

Forms with CSRF tokens, on the signed-in pages' blueprint rules (cookie sessions); the API
itself never takes a cookie.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovRadioInput,
    GovTextInput,
)
from wtforms import BooleanField, RadioField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from gateway.api import scopes as api_scopes
from gateway.api import tokens
from gateway.domain.roles import role_labels
from gateway.extensions import db
from gateway.models.base import utcnow
from gateway.security import signed_in

bp = Blueprint("api_tokens", __name__)

EXPIRY_CHOICES = [
    SelectChoice("7", "7 days"),
    SelectChoice("30", "30 days"),
    SelectChoice("90", "90 days"),
    SelectChoice("365", "1 year"),
]


class TokenForm(FlaskForm):
    name = StringField(
        "Name",
        widget=GovTextInput(),
        description="What will use it, for example Website news pages",
        validators=[
            InputRequired("Enter a name for the token, such as the system that will use it"),
            Length(
                max=tokens.MAX_NAME_CHARS,
                message=f"The name must be {tokens.MAX_NAME_CHARS} characters or fewer",
            ),
        ],
    )
    expires = RadioField(
        "Expires after",
        widget=GovRadioInput(),
        choices=EXPIRY_CHOICES,
        default="90",
        validators=[InputRequired("Choose when the token expires")],
    )
    read_only = BooleanField(
        "Read only: it can read posts and findings, and change nothing",
        widget=GovCheckboxInput(),
    )
    # Offered are only the scopes the owner's roles can use (set_scopes); none ticked is a
    # token for everything those roles allow (gateway.api.scopes).
    scopes = SelectMultipleField(
        "Limit it to some operations",
        widget=GovCheckboxesInput(),
        description="Tick none for everything your roles allow. A token never does more than "
        "your roles allow when it is used, whatever is ticked.",
        choices=[],
    )

    def set_scopes(self, user) -> None:  # noqa: ANN001
        self.scopes.choices = [
            SelectChoice(s.name, f"{s.name}: {s.description}")
            for s in api_scopes.offered(user.roles)
        ]


class RevokeForm(FlaskForm):
    """Only its CSRF token."""


def _form(**kwargs) -> TokenForm:
    form = TokenForm(**kwargs)
    form.set_scopes(current_user)
    return form


def _page(form: TokenForm, new_secret: str | None = None, status: int = 200):
    user = current_user._get_current_object()
    return render_template(
        "auth/api_tokens.html",
        form=form,
        revoke_form=RevokeForm(),
        rows=tokens.of_user(user),
        now=utcnow(),
        new_secret=new_secret,
        roles=role_labels(user.roles),
    ), status


@bp.get("/account/api-tokens")
@signed_in
def api_tokens():
    return _page(_form())


@bp.post("/account/api-tokens")
@signed_in
def api_token_create():
    form = _form()
    if not form.validate_on_submit():
        return _page(form, status=400)
    try:
        made = tokens.create(
            current_user._get_current_object(),
            name=form.name.data,
            days=int(form.expires.data),
            read_only=bool(form.read_only.data),
            scopes=form.scopes.data or None,
        )
        db.session.commit()
    except tokens.TokenError as exc:
        db.session.rollback()
        field = getattr(form, exc.field, form.name)
        field.errors = [*field.errors, str(exc)]
        return _page(form, status=400)
    # Shown on this response only: it is never stored, so it cannot be shown again.
    return _page(_form(formdata=None), new_secret=made.secret)


@bp.post("/account/api-tokens/<int:token_id>/revoke")
@signed_in
def api_token_revoke(token_id: int):
    if not RevokeForm().validate_on_submit():
        flash("Your form expired. Reload the page and try again.")
        return redirect(url_for("api_tokens.api_tokens"))
    try:
        row = tokens.revoke(current_user._get_current_object(), token_id)
        db.session.commit()
    except tokens.TokenError:
        db.session.rollback()
        from flask import abort

        abort(404)
    flash(f"The token “{row.name}” is revoked: it no longer works.")
    return redirect(url_for("api_tokens.api_tokens"))

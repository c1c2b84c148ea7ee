"""Everyone's API tokens, for admins (issue 17): a page listing each user's tokens (name,
owner, made, last used, expiry, scopes; never the token, which is not stored) with "Revoke",
and the same in the API for an admin's token. Each revocation writes ``user.api_token_revoked``
with the admin as actor and the owner as object.

A deactivated user's tokens need no revoking: every call checks that the owner is active
(gateway.api.tokens.authenticate), so they stop at the moment of the deactivation.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from pydantic import BaseModel, Field

from gateway.api import problems, schemas, tokens
from gateway.api.scopes import needs
from gateway.api.spec import api, responses
from gateway.api.views import Idempotent, bp
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import ApiToken
from gateway.models.base import utcnow
from gateway.security import requires

pages = Blueprint("admin_api_tokens", __name__, url_prefix="/admin")
ADMIN = "Admin"
TOKEN_PAGE = 50
MAX_TOKEN_PAGE = 200


class RevokeForm(FlaskForm):
    """Only its CSRF token."""


def state_of(row: ApiToken, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at <= now:
        return "expired"
    if not row.user.active:
        return "owner_deactivated"
    return "live"


@pages.get("/api-tokens")
@requires(Role.ADMIN)
def token_list():
    return render_template(
        "admin/api_tokens.html",
        rows=tokens.everyones(),
        now=utcnow(),
        revoke_form=RevokeForm(),
        state_of=state_of,
    )


@pages.post("/api-tokens/<int:token_id>/revoke")
@requires(Role.ADMIN)
def token_revoke(token_id: int):
    if not RevokeForm().validate_on_submit():
        flash("Your form expired. Reload the page and try again.")
        return redirect(url_for("admin_api_tokens.token_list"))
    try:
        row = tokens.revoke_any(current_user._get_current_object(), token_id)
        db.session.commit()
    except tokens.TokenError:
        db.session.rollback()
        abort(404)
    flash(f"{row.user.email}'s token “{row.name}” is revoked: it no longer works.")
    return redirect(url_for("admin_api_tokens.token_list"))


# --- The API ------------------------------------------------------------------------------


class TokenQuery(schemas._In):
    cursor: str | None = Field(
        None, pattern=r"^[0-9]{1,10}$", description="next_cursor of the last page"
    )
    limit: int = Field(TOKEN_PAGE, ge=1, le=MAX_TOKEN_PAGE)


class TokenOut(BaseModel):
    """A token as the admin page lists it: never the token itself (only its hash is kept)."""

    id: int
    name: str
    prefix: str = Field(description="Its first characters, to tell it apart.")
    owner_id: int
    owner_email: str
    read_only: bool
    scopes: list[str] | None = Field(
        description="The operations it is narrowed to; null for all its owner's roles allow."
    )
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime
    revoked_at: datetime | None
    state: str = Field(description="live, expired, revoked or owner_deactivated.")


class TokenPage(BaseModel):
    items: list[TokenOut]
    next_cursor: str | None


def _out(row: ApiToken, now: datetime) -> TokenOut:
    return TokenOut(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        owner_id=row.user_id,
        owner_email=row.user.email,
        read_only=row.read_only,
        scopes=row.scopes.split() if row.scopes is not None else None,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        state=state_of(row, now),
    )


@bp.get("/admin/api-tokens")
@needs("tokens:admin")
@requires(Role.ADMIN)
@api.validate(
    query=TokenQuery, resp=responses(200, TokenPage), tags=[ADMIN], operation_id="listApiTokens"
)
def api_token_list():
    """Every user's API tokens, newest first (admins)."""
    query: TokenQuery = request.context.query
    rows = tokens.everyones(before=schemas.id_cursor(query.cursor), limit=query.limit + 1)
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    now = utcnow()
    return TokenPage(
        items=[_out(r, now) for r in rows],
        next_cursor=str(rows[-1].id) if more and rows else None,
    )


@bp.post("/admin/api-tokens/<int:token_id>/revoke")
@needs("tokens:admin")
@requires(Role.ADMIN)
@api.validate(
    headers=Idempotent,
    resp=responses(200, TokenOut, 404),
    tags=[ADMIN],
    operation_id="revokeApiToken",
)
def api_token_revoke(token_id: int):
    """Revoke anyone's token (admins): it is refused from the next call on. Revoking a
    revoked token changes nothing."""
    try:
        if token_id > schemas.MAX_ID:
            raise tokens.TokenError("no such token")
        row = tokens.revoke_any(current_user._get_current_object(), token_id)
        db.session.commit()
    except tokens.TokenError:
        db.session.rollback()
        return problems.problem(404, f"There is no API token {token_id}.")
    return _out(row, utcnow())

"""Personal API tokens (issue 17): made, listed and revoked by their owner, looked up on every
API call by their hash. Each acts with its owner's roles as they are at the time of the call,
never more: a token cannot outlive a role taken away, or an account deactivated."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from gateway.api import scopes as api_scopes
from gateway.audit import Actor, record
from gateway.extensions import db
from gateway.models import ApiToken, User
from gateway.models.base import utcnow

#: Every token starts with this, so a token pasted somewhere it should not be (a ticket, a
#: repository) is easy to recognise and to scan for.
TOKEN_PREFIX = "cpg_"  # noqa: S105  # nosec B105 - a marker, not a secret
#: 32 random bytes, 256 bits: as strong as the session ids (gateway.auth.sessions).
TOKEN_BYTES = 32
#: How many characters of the token the account page shows to tell tokens apart.
SHOWN_CHARS = len(TOKEN_PREFIX) + 6
#: The expiries an owner chooses from, in days. No token lives longer than a year, so a
#: forgotten one does not stay a way in for ever.
EXPIRY_DAYS = (7, 30, 90, 365)
MAX_NAME_CHARS = 80


class TokenError(ValueError):
    """A user-facing reason a token could not be made or revoked; ``field``: the form's field
    it belongs to."""

    def __init__(self, message: str, field: str = "name") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class NewToken:
    row: ApiToken
    #: The token itself: shown once, never stored.
    secret: str


def hash_of(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create(
    user: User,
    *,
    name: str,
    days: int,
    read_only: bool,
    scopes: Iterable[str] | None = None,
) -> NewToken:
    """A new token for ``user`` (in the current transaction; the caller commits).

    ``scopes``: the operations it is narrowed to (gateway.api.scopes); None or empty for every
    operation its owner's roles allow. Only scopes the owner's roles can use now are taken."""
    name = (name or "").strip()
    if not name:
        raise TokenError("Enter a name for the token, such as the system that will use it")
    if len(name) > MAX_NAME_CHARS:
        raise TokenError(f"The name must be {MAX_NAME_CHARS} characters or fewer")
    if days not in EXPIRY_DAYS:
        raise TokenError("Choose when the token expires", "expires")
    chosen = sorted(set(scopes or ()))
    unknown = [s for s in chosen if s not in api_scopes.SCOPES]
    if unknown:
        raise TokenError(f"There is no operation called {unknown[0]}", "scopes")
    refused = [s for s in chosen if not api_scopes.SCOPES[s].usable_by(user.roles)]
    if refused:
        raise TokenError(
            f"Your roles do not allow {refused[0]}: choose only what you can do", "scopes"
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    row = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_of(secret),
        prefix=secret[:SHOWN_CHARS],
        read_only=read_only,
        scopes=api_scopes.serialise(chosen) if chosen else None,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.session.add(row)
    db.session.flush()
    record(
        "user.api_token_created",
        actor=Actor.of(user),
        obj=("user", user.id),
        payload={
            "token_id": row.id,
            "name": row.name,
            "prefix": row.prefix,
            "read_only": row.read_only,
            "scopes": chosen or None,
            "expires_at": row.expires_at.isoformat(),
        },
    )
    return NewToken(row, secret)


def of_user(user: User) -> list[ApiToken]:
    """The user's tokens, newest first, revoked and expired ones included (for the record)."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke(user: User, token_id: int) -> ApiToken:
    """Revoke one of ``user``'s own tokens: it is refused from the next call on."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise TokenError("That token does not exist")
    return _revoke(row, user)


def revoke_any(admin: User, token_id: int) -> ApiToken:
    """An admin revokes anyone's token (a leaver's system, a token pasted somewhere it should
    not be). The caller checks the admin role (the admin page and the API, both
    ``requires(Role.ADMIN)``); the entry names the admin as actor and the owner as object."""
    row = db.session.get(ApiToken, token_id)
    if row is None:
        raise TokenError("That token does not exist")
    return _revoke(row, admin)


def _revoke(row: ApiToken, actor: User) -> ApiToken:
    if row.revoked_at is not None:
        return row  # a second click changes nothing
    row.revoked_at = utcnow()
    payload = {"token_id": row.id, "name": row.name, "prefix": row.prefix}
    if actor.id != row.user_id:
        payload["revoked_by_admin"] = True
    record(
        "user.api_token_revoked",
        actor=Actor.of(actor),
        obj=("user", row.user_id),
        payload=payload,
    )
    return row


def everyones(*, before: int | None = None, limit: int | None = None) -> list[ApiToken]:
    """Every user's tokens, newest first (the admin page and the admin API), revoked and
    expired ones included; ``before``: only tokens with a smaller id (a cursor)."""
    statement = select(ApiToken).order_by(ApiToken.id.desc())
    if before is not None:
        statement = statement.where(ApiToken.id < before)
    if limit is not None:
        statement = statement.limit(limit)
    return list(db.session.scalars(statement))


def authenticate(secret: str) -> ApiToken | None:
    """The live token ``secret`` names, with its active owner, or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_of(secret)))
    now = utcnow()
    if row is None or not row.usable_at(now) or not row.user.active:
        return None
    return row

"""Personal API tokens (issue 17): made, listed and revoked by their owner, looked up on every
API call by their hash. Each acts with its owner's roles as they are at the time of the call,
never more: a token cannot outlive a role taken away, or an account deactivated."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

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
    """A user-facing reason a token could not be made or revoked."""


@dataclass(frozen=True)
class NewToken:
    row: ApiToken
    #: The token itself: shown once, never stored.
    secret: str


def hash_of(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create(user: User, *, name: str, days: int, read_only: bool) -> NewToken:
    """A new token for ``user`` (in the current transaction; the caller commits)."""
    name = (name or "").strip()
    if not name:
        raise TokenError("Enter a name for the token, such as the system that will use it")
    if len(name) > MAX_NAME_CHARS:
        raise TokenError(f"The name must be {MAX_NAME_CHARS} characters or fewer")
    if days not in EXPIRY_DAYS:
        raise TokenError("Choose when the token expires")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    row = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_of(secret),
        prefix=secret[:SHOWN_CHARS],
        read_only=read_only,
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
    if row.revoked_at is not None:
        return row  # a second click changes nothing
    row.revoked_at = utcnow()
    record(
        "user.api_token_revoked",
        actor=Actor.of(user),
        obj=("user", user.id),
        payload={"token_id": row.id, "name": row.name, "prefix": row.prefix},
    )
    return row


def authenticate(secret: str) -> ApiToken | None:
    """The live token ``secret`` names, with its active owner, or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_of(secret)))
    now = utcnow()
    if row is None or not row.usable_at(now) or not row.user.active:
        return None
    return row

"""Personal API tokens (issue 17): a user's credentials for the JSON API, kept as hashes only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.extensions import db
from gateway.models.base import UTCDateTime, utcnow
from gateway.models.users import User


class ApiToken(db.Model):
    """One named token of one user. The token itself is shown once, when it is made; the row
    holds its SHA-256 (a 256-bit random secret needs no slow hash: nothing can be guessed from
    a fast one, and every API call looks it up) and the first characters, so its owner can tell
    their tokens apart."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    #: Hex SHA-256 of the whole token.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The token's first characters ("cpg_" and 6 more), shown on the account page.
    prefix: Mapped[str] = mapped_column(String(16))
    #: A read-only token reads; every write is refused with a 403.
    read_only: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: The scopes it is narrowed to, space-separated (gateway.api.scopes); None for a token
    #: that may call every operation its owner's roles allow.
    scopes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="joined")

    def usable_at(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix} of user {self.user_id}>"


class ApiIdempotencyKey(db.Model):
    """One ``Idempotency-Key`` a token sent with a POST, kept for 24 hours with the request's
    hash and, once it is answered, the answer: a retry gets that answer again and changes
    nothing (issue 17). The unique key is what makes two identical POSTs sent at once make one
    post: the second one's row cannot be written while the first one's exists."""

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (UniqueConstraint("token_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    #: Hex SHA-256 of the method, the path and the body (JSON in a canonical form).
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    #: The answer, once there is one; None while the first request is still being handled.
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: The answer's Content-Type, ETag and Location, as JSON.
    response_headers: Mapped[str | None] = mapped_column(Text)

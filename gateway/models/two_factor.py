"""Two-factor authentication for local accounts (issue 16): a user's TOTP secret, sealed at
rest, and their single-use recovery codes, stored hashed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db
from gateway.models.base import UTCDateTime, utcnow


class UserTwoFactor(db.Model):
    """A user's authenticator app. ``confirmed_at`` is empty while the enrolment waits for its
    first code: such a row signs nobody in. ``last_used_step`` is the TOTP time step of the last
    code accepted: a code for that step or an earlier one is refused (RFC 6238 section 5.2)."""

    __tablename__ = "user_two_factor"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    #: The base32 secret, sealed with GATEWAY_ENCRYPTION_KEYS and bound to this user
    #: (gateway.credentials.seal): a copy on another user's row does not open.
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<UserTwoFactor of user {self.user_id}>"


class RecoveryCode(db.Model):
    """One single-use recovery code, kept as an Argon2id hash only: shown once, at enrolment."""

    __tablename__ = "user_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<RecoveryCode {self.id} of user {self.user_id}>"

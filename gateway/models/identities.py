"""A gateway user's sign-in identity at an OpenID Connect provider (issue 16)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.extensions import db
from gateway.models.base import UTCDateTime, utcnow
from gateway.models.users import User


class UserIdentity(db.Model):
    """The provider's (issuer, subject) pair for a user: the one thing a single sign-on is
    matched by. An email address can be reassigned to someone else; the subject cannot.

    A row without a subject is an admin's pending link: the user's next single sign-on whose
    verified email is the user's own, before ``pending_until``, fills the subject in.
    """

    __tablename__ = "user_identities"
    __table_args__ = (
        UniqueConstraint("issuer", "subject", name="uq_user_identities_issuer_subject"),
        UniqueConstraint("user_id", "issuer", name="uq_user_identities_user_id_issuer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(500))
    #: OpenID Connect allows 255 ASCII characters.
    subject: Mapped[str | None] = mapped_column(String(255))
    #: The verified email of the last sign-in, to show admins what the provider calls them.
    email: Mapped[str | None] = mapped_column(String(254))
    pending_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    def __repr__(self) -> str:
        return f"<UserIdentity of user {self.user_id} at {self.issuer}>"

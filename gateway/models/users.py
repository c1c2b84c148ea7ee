"""Users and their roles."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models.base import UTCDateTime, utcnow


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped to end every session of this user (sign-out everywhere, an admin's "end sessions",
    # a password or role change): a signed cookie alone cannot be revoked.
    session_version: Mapped[int] = mapped_column(default=1)
    # Set by an admin's password reset: the one-time password they were given opens a single
    # session that can only set a new password (issue 20).
    password_must_change: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(r.role) for r in self.role_rows)

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    #: The server-side session this request belongs to (a UserSession id), set on sign-in and
    #: by the user loader; not a column.
    session_id = None  # str once set

    def get_id(self) -> str:
        # Flask-Login's "alternative token": the version in the cookie must match the row, and
        # the session it names must still exist (gateway.auth.sessions).
        return f"{self.id}:{self.session_version}:{self.session_id}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))

    user: Mapped[User] = relationship(back_populates="role_rows")


class UserSession(db.Model):
    """One signed-in session, named by a random id in the signed cookie and checked on every
    request: deleting the row ends that session at once, wherever its cookie has been copied
    (issue 20). ``users.session_version`` still ends every session of a user in one step."""

    __tablename__ = "user_sessions"

    #: secrets.token_urlsafe(32): 43 characters, 256 bits; only ever compared, never guessed.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<UserSession of user {self.user_id} from {self.created_at}>"

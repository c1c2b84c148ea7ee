"""Users and their roles."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint
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

    def get_id(self) -> str:
        # Flask-Login's "alternative token": the version in the cookie must match the row.
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))

    user: Mapped[User] = relationship(back_populates="role_rows")

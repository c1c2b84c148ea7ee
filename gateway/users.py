"""Creating users and changing their roles: one service for the CLI and the admin pages."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

from sqlalchemy import select

from gateway.audit import Actor, record
from gateway.auth.passwords import hash_password
from gateway.domain.passwords import password_problem
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import User, UserRole

# Deliberately loose (RFC 5321 is permissive); the point is to catch typos, not to validate.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: Generated passwords: 20 URL-safe characters, about 120 bits.
GENERATED_PASSWORD_BYTES = 15


class UserError(ValueError):
    """A clear, user-facing reason a user change was refused."""


def generate_password() -> str:
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)


def parse_roles(values: Iterable[str]) -> set[Role]:
    roles = set()
    for value in values:
        try:
            roles.add(Role.parse(value))
        except ValueError as exc:
            raise UserError(str(exc)) from None
    if not roles:
        raise UserError("Give the user at least one role.")
    return roles


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise UserError(f"{email or 'The email address'!r} is not a valid email address.")
    return email


def create_user(
    email: str,
    roles: Iterable[str],
    password: str,
    *,
    actor: Actor,
    display_name: str = "",
) -> User:
    """Add a user in the current transaction (the caller commits). Raises UserError."""
    email = normalise_email(email)
    parsed = parse_roles(roles)
    problem = password_problem(password, email=email)
    if problem:
        raise UserError(problem)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise UserError(f"A user with the email address {email} already exists.")
    user = User(
        email=email,
        display_name=display_name.strip() or email.split("@")[0],
        password_hash=hash_password(password),
        role_rows=[UserRole(role=r.value) for r in sorted(parsed)],
    )
    db.session.add(user)
    db.session.flush()
    record(
        "user.created",
        actor=actor,
        obj=("user", user.id),
        payload={"email": email, "roles": sorted(r.value for r in parsed)},
    )
    return user


def set_roles(user: User, roles: Iterable[str], *, actor: Actor) -> None:
    parsed = parse_roles(roles)
    before = sorted(r.value for r in user.roles)
    after = sorted(r.value for r in parsed)
    if before == after:
        return
    if actor.id == user.id and Role.ADMIN.value in before and Role.ADMIN.value not in after:
        raise UserError("You cannot remove your own admin role: ask another admin.")
    user.role_rows = [UserRole(role=r) for r in after]
    user.session_version += 1  # new roles take effect at the next sign-in, everywhere
    record(
        "user.roles_changed",
        actor=actor,
        obj=("user", user.id),
        payload={"before": before, "after": after},
    )


def end_sessions(user: User, *, actor: Actor) -> None:
    user.session_version += 1
    record("user.sessions_ended", actor=actor, obj=("user", user.id), payload={})


def set_active(user: User, active: bool, *, actor: Actor) -> None:
    if actor.id == user.id and not active:
        raise UserError("You cannot disable your own account.")
    if user.active == active:
        return
    user.active = active
    user.session_version += 1
    record(
        "user.enabled" if active else "user.disabled",
        actor=actor,
        obj=("user", user.id),
        payload={},
    )

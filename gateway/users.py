"""Creating users, changing their roles, disabling leavers and passwords: one service for the
CLI, the admin pages and the change-password page. Each change writes its audit entry in the
caller's transaction; each refusal raises UserError before anything is changed."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

from sqlalchemy import select

from gateway.audit import Actor, record
from gateway.auth import sessions
from gateway.auth.passwords import UNUSABLE_HASH, check_password, hash_password
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


class WrongPassword(UserError):
    """The current password given to change it was not right."""


def _refuse_own(user: User, actor: Actor, what: str) -> None:
    # Issue 20, finding 1: a change to one's own account through the admin pages needs a
    # second admin, so one stolen admin session cannot entrench itself.
    if actor.id is not None and actor.id == user.id:
        raise UserError(f"Another administrator must {what}.")


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
    _refuse_own(user, actor, "change your roles")
    parsed = parse_roles(roles)
    before = sorted(r.value for r in user.roles)
    after = sorted(r.value for r in parsed)
    if before == after:
        return
    # Rows of roles kept stay as they are: replacing them would insert ("officer") again
    # before deleting the old row, and the unique (user_id, role) constraint refuses that.
    kept = {row.role: row for row in user.role_rows}
    user.role_rows = [kept.get(r) or UserRole(role=r) for r in after]
    user.session_version += 1  # new roles take effect at the next sign-in, everywhere
    record(
        "user.roles_changed",
        actor=actor,
        obj=("user", user.id),
        payload={"before": before, "after": after},
    )


def _end_every_session(user: User) -> None:
    user.session_version += 1
    sessions.end_all(user)


def end_sessions(user: User, *, actor: Actor) -> None:
    _end_every_session(user)
    record("user.sessions_ended", actor=actor, obj=("user", user.id), payload={})


def set_active(user: User, active: bool, *, actor: Actor) -> None:
    """Deactivate a leaver (they cannot sign in, and every live session of theirs ends at
    once) or reactivate them."""
    _refuse_own(user, actor, "deactivate or reactivate your account")
    if user.active == active:
        return
    user.active = active
    _end_every_session(user)
    record(
        "user.enabled" if active else "user.disabled",
        actor=actor,
        obj=("user", user.id),
        payload={},
    )


def reset_password(user: User, *, actor: Actor) -> str:
    """Give ``user`` a generated one-time password and return it, to be shown to the admin once.

    Their old password stops working and every session of theirs ends. The one-time password
    opens one session, which can only set a new password: it is used up at that sign-in, so the
    admin who saw it cannot use it after the user has (issue 20).
    """
    _refuse_own(user, actor, "reset your password (to change it yourself, use Your password)")
    password = generate_password()
    user.password_hash = hash_password(password)
    user.password_must_change = True
    _end_every_session(user)
    record("user.password_reset", actor=actor, obj=("user", user.id), payload={})
    return password


def use_one_time_password(user: User) -> None:
    """The sign-in with an admin's one-time password: it cannot be used again."""
    user.password_hash = UNUSABLE_HASH


def change_password(user: User, current: str | None, new: str) -> int:
    """Set ``user``'s own new password, ending their other sessions and keeping this request's.
    ``current`` is checked unless the session was opened with a one-time password. Returns how
    many other sessions ended."""
    after_reset = user.password_must_change
    if not after_reset and not check_password(user.password_hash, current or ""):
        raise WrongPassword("Your current password is not right.")
    problem = password_problem(new, email=user.email)
    if problem:
        raise UserError(problem)
    user.password_hash = hash_password(new)
    user.password_must_change = False
    ended = sessions.end_others(user)
    record(
        "user.password_changed",
        actor=Actor.of(user),
        obj=("user", user.id),
        payload={"after_reset": after_reset, "other_sessions_ended": ended},
    )
    return ended

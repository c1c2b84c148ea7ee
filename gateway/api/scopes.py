"""What a token may be narrowed to (issue 17): a small, fixed set of scopes, each naming a
group of API operations and the roles that can use it at all.

A token made without scopes may call every operation its owner's roles allow; a token made
with some may call only the operations of those scopes, and still only while its owner holds a
role each operation needs (the route's own role check, gateway.security.requires, runs after
this one). So a token is always the intersection of its scopes and its owner's current roles:
a scope never gives a role, and a role taken away is taken from every token at once.

Every operation of the API declares its scope with :func:`needs`; gateway.api.auth refuses a
call whose operation is not in the token's scopes, and refuses (as a bug, loudly) any API
operation that declares none (tests/api/test_scopes.py walks every route).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from gateway.domain.roles import Role

F = TypeVar("F", bound=Callable[..., Any])
SCOPE_ATTR = "_api_scope"


@dataclass(frozen=True)
class Scope:
    name: str
    #: What it lets a token do, as the account page and the API reference say it.
    description: str
    #: Roles that can use it; empty means anyone signed in.
    roles: frozenset[Role]

    def usable_by(self, roles: Iterable[Role]) -> bool:
        return not self.roles or bool(self.roles & set(roles))


_WRITERS = frozenset({Role.OFFICER, Role.DUTY_OFFICER})
#: The scopes, in the order the account page lists them.
SCOPES: dict[str, Scope] = {
    s.name: s
    for s in (
        Scope(
            "posts:read",
            "Read posts, their images and deliveries, and the schedule",
            frozenset(),
        ),
        Scope(
            "posts:write",
            "Draft, edit, submit and cancel posts, add and remove their images, and check a "
            "text against the guardrails",
            _WRITERS,
        ),
        Scope(
            "posts:approve", "Approve or reject other officers' posts", frozenset({Role.OFFICER})
        ),
        Scope("emergency:send", "Send emergency posts", frozenset({Role.DUTY_OFFICER})),
        Scope("channels:read", "Read the channels' health", frozenset()),
        Scope(
            "audit:read",
            "Read the publish log, its signed checkpoints and exports",
            frozenset({Role.AUDITOR, Role.MONITORING_OFFICER}),
        ),
        Scope("tokens:admin", "List and revoke everyone's API tokens", frozenset({Role.ADMIN})),
        Scope(
            "webhooks:read",
            "Read the webhook endpoints and their messages",
            frozenset({Role.ADMIN}),
        ),
    )
}
#: Scopes whose operations change nothing: what a read-only token keeps.
READ_SCOPES = frozenset({"posts:read", "channels:read", "audit:read", "webhooks:read"})


def needs(name: str) -> Callable[[F], F]:
    """Declare the scope an API operation belongs to. An unknown name fails at import."""
    if name not in SCOPES:
        raise ValueError(f"unknown API scope {name!r}: add it to gateway.api.scopes.SCOPES")

    def decorator(view: F) -> F:
        setattr(view, SCOPE_ATTR, name)
        return view

    return decorator


def scope_of(view: Callable[..., Any] | None) -> str | None:
    return getattr(view, SCOPE_ATTR, None) if view is not None else None


def offered(roles: Iterable[Role]) -> list[Scope]:
    """The scopes someone with ``roles`` can give a token (the account page's choices)."""
    held = set(roles)
    return [s for s in SCOPES.values() if s.usable_by(held)]


def parse(stored: str | None) -> frozenset[str] | None:
    """A token's stored scopes (space-separated); None for a token not narrowed."""
    if stored is None:
        return None
    return frozenset(stored.split())


def serialise(names: Iterable[str]) -> str:
    return " ".join(n for n in SCOPES if n in set(names))

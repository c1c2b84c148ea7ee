"""A connection started and waiting for the platform's callback (issue 15), for X and
Facebook alike: what the callback needs (the PKCE code verifier, who started it, where the
platform answers) kept in Redis under the OAuth ``state`` for ten minutes, and taken once
(GETDEL), only by the session that started it. A replayed callback, a forged or expired state
and another admin's session are each refused before the platform is asked for a token.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict
from typing import Any, TypeVar

#: As long as a person needs to sign in at the platform (with its two-factor step), short
#: enough that a forgotten tab's state soon stops working.
STATE_TTL_SECONDS = 10 * 60

T = TypeVar("T")


def _redis():  # noqa: ANN202
    from gateway.queue import redis_connection

    return redis_connection()


def training_url(url: str, base_url: str | None, hosts: tuple[str, ...]) -> str:
    """The platform's consent page, or a training channel's fake platform's own."""
    if base_url:
        for host in hosts:
            if url.startswith(host + "/"):
                return base_url.rstrip("/") + url[len(host) :]
    return url


def keep(key: str, state: str, pending: Any) -> None:
    """Keep ``pending`` (a dataclass with ``user_id`` and ``session_id``) under ``state``."""
    _redis().set(key.format(state=state), json.dumps(asdict(pending)), ex=STATE_TTL_SECONDS)


def take(key: str, state: str, user_id: int, session_id: str | None, kind: type[T], name: str) -> T:
    """The connection ``state`` names, once; ConnectRefused (saying so, in ``name``'s words) if
    it is unknown, used, expired, or another session's."""
    from gateway.oauth.x import ConnectRefused

    raw = _redis().getdel(key.format(state=state)) if state else None
    if raw is None:
        raise ConnectRefused(
            f"This answer from {name} does not match a connection started here, or it was "
            "already used. Nothing was changed: start again from the channels page."
        )
    pending = kind(**json.loads(raw))
    if pending.user_id != user_id or not secrets.compare_digest(  # type: ignore[attr-defined]
        pending.session_id,  # type: ignore[attr-defined]
        session_id or "",
    ):
        raise ConnectRefused(
            f"This answer from {name} belongs to a connection started in another session. "
            "Nothing was changed: start again from the channels page."
        )
    return pending

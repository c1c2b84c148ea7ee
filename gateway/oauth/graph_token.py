"""What Graph says about a Facebook or Instagram channel's token (issue 15), from ``debug_token``.

A token entered by hand could be anything an admin copied from Graph API Explorer: the Page's
own token (what publishing needs), or the person's *user* token, which answers ``GET /me`` and
so passes a cheap read, and then fails every post with "(#200) Unpublished posts must be posted
to a page as the page itself" (postiz-app PR #1881). ``debug_token``, asked with the app access
token ``{app-id}|{app-secret}`` through facebook-sdk (``GraphAPI.debug_access_token``), says
which it is, whether it is still valid, when it expires (``expires_at``, 0 for never) and when
the app's access to the person's data does (``data_access_expires_at``), who granted it
(``user_id``) and the permissions granted (``scopes``).

- :func:`read` and :func:`problem` are pure: the answer's fields, and why such a token cannot
  publish to the channel (None when it can).
- :func:`inspect` asks Graph; :func:`store` keeps what it said on the channel (its token health,
  shown on the channel's page; the expiry feeds the 7-day and 1-day reminders).

Only a definite answer about the token marks a channel: a ``debug_token`` call that fails
(Graph not answering, or refusing the app token because the app's secret is wrong) says nothing
about the channel's token, so the daily check carries on to its cheap read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: The platforms whose tokens Graph can describe.
GRAPH_PLATFORMS = ("facebook", "instagram")
#: What publishing needs on each (the gateway also reads posts back, but a missing read
#: permission is found by the look-up's own error; a missing publish permission fails every
#: post): Pages API "Posts" and Instagram Platform "Content Publishing", "Requirements".
REQUIRED_SCOPES = {
    "facebook": ("pages_manage_posts",),
    "instagram": ("instagram_basic", "instagram_content_publish"),
}
PAGE = "PAGE"
MAX_REASON_CHARS = 300


@dataclass(frozen=True)
class TokenInfo:
    """The fields of a ``debug_token`` answer the gateway uses; never the token itself."""

    is_valid: bool
    type: str  # "PAGE", "USER", "APP", "SYSTEM_USER" or "" when Graph did not say
    expires_at: datetime | None  # None: never (Graph's 0)
    data_access_expires_at: datetime | None
    user_id: str  # who granted it (an app-scoped user id)
    profile_id: str  # a page token's Page
    scopes: tuple[str, ...]
    error: str  # Graph's reason when it is not valid

    @property
    def scope_text(self) -> str:
        return " ".join(self.scopes)


def _time(value: Any) -> datetime | None:
    try:
        seconds = int(value or 0)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


def read(data: Mapping[str, Any]) -> TokenInfo:
    """The ``data`` object of a ``debug_token`` answer (Graph API reference, "Debug Token")."""
    error = data.get("error")
    message = ""
    if isinstance(error, Mapping):
        message = str(error.get("message") or "")
        if error.get("subcode"):
            message = f"{message} (subcode {error['subcode']})".strip()
    scopes = data.get("scopes")
    return TokenInfo(
        is_valid=data.get("is_valid") is True,
        type=str(data.get("type") or "").upper(),
        expires_at=_time(data.get("expires_at")),
        data_access_expires_at=_time(data.get("data_access_expires_at")),
        user_id=str(data.get("user_id") or ""),
        profile_id=str(data.get("profile_id") or ""),
        scopes=tuple(str(s) for s in scopes) if isinstance(scopes, list) else (),
        error=message[:MAX_REASON_CHARS],
    )


def problem(info: TokenInfo, platform: str, account_id: str, now: datetime) -> str | None:
    """Why this token cannot publish to the channel ("needs reconnecting"), or None."""
    if not info.is_valid:
        return f"Facebook says the token is no longer valid: {info.error or 'no reason given'}"
    if info.expires_at is not None and info.expires_at <= now:
        return "Facebook says the token has expired"
    if info.type and info.type != PAGE:
        return (
            f"the token is a {info.type.lower()} token, not the Page's own token: posts to a "
            "Page must be made as the Page itself. Connect with Facebook, or enter the Page's "
            "token"
        )
    if platform == "facebook" and info.profile_id and info.profile_id != account_id:
        return f"the token is another Page's (id {info.profile_id}), not this channel's"
    missing = [s for s in REQUIRED_SCOPES.get(platform, ()) if s not in info.scopes]
    if missing:
        return f"the token was not granted {', '.join(missing)}"
    return None


def app_credentials() -> tuple[str, str] | None:
    """The council's Meta app id and secret, if the installation has them."""
    from gateway.oauth.apps import credentials

    app = credentials("facebook")
    return (app.client_id, app.secret) if app.client_id and app.secret else None


def inspect(
    config: Any,
    *,
    timeout: float,
    allowed_hosts: tuple[str, ...],
    app: tuple[str, str] | None = None,
) -> TokenInfo | None:
    """Ask Graph about ``config``'s token (a ChannelConfig), with ``app`` (else the
    installation's Meta app). None when there is no app to ask with; raises PublishError when
    Graph does not answer the call itself."""
    from gateway.platforms import adapter_for

    app = app or app_credentials()
    if app is None or config.platform not in GRAPH_PLATFORMS:
        return None
    with adapter_for(config, timeout=timeout, allowed_hosts=allowed_hosts) as adapter:
        return read(adapter.debug_token(*app))


def store(channel: Any, info: TokenInfo) -> None:
    """Keep what Graph said on the channel row (the caller commits)."""
    for name, value in values(info).items():
        setattr(channel, name, value)


def values(info: TokenInfo) -> dict[str, Any]:
    """The same, as the values of an UPDATE."""
    return {
        "token_type": info.type,
        "token_user_id": info.user_id or None,
        "token_expires_at": info.expires_at,
        "data_access_expires_at": info.data_access_expires_at,
        "token_scopes": info.scope_text[:500],
    }

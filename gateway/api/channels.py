"""Channels' health in the JSON API, read-only (issue 17): whether each channel can publish,
whether it needs reconnecting, and when its access token expires where the platform says.

Never a credential: the stored ones are encrypted (gateway.credentials) and this module does
not read them; only whether there are any. The reason a channel needs reconnecting is shown to
admins, as the channel pages are; everyone signed in sees that it does, as the dashboard
shows it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask import abort
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy import select

from gateway.api import problems, schemas
from gateway.api.scopes import needs
from gateway.api.spec import api, responses
from gateway.api.views import bp
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import Channel
from gateway.security import signed_in

CHANNELS = "Channels"
ChannelStatus = Literal["working", "needs_reconnecting", "not_connected", "disabled"]


class ChannelHealth(BaseModel):
    id: int
    platform: str
    display_name: str
    language: str = Field(description='"" both languages, "cy" Welsh only, "en" English only.')
    enabled: bool
    status: ChannelStatus = Field(  # type: ignore[valid-type]
        description="working; needs_reconnecting (an admin must reconnect it before it can "
        "publish); not_connected (no credentials yet); disabled."
    )
    needs_reconnecting: bool
    connected_with: Literal["by_hand", "oauth2", "facebook_login", "none"]
    token_expires_at: datetime | None = Field(
        description="When the stored access token expires, where the platform says (X)."
    )
    health_checked_at: datetime | None = Field(description="The daily token check's last run.")
    problem: str | None = Field(
        description="What the last check found wrong (admins only; null for other roles)."
    )


class ChannelList(BaseModel):
    items: list[ChannelHealth]


def _status(channel: Channel) -> str:
    if not channel.enabled:
        return "disabled"
    if channel.needs_reauthorisation:
        return "needs_reconnecting"
    if channel.credentials_encrypted is None:
        return "not_connected"
    return "working"


def _connected_with(channel: Channel) -> str:
    if channel.credentials_encrypted is None:
        return "none"
    return {"oauth2": "oauth2", "facebook_login": "facebook_login"}.get(
        channel.auth_method, "by_hand"
    )


def health_of(channel: Channel) -> ChannelHealth:
    return ChannelHealth(
        id=channel.id,
        platform=channel.platform,
        display_name=channel.display_name,
        language=channel.language or "",
        enabled=channel.enabled,
        status=_status(channel),
        needs_reconnecting=bool(channel.needs_reauthorisation),
        connected_with=_connected_with(channel),
        token_expires_at=channel.token_expires_at,
        health_checked_at=channel.health_checked_at,
        problem=channel.health_problem if current_user.has_role(Role.ADMIN) else None,
    )


@bp.get("/channels")
@needs("channels:read")
@signed_in
@api.validate(resp=responses(200, ChannelList), tags=[CHANNELS], operation_id="listChannels")
def channel_list():
    """Every channel, by name, with its health."""
    rows = db.session.scalars(select(Channel).order_by(Channel.display_name, Channel.id))
    return ChannelList(items=[health_of(c) for c in rows])


@bp.get("/channels/<int:channel_id>")
@needs("channels:read")
@signed_in
@api.validate(resp=responses(200, ChannelHealth, 404), tags=[CHANNELS], operation_id="readChannel")
def channel_read(channel_id: int):
    """One channel's health."""
    channel = db.session.get(Channel, channel_id) if channel_id <= schemas.MAX_ID else None
    if channel is None:
        abort(problems.problem(404, f"There is no channel {channel_id}."))
    return health_of(channel)

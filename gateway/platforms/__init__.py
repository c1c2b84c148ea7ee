"""Platform adapters: one thin adapter per platform over its real client library.

    from gateway.platforms import adapter_for, ChannelConfig, DeliveryRequest
    with adapter_for(channel) as publisher:
        ref = publisher.publish(request)

Every failure is one of the PublishError subclasses below (see ``errors`` for what the
publish job should do with each). No Flask, SQLAlchemy or RQ import here.
"""

from __future__ import annotations

from collections.abc import Collection

from gateway.platforms.base import (
    DEFAULT_TIMEOUT_SECONDS,
    PLATFORMS,
    ChannelConfig,
    DeliveryRequest,
    MediaItem,
    Platform,
    PostRef,
    Publisher,
)
from gateway.platforms.bluesky import BlueskyPublisher
from gateway.platforms.errors import (
    LookupIncomplete,
    NeedsReauthorisation,
    OutcomeUnknown,
    PublishError,
    QuotaExceeded,
    RateLimited,
    Rejected,
    Retryable,
    RetryIfAbsent,
)
from gateway.platforms.graph import FacebookPublisher, InstagramPublisher
from gateway.platforms.mastodon import MastodonPublisher
from gateway.platforms.urls import is_public_url
from gateway.platforms.x import XPublisher

__all__ = [
    "BlueskyPublisher",
    "DEFAULT_TIMEOUT_SECONDS",
    "PLATFORMS",
    "ChannelConfig",
    "DeliveryRequest",
    "FacebookPublisher",
    "InstagramPublisher",
    "LookupIncomplete",
    "MastodonPublisher",
    "MediaItem",
    "NeedsReauthorisation",
    "OutcomeUnknown",
    "Platform",
    "PostRef",
    "PublishError",
    "Publisher",
    "QuotaExceeded",
    "RateLimited",
    "Rejected",
    "Retryable",
    "RetryIfAbsent",
    "XPublisher",
    "adapter_for",
    "is_public_url",
]


def adapter_for(
    channel: ChannelConfig,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    allowed_hosts: Collection[str] = (),
) -> Publisher:
    """The adapter for ``channel``'s platform.

    ``allowed_hosts`` lets image URLs on those hosts through the public-address check (only
    for the fake platform in tests and training). Raises NeedsReauthorisation when the channel
    lacks a credential its platform needs, so a bad channel fails when it is scheduled.
    """
    if channel.platform == "x":
        return XPublisher(channel, timeout=timeout, allowed_hosts=allowed_hosts)
    if channel.platform == "facebook":
        return FacebookPublisher(channel, timeout=timeout, allowed_hosts=allowed_hosts)
    if channel.platform == "instagram":
        return InstagramPublisher(channel, timeout=timeout, allowed_hosts=allowed_hosts)
    if channel.platform == "bluesky":
        return BlueskyPublisher(channel, timeout=timeout, allowed_hosts=allowed_hosts)
    if channel.platform == "mastodon":
        return MastodonPublisher(channel, timeout=timeout, allowed_hosts=allowed_hosts)
    raise ValueError(f"unknown platform {channel.platform!r}; expected one of {PLATFORMS}")

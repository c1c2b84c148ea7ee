"""The installation's bilingual setting as the app sees it (issue 18; gateway.domain.bilingual
holds the rules)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from flask import current_app

from gateway.domain import bilingual
from gateway.domain.guardrails.model import ImageToCheck

if TYPE_CHECKING:
    from gateway.models import Channel


def settings() -> bilingual.Settings:
    """GATEWAY_BILINGUAL and GATEWAY_BILINGUAL_LAYOUT, as loaded (gateway.settings)."""
    config = current_app.config
    return bilingual.parse(config.get("BILINGUAL") or "off", config.get("BILINGUAL_LAYOUT"))


def enabled() -> bool:
    """Whether new posts are written in Welsh and English."""
    return settings().enabled


def plan_for(
    channel: Channel,
    welsh: str,
    english: str,
    images: Sequence[tuple[ImageToCheck, str, str]] = (),
) -> tuple[str, ...]:
    """The deliveries ``channel`` gets for a bilingual post: by its language, its own layout
    (or the installation's) and its own limits where its server sets them (a Mastodon
    instance's character limit, Channel.limits), not the platform's defaults."""
    return bilingual.plan(
        channel.language,
        channel.platform,
        welsh,
        english,
        settings(),
        images,
        limits=channel.limits,
        channel_layout=channel.bilingual_layout,
    )

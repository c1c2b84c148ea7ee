"""The installation's bilingual setting as the app sees it (issue 18; gateway.domain.bilingual
holds the rules)."""

from __future__ import annotations

from flask import current_app

from gateway.domain import bilingual


def settings() -> bilingual.Settings:
    """GATEWAY_BILINGUAL and GATEWAY_BILINGUAL_LAYOUT, as loaded (gateway.settings)."""
    config = current_app.config
    return bilingual.parse(config.get("BILINGUAL") or "off", config.get("BILINGUAL_LAYOUT"))


def enabled() -> bool:
    """Whether new posts are written in Welsh and English."""
    return settings().enabled

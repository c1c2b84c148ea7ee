"""A channel: one council account on one platform."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db
from gateway.models.base import UTCDateTime, utcnow

PLATFORMS = ("x", "facebook", "instagram", "bluesky", "mastodon")


class Channel(db.Model):
    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("platform", "external_account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    display_name: Mapped[str] = mapped_column(String(120))
    external_account_id: Mapped[str] = mapped_column(String(120))
    # AES-GCM ciphertext bound to this row's id (gateway.security.credentials): never plain.
    credentials_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Where the platform's API answers; None means the platform's real address. A council can
    # point a channel at the fake platform for training (issue 5).
    base_url: Mapped[str | None] = mapped_column(String(500))
    enabled: Mapped[bool] = mapped_column(default=True)
    needs_reauthorisation: Mapped[bool] = mapped_column(default=False)
    # Which language it takes when the installation publishes in Welsh and English (issue 18,
    # gateway.domain.bilingual): "" both, "cy" Welsh only, "en" English only.
    language: Mapped[str] = mapped_column(String(8), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The limits the platform's server sets for this account, as JSON, where they differ by
    # server (issue 21: a Mastodon instance's max_characters, characters_reserved_per_url,
    # max_media_attachments, description_limit), read when the channel is connected and at
    # each "Test the connection"; None where the platform's are fixed.
    platform_limits: Mapped[str | None] = mapped_column(Text)

    @property
    def limits(self) -> dict[str, int] | None:
        """The server's limits for this channel (see ``platform_limits``), or None."""
        if not self.platform_limits:
            return None
        try:
            value = json.loads(self.platform_limits)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

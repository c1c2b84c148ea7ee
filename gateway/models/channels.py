"""A channel: one council account on one platform."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, Text, UniqueConstraint
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
    # How a channel for both languages gets them (gateway.domain.bilingual.CHANNEL_LAYOUTS):
    # "" as the installation is set, "cy-en"/"en-cy" one bilingual post in that order where it
    # fits, "separate" always two posts at the same moment.
    bilingual_layout: Mapped[str] = mapped_column(String(20), default="", server_default="")
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

    # How the credentials were obtained (issue 15): "" pasted by hand (OAuth 1.0a keys or a
    # page token), "oauth2" by "Connect with X" (an access token that expires and a refresh
    # token). The tokens themselves are only ever in credentials_encrypted.
    auth_method: Mapped[str] = mapped_column(String(20), default="", server_default="")
    # When the stored access token expires (X: two hours after it was issued), if known.
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The scopes the platform says it granted, space-separated, as it returned them.
    token_scopes: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # Who granted the current tokens (the admin who pressed "Connect"); no foreign key, so a
    # channel keeps the id of a user who has since left (their row stays, deactivated).
    granted_by_id: Mapped[int | None] = mapped_column(Integer)
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bumped by every change of the stored tokens: a refresh writes only over the version it
    # read, so two workers can never both store a refresh (gateway.oauth.x).
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The daily token check (gateway.oauth.health): when it last ran, and what is wrong, if
    # anything (why it needs reconnecting, or that the platform did not answer).
    health_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    health_problem: Mapped[str | None] = mapped_column(String(500))
    # The last expiry reminder sent (gateway.oauth.health): "<expiry>/<7d|1d>", so each goes
    # once for each expiry.
    expiry_reminded: Mapped[str | None] = mapped_column(String(60))
    # What Graph's debug_token said of a Facebook or Instagram token (gateway.oauth.
    # graph_token): its type ("PAGE", "USER"...; "" not asked), who granted it (their
    # app-scoped user id at the platform), and when the app's access to their data ends.
    token_type: Mapped[str] = mapped_column(String(20), default="", server_default="")
    token_user_id: Mapped[str | None] = mapped_column(String(64))
    data_access_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

"""The council's own app on a platform (issue 15): the X app's OAuth 2.0 client and the Meta
app that "Connect with X" and "Connect with Facebook" sign in with, one per platform per
installation, set by an admin (gateway.oauth.apps)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db
from gateway.models.base import UTCDateTime, utcnow


class PlatformApp(db.Model):
    __tablename__ = "platform_apps"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20), unique=True)  # "x" or "facebook"
    # The app's public id (X: the OAuth 2.0 Client ID; Meta: the App ID): not a secret.
    client_id: Mapped[str] = mapped_column(String(200))
    # The app's secret, AES-256-GCM bound to the platform (gateway.credentials.seal); None for
    # an X public client, which has none.
    secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_by_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

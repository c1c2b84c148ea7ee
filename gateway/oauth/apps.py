"""The council's own apps on X and Meta (issue 15): the id and secret "Connect with X" and
"Connect with Facebook" sign in with (and that refresh X tokens and ask Graph's debug_token).

One per platform per installation, set on Admin, Platform apps (gateway.admin.platform_apps)
or by the settings ``GATEWAY_X_CLIENT_ID`` / ``GATEWAY_X_CLIENT_SECRET`` and
``GATEWAY_FACEBOOK_APP_ID`` / ``GATEWAY_FACEBOOK_APP_SECRET``. **The admin form wins**: an app
set there is used whole (its id with its own secret, never mixed with a setting's), and the
settings are the fallback when the form holds none (so ``gateway up``'s demo apps step aside
as soon as an admin sets the council's own). The secret is sealed with the credential keys
(AES-256-GCM, bound to the platform), re-sealed by ``gateway keys rotate``, never shown back
(at most its last four characters) and never logged.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from gateway.credentials import CredentialsError, needs_rotation, seal, unseal
from gateway.extensions import db
from gateway.models import PlatformApp
from gateway.models.base import utcnow

#: platform -> (its setting for the id, its setting for the secret), as gateway.settings names
#: them (without the GATEWAY_ prefix).
SETTINGS = {
    "x": ("X_CLIENT_ID", "X_CLIENT_SECRET"),
    "facebook": ("FACEBOOK_APP_ID", "FACEBOOK_APP_SECRET"),
}
NAMES = {"x": "X", "facebook": "Meta (Facebook and Instagram)"}
#: How much of a secret the admin page shows, to tell two apart: never more.
SHOWN_SECRET_CHARS = 4


@dataclass(frozen=True)
class AppCredentials:
    """An app's id and secret, and where they came from ("form", "settings" or "")."""

    client_id: str | None
    secret: str | None
    source: str

    def __repr__(self) -> str:  # never the secret
        return f"AppCredentials(client_id={self.client_id!r}, source={self.source!r})"


def _aad(platform: str) -> bytes:
    return f"gateway/platform_app/{platform}".encode()


def _row(platform: str) -> PlatformApp | None:
    return db.session.scalar(select(PlatformApp).where(PlatformApp.platform == platform))


def _secret_of(row: PlatformApp) -> str | None:
    if row.secret_encrypted is None:
        return None
    return unseal(_aad(row.platform), row.secret_encrypted).decode()


def credentials(platform: str) -> AppCredentials:
    """The app to use for ``platform``: the admin form's, else the settings', else none."""
    row = _row(platform)
    if row is not None and row.client_id:
        try:
            secret = _secret_of(row)
        except CredentialsError:
            # A secret sealed with a key since removed: the app cannot be used until an admin
            # enters the secret again (the page says so).
            return AppCredentials(row.client_id, None, "form")
        return AppCredentials(row.client_id, secret, "form")
    id_name, secret_name = SETTINGS[platform]
    client_id = current_app.config.get(id_name)
    secret = current_app.config.get(secret_name)
    if client_id:
        return AppCredentials(str(client_id), str(secret) if secret else None, "settings")
    return AppCredentials(None, None, "")


def secret_hint(platform: str) -> str:
    """What the admin page says of the form's secret: "Not set", "Set, ending …abcd", or that
    it cannot be read. Never the secret."""
    row = _row(platform)
    if row is None or row.secret_encrypted is None:
        return "Not set"
    try:
        secret = _secret_of(row) or ""
    except CredentialsError:
        return "Set, but it cannot be read with the current keys: enter it again"
    if len(secret) <= SHOWN_SECRET_CHARS * 3:
        return "Set"  # too short to show any of it
    return f"Set, ending …{secret[-SHOWN_SECRET_CHARS:]}"


def stored(platform: str) -> PlatformApp | None:
    return _row(platform)


def save(platform: str, client_id: str, secret: str | None, user_id: int | None) -> str:
    """Set the form's app for ``platform``; ``secret`` None keeps the stored one, unless the id
    changed (another app's secret would not belong to it). Returns what became of the secret:
    "replaced", "kept", "removed" or "none". The caller logs and commits."""
    row = _row(platform)
    if row is None:
        row = PlatformApp(platform=platform, client_id=client_id)
        db.session.add(row)
    had_secret = row.secret_encrypted is not None
    other_app = bool(row.client_id) and row.client_id != client_id
    row.client_id = client_id
    row.updated_by_id = user_id
    row.updated_at = utcnow()
    if secret is not None:
        row.secret_encrypted = seal(_aad(platform), secret.encode())
        return "replaced"
    if other_app and had_secret:
        row.secret_encrypted = None
        return "removed"
    return "kept" if had_secret else "none"


def remove(platform: str) -> bool:
    """Forget the form's app (the settings apply again). True if there was one."""
    row = _row(platform)
    if row is None:
        return False
    db.session.delete(row)
    return True


def rotate_secrets() -> int:
    """Re-seal every stored app secret with the newest key (``gateway keys rotate``)."""
    changed = 0
    for row in db.session.scalars(select(PlatformApp)):
        if row.secret_encrypted is not None and needs_rotation(row.secret_encrypted):
            plain = unseal(_aad(row.platform), row.secret_encrypted)
            row.secret_encrypted = seal(_aad(row.platform), plain)
            changed += 1
    return changed

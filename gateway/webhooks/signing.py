"""Signing secrets and signatures, per the Standard Webhooks specification (issue 17).

A secret is 32 random bytes, given to the admin once as ``whsec_`` and their base64, and kept
encrypted with GATEWAY_ENCRYPTION_KEYS (AES-256-GCM, bound to its endpoint's row, as channel
credentials are: gateway.credentials). Each request carries ``webhook-id``,
``webhook-timestamp`` (Unix seconds, the time of the attempt) and ``webhook-signature``:
``v1,`` and the base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}``. The signature is made by
the ``standardwebhooks`` package, the specification's own reference library, so a receiver
using any Standard Webhooks library (or the ten lines in docs/api.md) checks it.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook

from gateway.credentials import seal, unseal

SECRET_PREFIX = "whsec_"  # noqa: S105 # nosec B105 - the format's prefix, not a secret
#: The specification asks for 24 to 64 bytes; 32 is the HMAC-SHA256 key size.
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _aad(endpoint_id: int) -> bytes:
    return f"gateway/webhook-endpoint/{int(endpoint_id)}".encode()


def encrypt_secret(endpoint_id: int, secret: str) -> bytes:
    return seal(_aad(endpoint_id), secret.encode())


def decrypt_secret(endpoint_id: int, blob: bytes) -> str:
    return unseal(_aad(endpoint_id), blob).decode()


def signed_headers(secret: str, message_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


def reencrypt_all() -> int:
    """Re-seal every endpoint's secret with the newest key (``gateway keys rotate``); the
    secret itself stays the same, so receivers change nothing. Returns how many changed."""
    from sqlalchemy import select

    from gateway.credentials import needs_rotation
    from gateway.extensions import db
    from gateway.models import WebhookEndpoint

    changed = 0
    for endpoint in db.session.scalars(select(WebhookEndpoint)):
        if endpoint.secret_encrypted and needs_rotation(endpoint.secret_encrypted):
            secret = decrypt_secret(endpoint.id, endpoint.secret_encrypted)
            endpoint.secret_encrypted = encrypt_secret(endpoint.id, secret)
            changed += 1
    return changed

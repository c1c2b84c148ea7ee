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


def _aad(endpoint_id: int, previous: bool = False) -> bytes:
    # The old secret kept after a rotation is sealed for its own purpose: a copy of one column
    # into the other does not decrypt, so nobody with the database alone can swap them.
    return f"gateway/webhook-endpoint/{int(endpoint_id)}{'/previous' if previous else ''}".encode()


def encrypt_secret(endpoint_id: int, secret: str, *, previous: bool = False) -> bytes:
    return seal(_aad(endpoint_id, previous), secret.encode())


def decrypt_secret(endpoint_id: int, blob: bytes, *, previous: bool = False) -> str:
    return unseal(_aad(endpoint_id, previous), blob).decode()


def signed_headers(
    secret: str | list[str], message_id: str, at: datetime, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt. With several secrets (the new one
    and, for a while after a rotation, the old), one signature each, space-separated, newest
    first: the specification's way to rotate, and a receiver on either secret accepts it."""
    secrets_ = [secret] if isinstance(secret, str) else secret
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(Webhook(s).sign(message_id, at, body) for s in secrets_),
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
        old = endpoint.previous_secret_encrypted
        if old and needs_rotation(old):
            secret = decrypt_secret(endpoint.id, old, previous=True)
            endpoint.previous_secret_encrypted = encrypt_secret(endpoint.id, secret, previous=True)
            changed += 1
    return changed

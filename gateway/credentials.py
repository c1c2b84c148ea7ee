"""Platform credentials encrypted at rest, bound to their channel (issue 5).

AES-256-GCM with the channel's id as associated data: a ciphertext copied onto another
channel's row does not decrypt. Keys come from GATEWAY_ENCRYPTION_KEYS, newest first; each
ciphertext names the key it was made with (a short fingerprint), so old rows still decrypt
after a new key is added, and ``rotate_all`` re-encrypts every row with the newest key.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

#: Bumped if the format ever changes, so old rows can still be read.
FORMAT_VERSION = b"\x01"
NONCE_BYTES = 12  # 96-bit nonces, as NIST SP 800-38D recommends for GCM
KEY_ID_BYTES = 4


class CredentialsError(RuntimeError):
    """The credentials cannot be read: wrong channel, unknown key, or tampered."""


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"gateway-credentials-key-id" + key).digest()[:KEY_ID_BYTES]


def _aad(channel_id: int) -> bytes:
    return f"gateway/channel/{int(channel_id)}".encode()


def _keys(keys: Sequence[bytes] | None) -> Sequence[bytes]:
    return keys if keys is not None else current_app.config["ENCRYPTION_KEYS"]


def seal(aad: bytes, plaintext: bytes, *, keys: Sequence[bytes] | None = None) -> bytes:
    """AES-256-GCM with the newest key, bound to ``aad`` (what the secret belongs to): the
    format every secret the gateway keeps at rest uses (channel credentials, TOTP secrets)."""
    key = _keys(keys)[0]
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext, aad)
    return FORMAT_VERSION + _key_id(key) + nonce + sealed


def unseal(aad: bytes, blob: bytes, *, keys: Sequence[bytes] | None = None) -> bytes:
    """The plaintext of :func:`seal`; CredentialsError if ``aad`` is not the one it was sealed
    with, the key is gone, or the blob was altered."""
    blob = bytes(blob)
    if not blob or blob[:1] != FORMAT_VERSION:
        raise CredentialsError("the stored credentials are in an unknown format")
    key_id = blob[1 : 1 + KEY_ID_BYTES]
    nonce = blob[1 + KEY_ID_BYTES : 1 + KEY_ID_BYTES + NONCE_BYTES]
    sealed = blob[1 + KEY_ID_BYTES + NONCE_BYTES :]
    for key in _keys(keys):
        if _key_id(key) == key_id:
            try:
                return AESGCM(key).decrypt(nonce, sealed, aad)
            except InvalidTag:
                raise CredentialsError(
                    "the stored credentials do not belong to this channel or were altered"
                ) from None
    raise CredentialsError(
        "the stored credentials were encrypted with a key that is no longer in "
        "GATEWAY_ENCRYPTION_KEYS"
    )


def encrypt_credentials(
    channel_id: int, credentials: Mapping[str, str], *, keys: Sequence[bytes] | None = None
) -> bytes:
    plaintext = json.dumps(dict(credentials), sort_keys=True).encode()
    return seal(_aad(channel_id), plaintext, keys=keys)


def decrypt_credentials(
    channel_id: int, blob: bytes, *, keys: Sequence[bytes] | None = None
) -> dict[str, str]:
    return json.loads(unseal(_aad(channel_id), blob, keys=keys))


def needs_rotation(blob: bytes, *, keys: Sequence[bytes] | None = None) -> bool:
    return bytes(blob)[1 : 1 + KEY_ID_BYTES] != _key_id(_keys(keys)[0])


def rotate_all() -> tuple[int, int]:
    """Re-encrypt every channel's credentials and every TOTP secret with the newest key.
    Returns how many of each changed: (channels, two-factor secrets)."""
    from sqlalchemy import select, update

    from gateway.audit import Actor, record
    from gateway.extensions import db
    from gateway.models import Channel

    changed = 0
    for channel in db.session.scalars(
        select(Channel).where(Channel.credentials_encrypted.is_not(None))
    ):
        if needs_rotation(channel.credentials_encrypted):
            plain = decrypt_credentials(channel.id, channel.credentials_encrypted)
            # Written only over the token version read: a worker refreshing an X token
            # meanwhile (gateway.oauth.x) must not have its new tokens replaced by the old
            # ones; such a channel is left for the next rotation.
            written = db.session.execute(
                update(Channel)
                .where(Channel.id == channel.id, Channel.token_version == channel.token_version)
                .values(
                    credentials_encrypted=encrypt_credentials(channel.id, plain),
                    token_version=channel.token_version + 1,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            if written != 1:
                continue
            record(
                "channel.credentials_rotated",
                actor=Actor.system(),
                obj=("channel", channel.id),
                payload={},
            )
            changed += 1
    from gateway.auth import two_factor

    return changed, two_factor.rotate_secrets()


def keep_refreshed(channel_id: int | None, publisher: object) -> None:
    """Store, encrypted, what ``publisher`` renewed of its channel's credentials (issue 21:
    Bluesky's session), in a transaction of its own. A failure here is logged and never
    changes a publish outcome: the next use logs in again with the app password."""
    refreshed = getattr(publisher, "refreshed_credentials", None)
    updates = refreshed() if callable(refreshed) else None
    if not updates or channel_id is None:
        return
    import logging

    from gateway.extensions import db
    from gateway.models import Channel

    try:
        channel = db.session.get(Channel, channel_id, with_for_update=True)
        if channel is None or channel.credentials_encrypted is None:
            db.session.rollback()
            return
        stored = decrypt_credentials(channel.id, channel.credentials_encrypted)
        channel.credentials_encrypted = encrypt_credentials(channel.id, stored | dict(updates))
        db.session.commit()
    except Exception:  # noqa: BLE001 - never let a session cache stop a publish
        db.session.rollback()
        logging.getLogger(__name__).warning(
            "could not store the renewed session of channel %s", channel_id
        )

"""Registering, changing, deleting webhook endpoints and rotating their secrets (issue 17).

The admin pages call these (and only an admin reaches them: gateway.admin.webhooks). Each
change writes a publish-log entry in the same transaction: ``webhook.created``,
``webhook.changed``, ``webhook.deleted``, ``webhook.secret_rotated``, the endpoint as object
and the admin as actor, with its address and events; never its secret. The caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app

from gateway.audit import Actor, record
from gateway.extensions import db
from gateway.models import WebhookEndpoint
from gateway.models.base import utcnow
from gateway.webhooks.addresses import check_url
from gateway.webhooks.events import EVENT_TYPES
from gateway.webhooks.signing import decrypt_secret, encrypt_secret, new_secret


class EndpointError(ValueError):
    """The endpoint cannot be saved as asked; the message says why, ``field`` where."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _events(events: Iterable[str]) -> list[str]:
    chosen = [e for e in EVENT_TYPES if e in set(events)]
    unknown = set(events) - set(EVENT_TYPES)
    if unknown or not chosen:
        raise EndpointError("Choose at least one event", "events")
    return chosen


def _url(url: str) -> str:
    from gateway.webhooks.addresses import AddressRefused

    try:
        return check_url(url, allow_private=bool(current_app.config.get("WEBHOOKS_ALLOW_PRIVATE")))
    except AddressRefused as exc:
        raise EndpointError(str(exc), "url") from None


def _payload(endpoint: WebhookEndpoint) -> dict:
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "events": endpoint.event_types,
        "enabled": endpoint.enabled,
    }


def create(
    *, url: str, description: str, events: Iterable[str], enabled: bool, actor: Actor
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (``whsec_...``), to be shown once and never again."""
    endpoint = WebhookEndpoint(
        url=_url(url),
        description=(description or "").strip(),
        events=" ".join(_events(events)),
        enabled=enabled,
        secret_encrypted=b"",
        created_by_id=actor.id,
    )
    db.session.add(endpoint)
    db.session.flush()  # the id the secret is bound to
    secret = new_secret()
    endpoint.secret_encrypted = encrypt_secret(endpoint.id, secret)
    record("webhook.created", actor=actor, obj=("webhook", endpoint.id), payload=_payload(endpoint))
    return endpoint, secret


def change(
    endpoint: WebhookEndpoint,
    *,
    url: str,
    description: str,
    events: Iterable[str],
    enabled: bool,
    actor: Actor,
) -> bool:
    """Save the admin's changes; False when nothing changed (and nothing is logged)."""
    before = _payload(endpoint)
    new_url = endpoint.url if url.strip() == endpoint.url else _url(url)
    endpoint.url = new_url
    endpoint.description = (description or "").strip()
    endpoint.events = " ".join(_events(events))
    endpoint.enabled = enabled
    after = _payload(endpoint)
    if after == before:
        return False
    endpoint.updated_at = utcnow()
    changed = {k: after[k] for k in after if after[k] != before[k]}
    record(
        "webhook.changed",
        actor=actor,
        obj=("webhook", endpoint.id),
        payload={**after, "changed": sorted(changed)},
    )
    return True


#: How long a rotation that keeps the old secret signs with it too: a day for the people who
#: run the receiving system to change over (Standard Webhooks' rotation, several signatures).
SECRET_OVERLAP = timedelta(hours=24)


def rotate_secret(endpoint: WebhookEndpoint, *, actor: Actor, keep_old: bool = False) -> str:
    """A new secret, signing every attempt from now on. With ``keep_old``, the old one signs
    beside it for :data:`SECRET_OVERLAP`, so the receiver can change over without refusing a
    message; without it (the default, and the choice when a secret leaked), the old one stops
    at once, and so does any older one still kept."""
    now = utcnow()
    if keep_old:
        old = decrypt_secret(endpoint.id, endpoint.secret_encrypted)
        endpoint.previous_secret_encrypted = encrypt_secret(endpoint.id, old, previous=True)
        endpoint.previous_secret_until = now + SECRET_OVERLAP
    else:
        endpoint.previous_secret_encrypted = None
        endpoint.previous_secret_until = None
    secret = new_secret()
    endpoint.secret_encrypted = encrypt_secret(endpoint.id, secret)
    endpoint.secret_rotated_at = endpoint.updated_at = now
    until = endpoint.previous_secret_until
    record(
        "webhook.secret_rotated",
        actor=actor,
        obj=("webhook", endpoint.id),
        payload={
            "url": endpoint.url,
            "old_secret_signs_until": until.strftime("%Y-%m-%dT%H:%M:%SZ") if until else None,
        },
    )
    return secret


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets an attempt at ``now`` signs with: the current one, then the old one while
    its overlap lasts. Raises if a secret cannot be decrypted (a key taken out of
    GATEWAY_ENCRYPTION_KEYS)."""
    found = [decrypt_secret(endpoint.id, endpoint.secret_encrypted)]
    until = endpoint.previous_secret_until
    if endpoint.previous_secret_encrypted and until is not None and now < until:
        found.append(decrypt_secret(endpoint.id, endpoint.previous_secret_encrypted, previous=True))
    return found


def delete(endpoint: WebhookEndpoint, *, actor: Actor) -> None:
    """Stop sending to it; its messages not sent yet are given up at their next attempt."""
    endpoint.deleted_at = endpoint.updated_at = utcnow()
    endpoint.enabled = False
    record("webhook.deleted", actor=actor, obj=("webhook", endpoint.id), payload=_payload(endpoint))

"""Writing webhook messages in the transaction of the change they tell of (issue 17).

gateway.audit sends ``entries_committing`` as a transaction commits, with the publish-log
entries it is about to write. Those that are webhook events (gateway.webhooks.events) become
one ``webhook_messages`` row for each enabled endpoint that asked for the event, in the same
transaction: the publish and its event commit together or not at all. The database is the
outbox and the scheduler's sweep its relay: it queues due messages on the ``webhooks`` queue,
so a Redis that is down or flushed loses nothing and the publishing transaction never talks to
Redis for a webhook. Its cost to that transaction is one read of the endpoints and one insert,
and only when an entry is an event; the sending happens in a worker of its own.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from gateway.events import entries_committing
from gateway.models import WebhookEndpoint, WebhookMessage
from gateway.models.base import utcnow
from gateway.webhooks.events import Event, body_of, events_for

log = logging.getLogger(__name__)

#: The value of ``webhook_messages.status`` while a message waits for its next attempt.
PENDING = "pending"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def new_message_id() -> str:
    """A ``webhook-id``: unique, and without the dots that separate the signed parts."""
    return f"msg_{uuid.uuid4().hex}"


def _links(event: Event) -> dict[str, str]:
    base = current_app.config.get("PUBLIC_URL", "").rstrip("/")
    post_id = event.data.get("post_id")
    return {"post": f"{base}/api/v1/posts/{post_id}"} if post_id is not None else {}


@entries_committing.connect
def write_messages(session: Session, *, entries: list[Any]) -> None:
    """The outbox rows of this transaction's events, and their jobs once it commits."""
    if not has_app_context():
        return
    events = [e for x in entries for e in events_for(x.action, x.obj, x.payload)]
    if not events:
        return
    try:
        _write(session, events)
    except Exception:  # noqa: BLE001 - a webhook must never stop the change it tells of
        # Only what fails before the insert is caught here (a database error has already
        # spoiled the transaction, as it would for the publish-log entry itself).
        log.exception("could not write the webhook messages of this change")


def _write(session: Session, events: list[Event]) -> None:
    endpoints = session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.events).where(
            WebhookEndpoint.enabled.is_(True), WebhookEndpoint.deleted_at.is_(None)
        )
    ).all()
    if not endpoints:
        return
    now = utcnow()
    stamp = now.strftime(TIME_FORMAT)
    rows: list[dict[str, Any]] = []
    for event in events:
        wanted = [eid for eid, types in endpoints if event.type in (types or "").split()]
        if not wanted:
            continue
        body = json.dumps(
            body_of(event, timestamp=stamp, links=_links(event)),
            sort_keys=True,
            separators=(",", ":"),
        )
        rows.extend(
            {
                "message_id": new_message_id(),
                "endpoint_id": endpoint_id,
                "event_type": event.type,
                "body": body,
                "status": PENDING,
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
            }
            for endpoint_id in wanted
        )
    if not rows:
        return
    # Nothing is queued from here: the scheduler's sweep (gateway.webhooks.delivery) hands due
    # messages to the webhooks queue every GATEWAY_SWEEP_SECONDS, so the transaction that
    # publishes a post never waits on Redis for its webhooks (bench/bench_webhooks.py measured
    # three queued jobs after each commit at over twice the commit's own time).
    session.execute(insert(WebhookMessage.__table__), rows)

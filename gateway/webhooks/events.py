"""Which publish-log entries are webhook events, and what each event's data is (issue 17).

Every state change a receiver can be told of already writes a publish-log entry in the
transaction that makes it (gateway.audit.record): the post service, the publish job, the
emergency form, the Welsh-and-English pairing and the channel health check. Deriving the
events from those entries, in one place, means a new code path that changes a post's state
cannot forget to tell the receivers, and an event exists exactly when its entry does.

Pure: no Flask, SQLAlchemy or RQ, so it is tested without fixtures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The event types, in the order the admin page lists them, with their words there.
EVENT_TYPES: dict[str, str] = {
    "post.submitted": "A post is sent for approval",
    "post.approved": "A post is approved",
    "post.published": "A post is published on a channel",
    "post.failed": "A platform refused a post",
    "post.held": "A post is held for a person",
    "post.blocked": "A check stopped a post at publish time",
    "emergency.sent": "An emergency post is sent",
    "channel.needs_reconnecting": "A channel needs to be reconnected",
}

#: Outcomes of ``delivery.outcome`` entries and the event each is.
_OUTCOMES = {
    "published": "post.published",
    "failed": "post.failed",
    "held": "post.held",
    # The outcome stayed unknown after the look-ups: the delivery is held for a person.
    "unknown": "post.held",
}

#: What of an entry's payload goes to a receiver: ids, where it went and why, never a
#: person's email (the entry's actor) or the post's text (read it with the API if needed).
_DATA_KEYS = (
    "post_id",
    "delivery_id",
    "channel_id",
    "platform",
    "language",
    "outcome",
    "platform_post_id",
    "reason",
    "message",
    "category",
    "release",
    "held_with_id",
    "round",
)


@dataclass(frozen=True)
class Event:
    type: str
    data: dict[str, Any]


def events_for(action: str, obj: tuple[str, str] | None, payload: Mapping[str, Any]) -> list[Event]:
    """The webhook events a publish-log entry is: none, one, or for the approval of an
    emergency post by fast track (in office hours), "post.approved" and "emergency.sent", as an
    emergency post sent at once out of hours is "emergency.sent"."""
    event = event_for(action, obj, payload)
    if event is None:
        return []
    if event.type == "post.approved" and payload.get("category"):
        return [event, Event("emergency.sent", dict(event.data))]
    return [event]


def event_for(action: str, obj: tuple[str, str] | None, payload: Mapping[str, Any]) -> Event | None:
    """The webhook event a publish-log entry is, or None."""
    kind: str | None
    if action == "post.submitted":
        kind = "post.submitted"
    elif action == "post.approved":
        kind = "post.approved"
    elif action == "delivery.outcome":
        kind = _OUTCOMES.get(str(payload.get("outcome")))
    elif action == "delivery.held":
        kind = "post.held"
    elif action == "delivery.blocked":
        kind = "post.blocked"
    elif action == "emergency.published":
        kind = "emergency.sent"
    elif action == "channel.needs_reauthorisation":
        kind = "channel.needs_reconnecting"
    else:
        kind = None
    if kind is None:
        return None
    data = {k: payload[k] for k in _DATA_KEYS if payload.get(k) is not None}
    if obj is not None:
        object_type, object_id = obj
        if object_type == "post":
            data.setdefault("post_id", _int(object_id))
        elif object_type == "channel":
            data.setdefault("channel_id", _int(object_id))
        elif object_type == "delivery":
            data.setdefault("delivery_id", _int(object_id))
    return Event(kind, data)


def _int(value: str) -> int | str:
    return int(value) if str(value).isdigit() else value


def body_of(event: Event, *, timestamp: str, links: Mapping[str, str]) -> dict[str, Any]:
    """The JSON body a receiver gets, in the Standard Webhooks shape: ``type``, ``timestamp``
    (when it happened) and ``data``."""
    data = dict(event.data)
    if links:
        data["links"] = dict(links)
    return {"type": event.type, "timestamp": timestamp, "data": data}

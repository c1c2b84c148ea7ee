"""A post's history, read from the hash-chained audit log (the one record of what happened)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from gateway.domain.guardrails import Finding, Outcome
from gateway.domain.guardrails.engine import shown_once
from gateway.extensions import db
from gateway.models import AuditEntry, Delivery
from gateway.web.display import actor_name

#: What each audit action means, in the words an officer uses.
ACTION_WORDS = {
    "post.created": "Drafted",
    "post.edited": "Edited",
    "post.submitted": "Submitted for approval",
    "post.taken_over": "Taken over",
    "post.approved": "Approved",
    "post.rejected": "Rejected",
    "post.cancelled": "Cancelled",
    "referral.decided": "Referral decided by the monitoring officer",
    "guardrails.verdict": "Guardrails checked",
    # Released by a duty officer: it goes out at once; each channel's "Published" follows.
    "emergency.published": "Sent as an emergency post",
}
#: The delivery entries a post's history shows, as "<words> <channel>": what became of the post
#: on each channel. Retries and rate limits are left out (they are in the publish log).
DELIVERY_WORDS = {
    ("delivery.outcome", "published"): "Published on",
    ("delivery.outcome", "failed"): "Failed on",
    ("delivery.outcome", "held"): "Held on",
    ("delivery.outcome", "unknown"): "Held on",
    ("delivery.held", None): "Held on",
    ("delivery.blocked", None): "Blocked on",
    ("delivery.skipped", None): "Left out of",
}
_DELIVERY_ACTIONS = sorted({action for action, _ in DELIVERY_WORDS})
#: A post's history is short; a cap keeps a runaway retry loop from making a huge page.
HISTORY_MAX_ROWS = 500


@dataclass(frozen=True)
class HistoryItem:
    seq: int
    time: datetime
    action: str
    words: str
    actor: str
    payload: dict[str, Any]
    #: Where the post is on the platform (a "Published" entry), and the platform's name.
    link: str | None = None
    platform: str | None = None

    @property
    def note(self) -> str | None:
        """The reason given, or what the platform said."""
        return self.payload.get("reason") or self.payload.get("message")

    @property
    def findings(self) -> list[dict[str, Any]]:
        """Guardrail findings of a verdict entry, each once, with its channels (as the post
        page shows them now: gateway.domain.guardrails.engine.shown_once)."""
        found = self.payload.get("findings") or {}
        if isinstance(found, list):  # at publish time: one channel's findings
            found = {str(self.payload.get("channel_id", "")): found}
        merged: dict[tuple, dict[str, Any]] = {}
        for channel, items in found.items():
            for item in items if isinstance(items, list) else ():
                if not isinstance(item, dict):
                    continue
                key = (
                    item.get("rule"),
                    item.get("outcome"),
                    item.get("reason"),
                    item.get("language"),
                )
                entry = merged.setdefault(key, {**item, "channels": []})
                entry["channels"].append(channel)
        entries = list(merged.values())
        as_findings = [_as_finding(e) for e in entries]
        if None in as_findings:  # a shape this version does not know: shown as it is
            return entries
        kept = {id(f) for f in shown_once(as_findings)}  # type: ignore[arg-type]
        return [e for e, f in zip(entries, as_findings, strict=True) if id(f) in kept]


def _as_finding(item: dict[str, Any]) -> Finding | None:
    try:
        span = item.get("span")
        return Finding(
            str(item["rule"]),
            Outcome(item["outcome"]),
            str(item.get("reason") or ""),
            str(item.get("clause") or ""),
            (int(span[0]), int(span[1])) if span else None,
            item.get("matched"),
        )
    except (KeyError, ValueError, TypeError, IndexError):
        return None


def _describe(action: str) -> str:
    if action in ACTION_WORDS:
        return ACTION_WORDS[action]
    return action.replace(".", " ").replace("_", " ").capitalize()


def for_post(post_id: int, deliveries: Iterable[Delivery] = ()) -> list[HistoryItem]:
    """The post's entries, and what became of it on each of ``deliveries`` (its channels)."""
    by_id = {str(d.id): d for d in deliveries}
    about = and_(AuditEntry.object_type == "post", AuditEntry.object_id == str(post_id))
    if by_id:
        about = or_(
            about,
            and_(
                AuditEntry.object_type == "delivery",
                AuditEntry.object_id.in_(list(by_id)),
                AuditEntry.action.in_(_DELIVERY_ACTIONS),
            ),
        )
    rows = db.session.execute(
        select(
            AuditEntry.seq,
            AuditEntry.time,
            AuditEntry.action,
            AuditEntry.object_type,
            AuditEntry.object_id,
            AuditEntry.leaf,
        )
        .where(about)
        .order_by(AuditEntry.seq)
        .limit(HISTORY_MAX_ROWS)
    ).all()
    items = []
    for seq, time, action, object_type, object_id, leaf in rows:
        try:
            obj = json.loads(bytes(leaf))
        except ValueError:
            obj = {}
        who = actor_name(obj.get("actor"))
        payload = obj.get("payload") or {}
        # A delivery's own entries say what became of it on its channel; an entry that names
        # the post itself is described by its action, whatever the action is called (a log
        # imported from elsewhere may name the post in a delivery.* entry: no 500 for it).
        delivery = by_id.get(object_id) if object_type == "delivery" else None
        if delivery is not None:
            key = (action, payload.get("outcome") if action == "delivery.outcome" else None)
            if key not in DELIVERY_WORDS:
                continue
            published = key[1] == "published"
            items.append(
                HistoryItem(
                    seq,
                    time,
                    action,
                    f"{DELIVERY_WORDS[key]} {delivery.channel.display_name}",
                    who,
                    payload,
                    link=delivery.platform_url if published else None,
                    platform=delivery.channel.platform,
                )
            )
            continue
        items.append(HistoryItem(seq, time, action, _describe(action), who, payload))
    return items

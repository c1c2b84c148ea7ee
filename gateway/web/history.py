"""A post's history, read from the hash-chained audit log (the one record of what happened)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from gateway.extensions import db
from gateway.models import AuditEntry

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
}
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

    @property
    def findings(self) -> list[dict[str, Any]]:
        """Guardrail findings of a verdict entry, each once, with its channels."""
        merged: dict[tuple, dict[str, Any]] = {}
        for channel, items in (self.payload.get("findings") or {}).items():
            for item in items:
                key = (
                    item.get("rule"),
                    item.get("outcome"),
                    item.get("reason"),
                    item.get("language"),
                )
                entry = merged.setdefault(key, {**item, "channels": []})
                entry["channels"].append(channel)
        return list(merged.values())


def _describe(action: str) -> str:
    if action in ACTION_WORDS:
        return ACTION_WORDS[action]
    return action.replace(".", " ").replace("_", " ").capitalize()


def for_post(post_id: int) -> list[HistoryItem]:
    rows = db.session.execute(
        select(AuditEntry.seq, AuditEntry.time, AuditEntry.action, AuditEntry.leaf)
        .where(AuditEntry.object_type == "post", AuditEntry.object_id == str(post_id))
        .order_by(AuditEntry.seq)
        .limit(HISTORY_MAX_ROWS)
    ).all()
    items = []
    for seq, time, action, leaf in rows:
        try:
            obj = json.loads(bytes(leaf))
        except ValueError:
            obj = {}
        actor = obj.get("actor") or {}
        who = actor.get("email") or ("The gateway" if actor.get("kind") == "system" else "Someone")
        items.append(
            HistoryItem(seq, time, action, _describe(action), who, obj.get("payload") or {})
        )
    return items

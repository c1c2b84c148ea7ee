"""A post's history, read from the hash-chained audit log (the one record of what happened)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from gateway.domain.guardrails import Finding, Outcome
from gateway.domain.guardrails.engine import shown_once
from gateway.extensions import db
from gateway.models import AuditEntry
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
                key = (item.get("rule"), item.get("outcome"), item.get("reason"))
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
        who = actor_name(obj.get("actor"))
        items.append(
            HistoryItem(seq, time, action, _describe(action), who, obj.get("payload") or {})
        )
    return items

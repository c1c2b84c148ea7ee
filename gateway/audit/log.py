"""The one function that writes audit entries, and the check of the chain in the database.

Every entry is written in the caller's transaction, so it commits or rolls back with the change
it records. Writers are serialised by locking the single ``audit_head`` row, which also gives
contiguous sequence numbers and times that never go backwards.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from gateway.audit.facets import facets_of
from gateway.extensions import db
from gateway.models import AuditEntry, AuditFacet, AuditHead, Post, PostContent
from gateway.models.base import utcnow
from gateway.transparency.canonical import canonical_json

GENESIS_HASH = "0" * 64
HEAD_ROW_ID = 1
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class Actor:
    id: int | None
    email: str | None
    kind: str  # user | system | anonymous

    @classmethod
    def of(cls, user: Any) -> Actor:
        return cls(id=user.id, email=user.email, kind="user")

    @classmethod
    def system(cls) -> Actor:
        return cls(id=None, email=None, kind="system")

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(id=None, email=None, kind="anonymous")

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "kind": self.kind}


def content_of(post: Post) -> dict[str, Any]:
    """The post content object whose hash a leaf holds (exported beside the log)."""
    return {
        "text": post.text,
        "images": [{"sha256": i.sha256, "alt_text": i.alt_text} for i in post.images],
        "channels": sorted(d.channel_id for d in post.deliveries),
        "scheduled_at": post.scheduled_at.strftime(TIME_FORMAT) if post.scheduled_at else None,
        "emergency_category": post.emergency_category,
    }


def _store_content(content: Mapping[str, Any]) -> str:
    data = canonical_json(content)
    digest = hashlib.sha256(data).hexdigest()
    if db.session.get(PostContent, digest) is None:
        db.session.add(PostContent(sha256=digest, content=data))
    return digest


def record(
    action: str,
    *,
    actor: Actor,
    obj: tuple[str, Any] | None = None,
    payload: Mapping[str, Any] | None = None,
    content: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the log inside the current transaction (the caller commits)."""
    head = db.session.execute(
        select(AuditHead)
        .where(AuditHead.id == HEAD_ROW_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    seq = head.last_seq + 1
    now = utcnow()
    if head.last_time is not None and now < head.last_time:
        now = head.last_time  # clocks of two hosts may disagree: the log never goes backwards
    content_hash = _store_content(content) if content is not None else None
    leaf_obj = {
        "seq": seq,
        "time": now.strftime(TIME_FORMAT),
        "actor": actor.as_json(),
        "action": action,
        "object": {"type": obj[0], "id": str(obj[1])} if obj else None,
        "payload": dict(payload or {}),
        "content_sha256": content_hash,
        "prev": head.last_hash,
    }
    leaf = canonical_json(leaf_obj)
    entry_hash = hashlib.sha256(leaf).hexdigest()
    entry = AuditEntry(
        seq=seq,
        time=now,
        actor_id=actor.id,
        action=action,
        object_type=obj[0] if obj else None,
        object_id=str(obj[1]) if obj else None,
        content_sha256=content_hash,
        prev_hash=head.last_hash,
        entry_hash=entry_hash,
        leaf=leaf,
    )
    db.session.add(entry)
    # The filter index the auditors' pages use (gateway.audit.facets), in the same transaction.
    for name, value in facets_of(leaf_obj, content):
        db.session.add(AuditFacet(name=name, value=value, seq=seq))
    head.last_seq = seq
    head.last_hash = entry_hash
    head.last_time = now
    db.session.flush()
    return entry


@dataclass(frozen=True)
class ChainProblem:
    seq: int | None
    reason: str

    def __str__(self) -> str:
        where = f"entry {self.seq}" if self.seq is not None else "the log"
        return f"{where}: {self.reason}"


def _rows(batch: int = 5000) -> Iterator[AuditEntry]:
    last = -1
    while True:
        rows = db.session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        db.session.expunge_all()


def verify_chain() -> ChainProblem | None:
    """Check every entry in the database: its leaf, its hash, its link to the one before.

    Returns the first problem, or None when the whole chain holds.
    """
    prev_hash, prev_time, expected_seq = GENESIS_HASH, None, 0
    for row in _rows():
        leaf = bytes(row.leaf)
        if row.seq != expected_seq:
            return ChainProblem(expected_seq, f"missing: the next entry is numbered {row.seq}")
        try:
            obj = json.loads(leaf)
        except ValueError:
            return ChainProblem(row.seq, "the stored leaf is not JSON")
        if not isinstance(obj, dict) or canonical_json(obj) != leaf:
            return ChainProblem(row.seq, "the stored leaf is not canonical JSON")
        if hashlib.sha256(leaf).hexdigest() != row.entry_hash:
            return ChainProblem(row.seq, "its hash does not match its content (edited)")
        if obj.get("seq") != row.seq:
            return ChainProblem(row.seq, f"its leaf says it is entry {obj.get('seq')}")
        if obj.get("prev") != prev_hash or row.prev_hash != prev_hash:
            return ChainProblem(row.seq, "it does not link to the entry before it")
        columns = {
            "action": row.action,
            "content_sha256": row.content_sha256,
            "time": row.time.strftime(TIME_FORMAT),
        }
        for key, value in columns.items():
            if obj.get(key) != value:
                return ChainProblem(row.seq, f"its {key} column differs from its hashed leaf")
        if prev_time is not None and row.time < prev_time:
            return ChainProblem(row.seq, "its time is earlier than the entry before it")
        prev_hash, prev_time, expected_seq = row.entry_hash, row.time, row.seq + 1
    head = db.session.get(AuditHead, HEAD_ROW_ID)
    if head is None:
        return ChainProblem(None, "the head row is missing")
    if head.last_seq != expected_seq - 1 or head.last_hash != prev_hash:
        return ChainProblem(None, "entries after the last one were removed (truncated)")
    return None

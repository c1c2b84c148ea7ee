"""The one function that writes audit entries, and the check of the chain in the database.

Every entry is written in the caller's transaction, so it commits or rolls back with the change
it records. Writers are serialised by locking the single ``audit_head`` row at commit, which
also gives contiguous sequence numbers and times that never go backwards. On PostgreSQL that
lock is taken inside the commit by a deferred trigger (migration 0008) that chains the staged
entries, or for very large transactions by one call of ``audit_append``: both run as the log's
owner (migration 0011), so the application's role cannot write the log's tables directly. On
SQLite the lock is taken by :func:`_write_pending` itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select, text, update
from sqlalchemy.orm import Session, SessionTransaction

from gateway.audit.facets import facets_of
from gateway.events import entries_committing
from gateway.extensions import db
from gateway.models import AuditEntry, AuditFacet, AuditHead, AuditStaged, Post, PostContent
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
    content: dict[str, Any] = {
        "text": post.text,
        "images": [{"sha256": i.sha256, "alt_text": i.alt_text} for i in post.images],
        # Each channel once: a bilingual post may have two deliveries on one channel.
        "channels": sorted({d.channel_id for d in post.deliveries}),
        "scheduled_at": post.scheduled_at.strftime(TIME_FORMAT) if post.scheduled_at else None,
        "emergency_category": post.emergency_category,
    }
    if post.text_cy is not None:
        # A bilingual post (issue 18): both texts, both alt texts of each image, and which
        # text each channel gets, so an edit of either language, or of the form it goes out
        # in, no longer matches its approval. A post in one language hashes as it always did.
        content["text_cy"] = post.text_cy
        content["images"] = [
            {"sha256": i.sha256, "alt_text": i.alt_text, "alt_text_cy": i.alt_text_cy or ""}
            for i in post.images
        ]
        content["deliveries"] = sorted([d.channel_id, d.language] for d in post.deliveries)
    return content


@dataclass
class Entry:
    """One entry asked for by :func:`record`. Its number, time, leaf and hash are given when the
    transaction commits: read them from the committed ``AuditEntry``."""

    action: str
    actor: Actor
    obj: tuple[str, Any] | None
    payload: dict[str, Any]
    content: Mapping[str, Any] | None
    #: The innermost savepoint (``Session.begin_nested``) open when it was recorded, if any:
    #: rolling that savepoint back drops the entry with the changes made inside it.
    savepoint: SessionTransaction | None = field(default=None, repr=False, compare=False)


_PENDING = "audit_pending"


def record(
    action: str,
    *,
    actor: Actor,
    obj: tuple[str, Any] | None = None,
    payload: Mapping[str, Any] | None = None,
    content: Mapping[str, Any] | None = None,
) -> Entry:
    """Append one entry to the log in the current transaction (the caller commits).

    The entry is chained and written when the transaction commits, after every other change
    of the transaction is flushed: the log's head row is locked only for those last steps (on
    PostgreSQL inside the commit itself, by the trigger of migration 0008), not from the first
    entry to the commit, so publishing workers, approvals and edits queue for it for
    milliseconds. A rollback drops the entry with the change it records.
    """
    entry = Entry(
        action=action,
        actor=actor,
        obj=(obj[0], str(obj[1])) if obj else None,
        payload=dict(payload or {}),
        content=dict(content) if content is not None else None,
        savepoint=db.session().get_nested_transaction(),
    )
    db.session.info.setdefault(_PENDING, []).append(entry)
    return entry


def _dialect_insert(session: Session, model: type) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(model)


def _columns(entry: Entry, content_hash: str | None) -> dict[str, Any]:
    """The columns an entry's row (and its staged row) has beside its leaf."""
    return {
        "actor_id": entry.actor.id,
        "action": entry.action,
        "object_type": entry.obj[0] if entry.obj else None,
        "object_id": entry.obj[1] if entry.obj else None,
        "content_sha256": content_hash,
    }


def _contents_cte(session: Session, content_rows: list[dict[str, Any]]) -> Any:
    """New post contents, stored by the statement it rides on. Two transactions may store the
    same new content at once: the second one's insert is a no-op, not an IntegrityError."""
    return (
        _dialect_insert(session, PostContent)
        .values(content_rows)
        .on_conflict_do_nothing()
        .cte("new_contents")
    )


def _write_pending(session: Session) -> None:
    """Chain and write the transaction's entries: lock the head, insert, move the head.

    Runs as the session's ``before_commit`` hook, so the entries commit (or fail) with the
    change they record. On PostgreSQL the database chains them (``audit_append``, run as the
    log's owner: by the commit-time trigger, or called here for a large transaction); on
    SQLite this does, one statement a table however many entries the transaction holds.
    """
    if session.in_nested_transaction():
        # A savepoint being released, not the commit: writing here would put the entries
        # recorded before the savepoint inside it, and an outer savepoint's rollback would
        # then erase them while the changes they record stay.
        return
    pending: list[Entry] = session.info.pop(_PENDING, None) or []
    if not pending:
        return
    # The webhooks' outbox (issue 17) is written from the same entries, in this transaction.
    entries_committing.send(session, entries=pending)
    # Everything that does not depend on the head is prepared before the head is locked: every
    # publish, approval and edit waits for that lock, so the time it is held is the log's
    # throughput (measured in docs/benchmarks.md, "Publishing"). The leaf is canonical JSON
    # with sorted keys, and the three fields that depend on the head ("prev", "seq", "time")
    # sort after all the others, so each leaf is its prepared head plus those three.
    contents: dict[str, bytes] = {}
    prepared: list[tuple[Entry, bytes, str | None, set[tuple[str, str]]]] = []
    for entry in pending:
        content_hash = None
        if entry.content is not None:
            data = canonical_json(entry.content)
            content_hash = hashlib.sha256(data).hexdigest()
            contents[content_hash] = data
        fixed = {
            "actor": entry.actor.as_json(),
            "action": entry.action,
            "object": {"type": entry.obj[0], "id": entry.obj[1]} if entry.obj else None,
            "payload": entry.payload,
            "content_sha256": content_hash,
        }
        head = canonical_json(fixed)[:-1] + b',"prev":'
        prepared.append((entry, head, content_hash, facets_of(fixed, entry.content)))
    session.flush()  # the transaction's own changes first; the head is locked last
    content_rows = [{"sha256": k, "content": v} for k, v in contents.items()]
    if session.get_bind().dialect.name == "postgresql":
        # The application's role may not write the log's tables (README, "grants"): entries
        # are chained by audit_append, which runs as their owner (migration 0011).
        if len(prepared) <= STAGE_MAX_ENTRIES:
            _stage(session, prepared, content_rows)
        else:
            _append_in_database(session, prepared, content_rows)
        return
    head_seq, head_hash, head_time = session.execute(
        select(AuditHead.last_seq, AuditHead.last_hash, AuditHead.last_time)
        .where(AuditHead.id == HEAD_ROW_ID)
        .with_for_update()
    ).one()
    now = utcnow()
    if head_time is not None and now < head_time:
        now = head_time  # clocks of two hosts may disagree: the log never goes backwards
    tail = b',"time":"' + now.strftime(TIME_FORMAT).encode() + b'"}'
    entries: list[dict[str, Any]] = []
    facets: list[dict[str, Any]] = []
    for entry, head, content_hash, entry_facets in prepared:
        head_seq += 1
        prev = b"null" if head_hash is None else b'"' + head_hash.encode() + b'"'
        leaf = head + prev + b',"seq":' + str(head_seq).encode() + tail
        entry_hash = hashlib.sha256(leaf).hexdigest()
        entries.append(
            {
                **_columns(entry, content_hash),
                "seq": head_seq,
                "time": now,
                "prev_hash": head_hash,
                "entry_hash": entry_hash,
                "leaf": leaf,
            }
        )
        # The filter index the auditors' pages use (gateway.audit.facets).
        facets.extend(
            {"name": name, "value": value, "seq": head_seq} for name, value in entry_facets
        )
        head_hash = entry_hash
    move_head = (
        update(AuditHead)
        .where(AuditHead.id == HEAD_ROW_ID)
        .values(last_seq=head_seq, last_hash=head_hash, last_time=now)
        .execution_options(synchronize_session=False)
    )
    if content_rows:
        # Two transactions may store the same new content at once: the second one's insert
        # is a no-op, not an IntegrityError that would undo its change.
        session.execute(
            _dialect_insert(session, PostContent).on_conflict_do_nothing(), content_rows
        )
    session.execute(insert(AuditEntry.__table__), entries)
    if facets:
        session.execute(insert(AuditFacet.__table__), facets)
    session.execute(move_head)


#: A PostgreSQL transaction with at most this many entries stages them for the commit-time
#: trigger; a bigger one (an import) is chained by one call of ``audit_append`` before the
#: commit, rather than by one trigger call an entry.
STAGE_MAX_ENTRIES = 50


def _stage(
    session: Session,
    prepared: list[tuple[Entry, bytes, str | None, set[tuple[str, str]]]],
    content_rows: list[dict[str, Any]],
) -> None:
    """Stage the entries for PostgreSQL to chain while the transaction commits (migration
    0008): the head is locked inside the commit, not by this process, so no publish, approval
    or edit waits on a client round trip or on this process being scheduled. One statement
    stages the entries and stores new contents."""
    now = utcnow()
    rows = [
        {
            **_columns(entry, content_hash),
            "at": now,
            "leaf_head": head,
            "facets": json.dumps(sorted(entry_facets)),
        }
        for entry, head, content_hash, entry_facets in prepared
    ]
    statement = insert(AuditStaged.__table__).values(rows)
    if content_rows:
        statement = statement.add_cte(_contents_cte(session, content_rows))
    session.execute(statement)


def _append_in_database(
    session: Session,
    prepared: list[tuple[Entry, bytes, str | None, set[tuple[str, str]]]],
    content_rows: list[dict[str, Any]],
) -> None:
    """A large transaction's entries, chained by PostgreSQL in one call of ``audit_append``
    (migration 0011), which locks the head, writes them and moves the head once."""
    if content_rows:
        session.execute(
            _dialect_insert(session, PostContent).on_conflict_do_nothing(), content_rows
        )
    session.execute(
        _AUDIT_APPEND,
        {
            "heads": [head for _, head, _, _ in prepared],
            "facets": [json.dumps(sorted(facets)) for _, _, _, facets in prepared],
            "at": utcnow(),
        },
    )


_AUDIT_APPEND = text("SELECT audit_append(CAST(:heads AS bytea[]), CAST(:facets AS text[]), :at)")


def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    """A rollback drops the entries recorded in what it rolled back: the whole transaction's,
    or only those recorded inside a savepoint that rolled back (the rest still commit)."""
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)
        return
    pending = session.info.get(_PENDING)
    if pending:
        pending[:] = [e for e in pending if not _inside(e.savepoint, previous_transaction)]


def _inside(savepoint: SessionTransaction | None, rolled_back: SessionTransaction) -> bool:
    while savepoint is not None:
        if savepoint is rolled_back:
            return True
        savepoint = savepoint.parent
    return False


event.listen(Session, "before_commit", _write_pending)
event.listen(Session, "after_soft_rollback", _drop_pending)


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
        problem = row_problem(row, expected_seq, prev_hash, prev_time)
        if problem is not None:
            return problem
        prev_hash, prev_time, expected_seq = row.entry_hash, row.time, row.seq + 1
    return head_problem(expected_seq, prev_hash)


def row_problem(
    row: Any, expected_seq: int, prev_hash: str, prev_time: datetime | None
) -> ChainProblem | None:
    """What is wrong with one stored entry, given the entry before it, or None.

    ``row`` has ``AuditEntry``'s columns (an ``AuditEntry`` or a selected row): its leaf must be
    canonical JSON that hashes to ``entry_hash``, say the ``seq`` and ``prev`` the chain
    expects, agree with the columns beside it, and not go back in time.
    """
    leaf = bytes(row.leaf)
    if row.seq != expected_seq:
        return ChainProblem(expected_seq, f"missing: the next entry is numbered {row.seq}")
    try:
        obj = json.loads(leaf)
    except ValueError:
        return ChainProblem(row.seq, "the stored leaf is not JSON")
    try:
        canonical = isinstance(obj, dict) and canonical_json(obj) == leaf
    except ValueError:  # JSON that canonical_json refuses (a float out of range, say)
        canonical = False
    if not canonical:
        return ChainProblem(row.seq, "the stored leaf is not canonical JSON")
    if hashlib.sha256(leaf).hexdigest() != row.entry_hash:
        return ChainProblem(row.seq, "its hash does not match its content (edited)")
    if obj.get("seq") != row.seq:
        return ChainProblem(row.seq, f"its leaf says it is entry {obj.get('seq')}")
    if obj.get("prev") != prev_hash or row.prev_hash != prev_hash:
        return ChainProblem(row.seq, "it does not link to the entry before it")
    differ = column_problems(row, obj)
    if differ:
        return differ[0]
    if prev_time is not None and row.time < prev_time:
        return ChainProblem(row.seq, "its time is earlier than the entry before it")
    return None


#: The columns of ``audit_entries`` that repeat what the entry's hashed leaf says, in the order
#: they are checked: the auditors' filters and pages query them, so each must say what the leaf
#: says (issue #20), or a filter would credit the wrong officer.
LEAF_COLUMNS = ("action", "actor_id", "object_type", "object_id", "content_sha256", "time")


def leaf_columns(obj: Any) -> tuple[Any, ...]:
    """What a parsed leaf says each of :data:`LEAF_COLUMNS` holds (None where it says
    nothing: a leaf that is not the right shape is a finding of its own)."""
    if not isinstance(obj, dict):
        obj = {}
    actor, target = obj.get("actor"), obj.get("object")
    actor = actor if isinstance(actor, dict) else {}
    target = target if isinstance(target, dict) else {}
    return (
        obj.get("action"),
        actor.get("id"),
        target.get("type"),
        target.get("id"),
        obj.get("content_sha256"),
        obj.get("time"),
    )


def stored_columns(row: Any) -> tuple[Any, ...]:
    """:data:`LEAF_COLUMNS` of a stored row, as its leaf would write them."""
    return (
        row.action,
        row.actor_id,
        row.object_type,
        row.object_id,
        row.content_sha256,
        row.time.strftime(TIME_FORMAT),
    )


def column_problems(row: Any, obj: Any) -> list[ChainProblem]:
    """One problem per column of ``row`` that differs from its parsed leaf ``obj``."""
    return [
        ChainProblem(row.seq, f"its {name} column differs from its hashed leaf")
        for name, stored, hashed in zip(
            LEAF_COLUMNS, stored_columns(row), leaf_columns(obj), strict=True
        )
        if type(stored) is not type(hashed) or stored != hashed
    ]


def head_problem(next_seq: int, last_hash: str) -> ChainProblem | None:
    """Whether the head row agrees with a chain that held up to ``next_seq`` (exclusive),
    ending in ``last_hash``: a head row ahead of the entries means some were removed."""
    head = db.session.get(AuditHead, HEAD_ROW_ID)
    if head is None:
        return ChainProblem(None, "the head row is missing")
    if head.last_seq != next_seq - 1 or head.last_hash != last_hash:
        return ChainProblem(None, "entries after the last one were removed (truncated)")
    return None

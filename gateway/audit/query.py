"""Filtering and paging the publish log for the auditors' pages and filtered exports.

Pages are keyset pages on ``seq`` (newest first), never OFFSET: the database walks an index
backwards from the cursor and stops after one page, so page 1 and page 20,000 of a million
entries cost the same. A date range becomes a ``seq`` range first (times never go backwards in
the log, so the first entry at or after a moment bounds every later one), which keeps every
filter a walk down ``seq``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, exists, select
from sqlalchemy.orm import aliased

from gateway.audit import facets
from gateway.extensions import db
from gateway.models import AuditEntry, AuditFacet

#: Dates on the auditors' pages are the council's days (policy times are UK local time).
LOCAL_ZONE = ZoneInfo("Europe/London")
#: Rows a page shows: a screenful an auditor can scan; small pages keep p95 low.
PAGE_SIZE = 50
#: A post's whole history is tens of entries; the cap only bounds a pathological one.
HISTORY_LIMIT = 2000


@dataclass(frozen=True)
class AuditFilter:
    """What an auditor asked for; ``None`` means "any". ``date_to`` is inclusive."""

    date_from: date | None = None
    date_to: date | None = None
    channel_id: int | None = None
    officer_id: int | None = None
    action: str | None = None
    outcome: str | None = None
    rule: str | None = None
    emergency: bool | None = None
    post_id: int | None = None

    def is_empty(self) -> bool:
        return all(value is None for value in asdict(self).values())

    def as_args(self) -> dict[str, str]:
        """Query-string arguments that rebuild this filter (dates as ISO, booleans yes/no)."""
        args: dict[str, str] = {}
        for name, value in asdict(self).items():
            if value is None:
                continue
            if isinstance(value, bool):
                args[name] = "yes" if value else "no"
            else:
                args[name] = value.isoformat() if isinstance(value, date) else str(value)
        return args


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LOCAL_ZONE)


def _first_seq_at_or_after(moment: datetime) -> int | None:
    return db.session.scalar(
        select(AuditEntry.seq)
        .where(AuditEntry.time >= moment)
        .order_by(AuditEntry.time, AuditEntry.seq)
        .limit(1)
    )


def seq_range(f: AuditFilter) -> tuple[int, int | None] | None:
    """``[lo, hi)`` in seq for the filter's dates; ``None`` when no entry can match."""
    lo, hi = 0, None
    if f.date_from is not None:
        first = _first_seq_at_or_after(_local_midnight(f.date_from))
        if first is None:
            return None
        lo = first
    if f.date_to is not None:
        hi = _first_seq_at_or_after(_local_midnight(f.date_to + timedelta(days=1)))
        if hi is not None and hi <= lo:
            return None
    return lo, hi


def _has_facet(name: str, value: str) -> ColumnElement[bool]:
    return exists().where(
        AuditFacet.name == name, AuditFacet.value == value, AuditFacet.seq == AuditEntry.seq
    )


#: Facet filters, most likely rare first. A filtered query is driven from the first one present:
#: it walks that facet's (name, value, seq) key backwards, so it reads matching entries only,
#: instead of walking every entry and probing the facets of each.
LEAD_ORDER = (facets.POST, facets.RULE, facets.OUTCOME, facets.EMERGENCY, facets.CHANNEL)


def filtered(f: AuditFilter, *columns: Any) -> tuple[Select[Any], list[Any]]:
    """A SELECT of ``columns`` for the filter, and the seq columns a range must bound (the
    entries' and, when a facet leads the query, that facet's: bounding both lets the database
    walk whichever index it likes)."""
    values = {
        facets.POST: f.post_id,
        facets.RULE: f.rule,
        facets.OUTCOME: f.outcome,
        facets.EMERGENCY: facets.YES if f.emergency is True else None,
        facets.CHANNEL: f.channel_id,
    }
    wanted = [(name, str(values[name])) for name in LEAD_ORDER if values[name] is not None]
    stmt = select(*columns)
    seqs: list[Any] = [AuditEntry.seq]
    if wanted:
        (name, value), wanted = wanted[0], wanted[1:]
        lead = aliased(AuditFacet)
        stmt = stmt.join(
            lead, and_(lead.seq == AuditEntry.seq, lead.name == name, lead.value == value)
        )
        seqs.append(lead.seq)
    where: list[ColumnElement[bool]] = [_has_facet(name, value) for name, value in wanted]
    if f.action is not None:
        where.append(AuditEntry.action == f.action)
    if f.officer_id is not None:
        where.append(AuditEntry.actor_id == f.officer_id)
    if f.emergency is False:
        where.append(~_has_facet(facets.EMERGENCY, facets.YES))
    return stmt.where(*where), seqs


def in_range(seqs: list[Any], lo: int | None = None, hi: int | None = None) -> list[Any]:
    """``lo <= seq < hi`` on every one of ``seqs``."""
    where = []
    for seq in seqs:
        if lo:
            where.append(seq >= lo)
        if hi is not None:
            where.append(seq < hi)
    return where


@dataclass(frozen=True)
class EntryView:
    """One entry as the pages show it (the leaf parsed; the page escapes every value)."""

    seq: int
    time: datetime
    action: str
    actor: dict[str, Any]
    object: dict[str, str] | None
    payload: dict[str, Any]
    content_sha256: str | None
    entry_hash: str

    @property
    def post_id(self) -> int | None:
        """The post the entry is about (its object, or its payload's ``post_id``)."""
        if self.object and self.object.get("type") == "post" and self.object["id"].isdigit():
            return int(self.object["id"])
        post_id = self.payload.get("post_id")
        return post_id if type(post_id) is int else None

    @classmethod
    def of(cls, row: AuditEntry) -> EntryView:
        leaf = json.loads(bytes(row.leaf))
        return cls(
            seq=row.seq,
            time=row.time,
            action=row.action,
            actor=leaf.get("actor") or {},
            object=leaf.get("object"),
            payload=leaf.get("payload") or {},
            content_sha256=row.content_sha256,
            entry_hash=row.entry_hash,
        )


@dataclass(frozen=True)
class Page:
    entries: list[EntryView]
    #: Cursor for the newer page (``after``), or None on the newest page.
    newer: int | None
    #: Cursor for the older page (``before``), or None on the oldest page.
    older: int | None


def page(
    f: AuditFilter,
    *,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """One page of matching entries, newest first, older than ``before`` or newer than
    ``after`` (the cursors the previous page handed out)."""
    bounds = seq_range(f)
    if bounds is None:
        return Page([], None, None)
    stmt, seqs = filtered(f, AuditEntry)
    stmt = stmt.where(*in_range(seqs, *bounds))
    order = seqs[-1]
    if after is not None:
        rows = list(
            db.session.scalars(
                stmt.where(*in_range(seqs, lo=after + 1)).order_by(order).limit(size + 1)
            )
        )
        more_newer = len(rows) > size
        rows = rows[:size][::-1]
        newer = rows[0].seq if more_newer and rows else None
        older = rows[-1].seq if rows else after + 1
    else:
        if before is not None:
            stmt = stmt.where(*in_range(seqs, hi=before))
        rows = list(db.session.scalars(stmt.order_by(order.desc()).limit(size + 1)))
        more_older = len(rows) > size
        rows = rows[:size]
        older = rows[-1].seq if more_older else None
        newer = rows[0].seq if before is not None and rows else None
    return Page([EntryView.of(r) for r in rows], newer, older)


def matching_seqs(f: AuditFilter, stop: int) -> Iterator[int]:
    """Every matching seq below ``stop``, in order, read in batches (for filtered exports)."""
    bounds = seq_range(f)
    if bounds is None:
        return
    lo, hi = bounds
    stop = stop if hi is None else min(stop, hi)
    stmt, seqs = filtered(f, AuditEntry.seq)
    last = lo - 1
    while True:
        batch: Sequence[int] = db.session.scalars(
            stmt.where(*in_range(seqs, last + 1, stop)).order_by(seqs[-1]).limit(10_000)
        ).all()
        if not batch:
            return
        yield from batch
        last = batch[-1]


def post_history(post_id: int) -> list[EntryView]:
    """Every entry about one post, oldest first: its drafts, verdicts, approvals, attempts and
    outcomes on every channel."""
    rows = db.session.scalars(
        select(AuditEntry)
        .where(_has_facet(facets.POST, str(post_id)))
        .order_by(AuditEntry.seq)
        .limit(HISTORY_LIMIT)
    )
    return [EntryView.of(r) for r in rows]

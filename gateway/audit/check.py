"""``gateway audit verify``: the database against its signed checkpoints (issues #8, #20).

Four checks, each catching what the others cannot:

1. the hash chain and the columns beside each leaf (what :func:`gateway.audit.verify_chain`
   checks): an edited entry, a gap, a truncation that left the head row behind;
2. every entry's indexed columns (``LEAF_COLUMNS``: the officer, action and object the
   auditors' filters query), its ``audit_facets`` rows and its stored post content against
   what its hashed leaf says, each difference named with its entry, every entry, not only the
   first: an edit there credits the wrong officer or hides an entry while the chain holds;
3. every stored checkpoint's signature by the log's key, and no two of one size with different
   roots (a fork, or a forged row: only the key file can sign, and it is not in the database);
4. the whole log through the offline verifier's own pass (:class:`LogVerifier`): the leaves
   must hash to the latest checkpoint's root and extend every older one, which catches a
   history rewritten and re-chained, a truncation with the head row fixed up, a rollback; and
   the auditor rules (two-person approval, one outcome per attempt, nothing published twice).

Checks 1, 2 and 4 share one pass over the log, read through a server-side cursor a batch at a
time (memory stays flat on a million entries) with each entry's content joined on, plus one
range query a batch for its facet rows; they use ``gateway-verify``'s block path: one parse of
each stored leaf serves all three, and a batch whose columns agree is compared a column at a
time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter, methodcaller
from typing import Any

from sqlalchemy import select

from gateway.audit.checkpoints import log_size, log_verifier, open_stored
from gateway.audit.facets import facets_of
from gateway.audit.log import (
    GENESIS_HASH,
    TIME_FORMAT,
    ChainProblem,
    column_problems,
    head_problem,
    row_problem,
)
from gateway.extensions import db
from gateway.models import AuditEntry, AuditFacet, LogCheckpoint, PostContent
from gateway.transparency.checkpoint import Checkpoint, CheckpointError
from gateway.transparency.verifier import LogReport, LogVerifier, check_against_checkpoints

#: Rows fetched at a time through the server-side cursor: large enough that the fetch costs
#: little per row, small enough that a batch of leaves stays in the processor's cache.
SCAN_BATCH = 2000
#: Post contents parsed for the filter index, kept by hash: each post's content is referred to
#: by a few entries close together (created, approved), so a small cache saves most parses.
CONTENT_CACHE = 1024

_sha256 = hashlib.sha256
_hexdigest = type(_sha256()).hexdigest
_action, _content, _time = itemgetter("action"), itemgetter("content_sha256"), itemgetter("time")
_format_time = methodcaller("strftime", TIME_FORMAT)


@dataclass
class DatabaseCheck:
    """What ``gateway audit verify`` found."""

    size: int = 0
    checkpoint: Checkpoint | None = None
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    report: LogReport | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def check_database(previous: Iterable[Checkpoint] = ()) -> DatabaseCheck:
    """Check the log in the database; ``previous`` are checkpoints an auditor kept elsewhere
    (their signatures already checked), which catch a rollback of the checkpoints table too."""
    result = DatabaseCheck(size=log_size())
    verifier = log_verifier()
    signatures: list[str] = []
    valid: dict[int, Checkpoint] = {}
    for row in db.session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.size)):
        result.checkpoints += 1
        try:
            checkpoint = open_stored(row, verifier)
        except CheckpointError as exc:
            signatures.append(
                f"stored checkpoint {row.id} (size {row.size}) is not one this log's key "
                f"signed: {exc}"
            )
            continue
        other = valid.setdefault(checkpoint.size, checkpoint)
        if other.root_hash != checkpoint.root_hash:
            signatures.append(
                f"two signed checkpoints of size {checkpoint.size} have different roots (a fork)"
            )
    older = list(valid.values())
    latest = max(older, key=lambda cp: cp.size, default=None)
    result.checkpoint = latest
    if latest is not None:
        older.remove(latest)
    older.extend(previous)
    scan = LogScan(latest, older)
    scan.run()
    if scan.chain_problem is not None:
        result.problems.append(str(scan.chain_problem))
    result.problems.extend(signatures)
    result.report = scan.report
    result.problems.extend(scan.entry_problems)
    if scan.more_entry_problems:
        result.problems.append(
            f"and {scan.more_entry_problems} more differences between entries and their leaves"
        )
    result.problems.extend(str(finding) for finding in scan.report.failures)
    return result


#: Entries whose columns, filter index or content differ from their leaves, listed one by one
#: before "and N more": enough to see who was edited, few enough to read.
ENTRY_PROBLEMS_SHOWN = 20


class LogScan:
    """One pass over ``audit_entries`` in ``seq`` order: the columns' chain, the offline
    verifier's pass (tree, checkpoints, rules), every entry's columns, filter index rows and
    post content against its leaf, and the facets the leaves imply."""

    def __init__(self, checkpoint: Checkpoint | None, previous: Sequence[Checkpoint]) -> None:
        self.checkpoint, self.previous = checkpoint, list(previous)
        sizes = [cp.size for cp in [checkpoint, *self.previous] if cp is not None]
        self.verifier = LogVerifier(roots_at=sizes)
        self.report = LogReport()
        self.chain_problem: ChainProblem | None = None
        #: Each entry whose indexed columns, facet rows or stored content differ from its leaf
        #: (the first ENTRY_PROBLEMS_SHOWN; ``more_entry_problems`` counts the rest).
        self.entry_problems: list[str] = []
        self.more_entry_problems = 0
        self._contents: dict[bytes, tuple[str, Any]] = {}
        # The columns' chain, as verify_chain walks it.
        self._prev_hash, self._prev_time, self._expected = GENESIS_HASH, None, 0
        #: The highest seq whose facet rows were read (None: none yet).
        self._facets_read_to: int | None = None

    def run(self) -> None:
        stmt = (
            select(
                AuditEntry.seq,
                AuditEntry.leaf,
                AuditEntry.entry_hash,
                AuditEntry.prev_hash,
                AuditEntry.action,
                AuditEntry.actor_id,
                AuditEntry.object_type,
                AuditEntry.object_id,
                AuditEntry.content_sha256,
                AuditEntry.time,
                PostContent.content,
            )
            .outerjoin(PostContent, PostContent.sha256 == AuditEntry.content_sha256)
            .order_by(AuditEntry.seq)
            .execution_options(yield_per=SCAN_BATCH)  # a server-side cursor on PostgreSQL
        )
        for rows in db.session.execute(stmt).partitions():
            self._batch(rows)
        self._facets_past_the_end()
        if self.chain_problem is None:
            self.chain_problem = head_problem(self._expected, self._prev_hash)
        self.report = self.verifier.finish()
        check_against_checkpoints(self.report, self.checkpoint, self.previous)

    def _batch(self, rows: Sequence[Any]) -> None:
        seqs, stored, hashes, prevs, *columns, bodies = zip(*rows, strict=True)
        leaves = list(map(bytes, stored))
        verifier = self.verifier
        parsed: list[Any] | Sequence[Any] | None = None
        done: list[Any] = []
        if not verifier.broken:
            parsed = verifier.feed_leaves(leaves)
            done = verifier.partial
        if parsed is None:  # broken here or before: what the verifier parsed, then json.loads
            parsed = [*done, *map(_loads, leaves[len(done) :])]
        # Only a batch the verifier accepted has every leaf in the shape the fast path reads.
        valid = not verifier.broken and len(parsed) == len(leaves)
        columns_agree = valid and self._columns_agree(columns, parsed)
        if self.chain_problem is None and not (
            columns_agree and self._chain_holds(seqs, leaves, hashes, prevs, columns[-1])
        ):
            self._columns_one_by_one(rows)
        if not columns_agree:  # every differing column of every entry, not only the first
            for row, leaf in zip(rows, parsed, strict=True):
                if isinstance(leaf, dict):
                    for problem in column_problems(row, leaf):
                        self._entry_problem(str(problem))
        self._check_contents_and_facets(seqs, parsed, bodies)

    def _columns_agree(self, columns: Sequence[Sequence[Any]], parsed: Sequence[Any]) -> bool:
        """Whether every row's :data:`LEAF_COLUMNS` say what its (verifier-checked) leaf says,
        a column at a time."""
        actions, actors, types, ids, contents, times = columns
        if actions != tuple(map(_action, parsed)) or contents != tuple(map(_content, parsed)):
            return False
        if actors != tuple(map(_id, map(_actor, parsed))):
            return False
        objects = [target or _NO_OBJECT for target in map(_object, parsed)]
        return (
            types == tuple(map(_type, objects))
            and ids == tuple(map(_id, objects))
            and list(map(_format_time, times)) == list(map(_time, parsed))
        )

    def _chain_holds(
        self,
        seqs: Sequence[int],
        leaves: list[bytes],
        hashes: Sequence[str],
        prevs: Sequence[str],
        times: Sequence[datetime],
    ) -> bool:
        """Whether the whole batch passes :func:`verify_chain`'s checks, a column at a time.

        Only for a batch the verifier accepted whose columns agree with its leaves, so every
        leaf is canonical, its ``seq`` is its position and its ``prev`` the hash of the leaf
        before. On ``False`` the batch is walked row by row for the first problem.
        """
        start, n = self._expected, len(leaves)
        computed = list(map(_hexdigest, map(_sha256, leaves)))
        if (
            seqs != tuple(range(start, start + n))
            or list(hashes) != computed
            or prevs != (self._prev_hash, *computed[:-1])
            or (self._prev_time is not None and times[0] < self._prev_time)
        ):
            return False
        self._prev_hash, self._prev_time, self._expected = computed[-1], times[-1], start + n
        return True

    def _columns_one_by_one(self, rows: Sequence[Any]) -> None:
        """:func:`gateway.audit.verify_chain`'s walk over one batch, to its first problem."""
        for row in rows:
            problem = row_problem(row, self._expected, self._prev_hash, self._prev_time)
            if problem is not None:
                self.chain_problem = problem
                return
            self._prev_hash, self._prev_time = row.entry_hash, row.time
            self._expected = row.seq + 1

    def _entry_problem(self, problem: str) -> None:
        if self.chain_problem is not None and problem == str(self.chain_problem):
            return  # already the first finding
        if len(self.entry_problems) < ENTRY_PROBLEMS_SHOWN:
            self.entry_problems.append(problem)
        else:
            self.more_entry_problems += 1

    def _stored_facets(self, last: int) -> set[tuple[int, str, str]]:
        """The ``audit_facets`` rows of the seqs after the previous batch's, up to ``last``:
        one query a batch (the ``seq`` index of migration 0011), not one an entry."""
        stmt = select(AuditFacet.seq, AuditFacet.name, AuditFacet.value).where(
            AuditFacet.seq <= last
        )
        if self._facets_read_to is not None:
            stmt = stmt.where(AuditFacet.seq > self._facets_read_to)
        self._facets_read_to = last
        return set(map(tuple, db.session.execute(stmt)))

    def _facets_past_the_end(self) -> None:
        """Facet rows of seqs after the last entry index entries that do not exist."""
        stmt = select(AuditFacet.seq).distinct().order_by(AuditFacet.seq)
        if self._facets_read_to is not None:
            stmt = stmt.where(AuditFacet.seq > self._facets_read_to)
        for seq in db.session.scalars(stmt.limit(ENTRY_PROBLEMS_SHOWN)):
            self._entry_problem(_no_such_entry(seq))

    def _check_contents_and_facets(
        self, seqs: Sequence[int], parsed: Sequence[Any], bodies: Sequence[Any]
    ) -> None:
        """Each entry's stored content against the hash its leaf names, and the batch's facet
        rows against the facets its leaves and contents give: every row, so a row removed,
        added or moved to another entry is named with the entry."""
        expected: set[tuple[int, str, str]] = set()
        add, cache, problem = expected.update, self._contents, self._entry_problem
        unknown: set[int] = set()  # entries whose facets cannot be worked out
        for seq, leaf, body in zip(seqs, parsed, bodies, strict=True):
            if not isinstance(leaf, dict):
                unknown.add(seq)  # an unreadable leaf is already a finding of the checks above
                continue
            named = leaf.get("content_sha256")
            content = None
            if named is not None:
                if body is None:
                    problem(f"entry {seq}: the post content its leaf names ({named}) is missing")
                    unknown.add(seq)
                    continue
                body = bytes(body)
                digest, content = cache.get(body, _UNSEEN_CONTENT)
                if content is _UNSEEN:
                    if len(cache) >= CONTENT_CACHE:
                        cache.clear()
                    digest, content = cache[body] = (_hexdigest(_sha256(body)), _loads(body))
                if digest != named:
                    problem(
                        f"entry {seq}: its post content (post_contents) does not match the "
                        f"content_sha256 its hashed leaf names ({str(named)[:16]}...): it was "
                        "altered"
                    )
                    unknown.add(seq)
                    continue
                if not isinstance(content, dict):
                    unknown.add(seq)
                    continue
            try:
                add([(seq, name, value) for name, value in facets_of(leaf, content)])
            except (ValueError, AttributeError, TypeError):
                unknown.add(seq)
        stored = self._stored_facets(seqs[-1])
        if stored == expected:
            return
        present, gone = set(seqs), set()
        for row in sorted(stored ^ expected):
            seq, name, value = row
            if seq in unknown:
                continue
            if seq not in present:  # rows for seqs between entries: a gap, or made up
                if seq not in gone:
                    gone.add(seq)
                    problem(_no_such_entry(seq))
            elif row in expected:
                problem(
                    f"entry {seq}: its filter index (audit_facets) lacks {name} {value!r}, "
                    "which its hashed leaf gives"
                )
            else:
                problem(
                    f"entry {seq}: its filter index (audit_facets) has {name} {value!r}, "
                    "which its hashed leaf does not give"
                )


def _no_such_entry(seq: int) -> str:
    return f"the filter index (audit_facets) has rows for entry {seq}, which is not in the log"


_actor, _object, _id, _type = (
    itemgetter("actor"),
    itemgetter("object"),
    itemgetter("id"),
    itemgetter("type"),
)
#: What a leaf's ``"object": null`` puts in the object columns.
_NO_OBJECT = {"type": None, "id": None}
_UNSEEN = object()
_UNSEEN_CONTENT = (None, _UNSEEN)


def _loads(data: bytes, unreadable: Any = None) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return unreadable

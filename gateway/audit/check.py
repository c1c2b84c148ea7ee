"""``gateway audit verify``: the database against its signed checkpoints (issue #8).

Three checks, each catching what the others cannot:

1. the hash chain and the columns beside each leaf (:func:`gateway.audit.verify_chain`): an
   edited entry, a gap, a truncation that left the head row behind;
2. every stored checkpoint's signature by the log's key, and no two of one size with different
   roots (a fork, or a forged row: only the key file can sign, and it is not in the database);
3. the whole log through the offline verifier's own pass (:func:`verify_leaves`): the leaves
   must hash to the latest checkpoint's root and extend every older one, which catches a
   history rewritten and re-chained, a truncation with the head row fixed up, a rollback; and
   the auditor rules (two-person approval, one outcome per attempt, nothing published twice).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from gateway.audit.checkpoints import iter_leaves, log_size, log_verifier, open_stored
from gateway.audit.facets import facets_of
from gateway.audit.log import verify_chain
from gateway.extensions import db
from gateway.models import AuditEntry, AuditFacet, LogCheckpoint, PostContent
from gateway.transparency.checkpoint import Checkpoint, CheckpointError
from gateway.transparency.verifier import LogReport, verify_leaves


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
    problem = verify_chain()
    if problem is not None:
        result.problems.append(str(problem))
    verifier = log_verifier()
    valid: dict[int, Checkpoint] = {}
    for row in db.session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.size)):
        result.checkpoints += 1
        try:
            checkpoint = open_stored(row, verifier)
        except CheckpointError as exc:
            result.problems.append(
                f"stored checkpoint {row.id} (size {row.size}) is not one this log's key "
                f"signed: {exc}"
            )
            continue
        other = valid.setdefault(checkpoint.size, checkpoint)
        if other.root_hash != checkpoint.root_hash:
            result.problems.append(
                f"two signed checkpoints of size {checkpoint.size} have different roots (a fork)"
            )
    older = [cp for cp in valid.values()]
    latest = max(older, key=lambda cp: cp.size, default=None)
    result.checkpoint = latest
    if latest is not None:
        older.remove(latest)
    older.extend(previous)
    report = verify_leaves(iter_leaves(), checkpoint=latest, previous=older)
    result.report = report
    result.problems.extend(str(finding) for finding in report.failures)
    result.problems.extend(check_facets())
    return result


#: Entries read a batch at a time with their post content, as migration 0004 back-fills.
FACET_BATCH = 5000
#: Differences listed before "and N more": the first says what happened.
FACET_PROBLEMS_SHOWN = 5


def check_facets() -> list[str]:
    """Compare how many entries each filter value has in ``audit_facets`` with the count the
    leaves give. Counts, not rows, keep memory to one counter a value."""
    expected: Counter[tuple[str, str]] = Counter()
    last = -1
    while True:
        rows = db.session.execute(
            select(AuditEntry.seq, AuditEntry.leaf, PostContent.content)
            .outerjoin(PostContent, PostContent.sha256 == AuditEntry.content_sha256)
            .where(AuditEntry.seq > last)
            .order_by(AuditEntry.seq)
            .limit(FACET_BATCH)
        ).all()
        if not rows:
            break
        for _, leaf, content in rows:
            try:
                obj = json.loads(bytes(leaf))
                found = facets_of(obj, json.loads(bytes(content)) if content else None)
            except (ValueError, AttributeError):
                continue  # an unreadable leaf is already a finding of the checks above
            expected.update(found)
        last = rows[-1][0]
    stored = Counter(
        {
            (name, value): count
            for name, value, count in db.session.execute(
                select(AuditFacet.name, AuditFacet.value, func.count()).group_by(
                    AuditFacet.name, AuditFacet.value
                )
            )
        }
    )
    differ = sorted(key for key in expected.keys() | stored.keys() if expected[key] != stored[key])
    problems = [
        f"the filter index says {stored[key]} entries have {key[0]} {key[1]!r} but the entries "
        f"say {expected[key]}: filtered views and exports would show the wrong entries"
        for key in differ[:FACET_PROBLEMS_SHOWN]
    ]
    if len(differ) > FACET_PROBLEMS_SHOWN:
        problems.append(f"and {len(differ) - FACET_PROBLEMS_SHOWN} more filter values differ")
    return problems

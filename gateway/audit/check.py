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

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from gateway.audit.checkpoints import iter_leaves, log_size, log_verifier, open_stored
from gateway.audit.log import verify_chain
from gateway.extensions import db
from gateway.models import LogCheckpoint
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
    return result

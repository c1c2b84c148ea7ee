"""Verify a whole publish log, leaf by leaf: chain, tree, checkpoints and auditor rules.

One pass, O(log n) memory for the tree (plus the auditor rules' per-post state), so it serves
both ``gateway audit verify`` (leaves read from the database) and ``gateway-verify`` (leaves read
from ``entries.jsonl``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gateway.transparency.chain import ChainChecker, ChainError
from gateway.transparency.checkpoint import Checkpoint
from gateway.transparency.merkle import RootBuilder
from gateway.transparency.rules import AuditorRules, RuleViolation

if TYPE_CHECKING:
    from gateway.transparency.parallel import Chunk

_sha256 = hashlib.sha256
_LEAF_PREFIX = b"\x00"


@dataclass(frozen=True, order=True)
class Finding:
    """Something that does not hold; ``index`` is the entry it concerns, if any."""

    index: int
    reason: str

    def __str__(self) -> str:
        return f"entry {self.index}: {self.reason}" if self.index >= 0 else self.reason


#: The block path is fastest on blocks of one to two hundred leaves (64 KB of them): the
#: block's text and parsed values then stay in the processor's cache; 2,000 leaves a block
#: measured over twice as slow a leaf. Longer runs are cut into even parts of at most this.
BLOCK_LINES = 256

#: Index used for findings about the log as a whole (sorted before any entry).
WHOLE_LOG = -1


@dataclass
class LogReport:
    """What one pass over the log found."""

    size: int = 0
    root: bytes = b""
    first_time: str = ""
    last_time: str = ""
    #: ``content_sha256`` values the leaves refer to, each with the first entry that does.
    content_hashes: dict[str, int] = field(default_factory=dict)
    #: Roots at the sizes asked for (checkpoints), recomputed from the leaves.
    roots: dict[int, bytes] = field(default_factory=dict)
    failures: list[Finding] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    #: Approvals the auditor rules flag for a person's review (they do not fail the log).
    flags: list[str] = field(default_factory=list)
    published: int = 0
    attempts: int = 0
    broken_at: int | None = None

    @property
    def ok(self) -> bool:
        """Whether everything held."""
        return not self.failures

    def first_failure(self) -> Finding | None:
        """The earliest finding (whole-log findings first)."""
        return min(self.failures) if self.failures else None


class LogVerifier:
    """Feed leaves from leaf 0 with :meth:`feed`, then :meth:`finish`.

    ``roots_at`` are tree sizes whose root to record on the way (an older checkpoint's size); a
    structural failure (parse, chain) stops the pass, since nothing after it can be trusted,
    while rule violations are collected to the end.
    """

    def __init__(self, *, roots_at: Iterable[int] = (), check_rules: bool = True) -> None:
        self._chain = ChainChecker()
        self._tree = RootBuilder()
        self._rules = AuditorRules() if check_rules else None
        self._roots_at = {size for size in roots_at if size > 0}
        self.report = LogReport()
        self.partial: list[dict[str, Any]] = []
        if 0 in set(roots_at):
            self.report.roots[0] = self._tree.root()

    @property
    def broken(self) -> bool:
        """Whether a structural failure has stopped the pass."""
        return self.report.broken_at is not None

    def feed(self, line: bytes) -> bool:
        """Check the next leaf; return ``False`` once the log is broken (stop feeding)."""
        return self._feed(line) is not None

    def _feed(self, line: bytes) -> dict[str, Any] | None:
        if self.report.broken_at is not None:
            return None
        try:
            leaf = self._chain.feed(line)
        except ChainError as exc:
            self.report.broken_at = exc.failure.index
            self.report.failures.append(Finding(exc.failure.index, exc.failure.reason))
            return None
        tree = self._tree
        tree.append(_sha256(_LEAF_PREFIX + line).digest())
        if tree.size in self._roots_at:
            self.report.roots[tree.size] = tree.root()
        index = tree.size - 1
        if index == 0:
            self.report.first_time = leaf["time"]
        content = leaf["content_sha256"]
        if content is not None:
            self.report.content_hashes.setdefault(content, index)
        if self._rules is not None:
            self._rules.feed(index, leaf)
        return leaf

    def feed_block(self, lines: Sequence[bytes], raw: bytes | None = None) -> bool:
        """Check the next leaves, ``raw`` being them joined by newlines (``None``: join them).

        The same as :meth:`feed` on each line in turn, done a block at a time when every line
        passes (the common case), and line by line when one does not, so the first failing
        entry is named exactly as :meth:`feed` names it.
        """
        return self.feed_leaves(lines, raw) is not None

    def feed_leaves(
        self, lines: Sequence[bytes], raw: bytes | None = None
    ) -> Sequence[dict[str, Any]] | None:
        """:meth:`feed_block`, returning the parsed leaves, or ``None`` once the log is broken
        (then the leaves parsed before the break are in ``partial``)."""
        self.partial: list[dict[str, Any]] = []
        if self.report.broken_at is not None:
            return None
        if not lines:
            return ()
        if len(lines) > BLOCK_LINES:
            # Even parts: 300 lines as 150 and 150, not 256 and a costly little block of 44.
            parts = -(-len(lines) // BLOCK_LINES)
            width = -(-len(lines) // parts)
            leaves: list[dict[str, Any]] = []
            for start in range(0, len(lines), width):
                some = self.feed_leaves(lines[start : start + width])
                if some is None:
                    self.partial[:0] = leaves
                    return None
                leaves.extend(some)
            return leaves
        chain, tree, report = self._chain, self._tree, self.report
        start = chain.index
        block = chain.feed_block(lines, b"\n".join(lines) if raw is None else raw)
        if block is None:
            leaves = self.partial
            for line in lines:
                leaf = self._feed(line)
                if leaf is None:
                    return None
                leaves.append(leaf)
            return leaves
        hashes = block.leaf_hashes
        # A size asked for inside the block: stop the tree there to read its root.
        done = 0
        for size in sorted(s for s in self._roots_at if start < s <= start + len(hashes)):
            tree.extend(hashes[done : size - start])
            report.roots[size] = tree.root()
            done = size - start
        tree.extend(hashes[done:])
        if start == 0:
            report.first_time = block.times[0]
        known = report.content_hashes
        # The first entry to refer to each content: build from the end so the first one wins.
        indices = range(start + len(hashes) - 1, start - 1, -1)
        firsts = dict(zip(reversed(block.contents), indices, strict=True))
        firsts.pop(None, None)
        for digest, index in firsts.items():
            # Not ``firsts.keys() - known.keys()``: that walks all of ``known`` every block.
            if digest not in known:
                known[digest] = index
        if self._rules is not None:
            self._rules.feed_block(start, block.values, block.actions)
        return block.values

    def feed_chunk(self, chunk: Chunk) -> None:
        """Take a chunk that :func:`gateway.transparency.parallel.check_chunk` found sound and
        that follows on from what was fed before: the same as :meth:`feed_block` on its lines.
        """
        chain, tree, report = self._chain, self._tree, self.report
        if chunk.start != chain.index or chunk.count == 0:
            raise ValueError("the chunk does not follow on")
        data = chunk.leaf_hashes
        hashes = [data[i : i + 32] for i in range(0, len(data), 32)]
        start = chain.index
        done = 0
        for size in sorted(s for s in self._roots_at if start < s <= start + len(hashes)):
            tree.extend(hashes[done : size - start])
            report.roots[size] = tree.root()
            done = size - start
        tree.extend(hashes[done:])
        if start == 0:
            report.first_time = chunk.first_time
        known = report.content_hashes
        for digest, index in chunk.contents.items():
            if digest not in known:
                known[digest] = index
        if self._rules is not None:
            from gateway.transparency.parallel import slim_items

            self._rules.feed_items(slim_items(chunk.ruled))
            self._rules.saw_time(chunk.last_time)
        chain.index += chunk.count
        chain.prev = chunk.last_hash
        chain.last_time = chunk.last_time

    def feed_all(self, lines: Iterable[bytes]) -> LogReport:
        """Feed every line (stopping at a structural failure) and finish."""
        feed = self.feed
        for line in lines:
            if not feed(line):
                break
        return self.finish()

    def finish(self) -> LogReport:
        """Close the pass: the root, end-of-log rules and sizes asked for but never reached."""
        report = self.report
        report.size = self._tree.size
        report.root = self._tree.root()
        report.last_time = self._chain.last_time
        if self._rules is not None and report.broken_at is None:
            violations: list[RuleViolation] = self._rules.finish()
            report.failures.extend(Finding(v.index, v.reason) for v in violations)
            report.pending.extend(self._rules.pending)
            report.flags.extend(self._rules.flags)
            report.published, report.attempts = self._rules.published, self._rules.attempts
        report.failures.sort()
        return report


def check_against_checkpoints(
    report: LogReport, checkpoint: Checkpoint | None, previous: Iterable[Checkpoint] = ()
) -> None:
    """Add findings for every checkpoint the recomputed log does not match.

    ``checkpoint`` is the one that should cover the log (the database may have grown since it
    was signed, so its size may be below the log's); each of ``previous`` is an older one the
    log must extend. Matching the first ``m`` leaves' root to an old checkpoint's root is the
    strongest form of the RFC 9162 section 2.1.4 consistency check: it catches a rollback, a
    truncation, a fork and a rewritten history alike.
    """
    for label, cp in [("checkpoint", checkpoint), *(("previous checkpoint", p) for p in previous)]:
        if cp is None:
            continue
        if report.broken_at is not None and cp.size > report.broken_at:
            continue  # already failed at the broken entry
        if cp.size > report.size:
            report.failures.append(
                Finding(
                    WHOLE_LOG,
                    f"the log has {report.size} entries but the {label} covers {cp.size}: "
                    "entries were removed (truncated or rolled back)",
                )
            )
            continue
        root = report.roots.get(cp.size)
        if root is None:
            raise ValueError(f"size {cp.size} was not asked for with roots_at")
        if root != cp.root_hash:
            report.failures.append(
                Finding(
                    WHOLE_LOG,
                    f"the first {cp.size} entries do not hash to the {label}'s root: the "
                    "history it covers was rewritten (or the checkpoint is a fork)",
                )
            )
    report.failures.sort()


def verify_leaves(
    leaves: Iterable[bytes],
    *,
    checkpoint: Checkpoint | None = None,
    previous: Iterable[Checkpoint] = (),
    check_rules: bool = True,
) -> LogReport:
    """Verify a whole log from leaf 0, and that it matches ``checkpoint`` and ``previous``.

    This is the in-app ``gateway audit verify``: feed it the database's leaves in ``seq`` order
    and its latest stored checkpoint.
    """
    previous = list(previous)
    sizes = [cp.size for cp in [checkpoint, *previous] if cp is not None]
    verifier = LogVerifier(roots_at=sizes, check_rules=check_rules)
    report = verifier.feed_all(leaves)
    check_against_checkpoints(report, checkpoint, previous)
    return report

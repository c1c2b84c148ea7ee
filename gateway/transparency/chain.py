"""The hash chain over the publish log's leaves (issue #3's chain, kept by issue #8).

Each leaf's ``prev`` is the hex SHA-256 of the previous leaf's bytes, ``seq`` is its index and
``time`` never goes backwards. Shared by the app's ``gateway audit verify`` and the offline
``gateway-verify``, so both name the same first broken entry for the same reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.transparency.blocks import BlockMemory, LeafBlock, check_leaf_block
from gateway.transparency.leaf import GENESIS_PREV, LeafChecker, LeafError, parse_canonical

_sha256 = hashlib.sha256


@dataclass(frozen=True)
class ChainFailure:
    """The first entry that breaks the log, and why."""

    index: int
    reason: str

    def __str__(self) -> str:
        return f"entry {self.index}: {self.reason}"


class ChainError(ValueError):
    """Raised by :meth:`ChainChecker.feed` for the entry that breaks the chain."""

    def __init__(self, failure: ChainFailure) -> None:
        super().__init__(str(failure))
        self.failure = failure


class ChainChecker:
    """Feed leaves in order; each is parsed, checked and linked to the one before.

    ``start``/``prev``/``last_time`` let a caller resume from a trusted entry (the in-app check
    can start after the entries a previous run verified).
    """

    __slots__ = ("_checker", "_memory", "index", "last_time", "prev")

    def __init__(self, start: int = 0, prev: str = GENESIS_PREV, last_time: str = "") -> None:
        self.index = start
        self.prev = prev
        self.last_time = last_time
        self._checker = LeafChecker()
        self._memory = BlockMemory()

    def feed(self, line: bytes) -> dict[str, Any]:
        """Check the next leaf (bytes without the newline) and return it parsed."""
        index = self.index
        try:
            leaf = parse_canonical(line)
            # A "prev" equal to the hash computed here needs no separate format check.
            linked = type(leaf) is dict and leaf.get("prev") == self.prev
            self._checker.check(leaf, prev_checked=linked)
        except LeafError as exc:
            raise ChainError(ChainFailure(index, str(exc))) from None
        if leaf["seq"] != index:
            raise ChainError(
                ChainFailure(
                    index,
                    f'"seq" is {leaf["seq"]} at position {index}: entries were deleted, '
                    "inserted or reordered",
                )
            )
        if leaf["prev"] != self.prev:
            raise ChainError(
                ChainFailure(
                    index,
                    f'hash chain broken: its "prev" {leaf["prev"][:16]}... is not the hash of '
                    f"entry {index - 1} ({self.prev[:16]}...): one of the two was altered",
                )
            )
        when = leaf["time"]
        if when < self.last_time:
            # Fixed-width UTC timestamps order the same as strings and as instants.
            raise ChainError(
                ChainFailure(index, f"time goes backwards: {when} is before {self.last_time}")
            )
        self.last_time = when
        self.prev = _sha256(line).hexdigest()
        self.index = index + 1
        return leaf

    def feed_block(self, lines: Sequence[bytes], raw: bytes) -> LeafBlock | None:
        """Check the next ``len(lines)`` leaves at once (``raw``: them joined by newlines).

        Returns ``None``, with nothing consumed, unless every one passes everything
        :meth:`feed` checks; the caller then feeds them one by one to find the first failure.
        """
        block = check_leaf_block(
            lines,
            raw,
            start=self.index,
            prev=self.prev,
            last_time=self.last_time,
            memory=self._memory,
        )
        if block is not None:
            self.index += len(lines)
            self.prev = block.last_hash
            self.last_time = block.times[-1]
        return block


def verify_chain(leaves: Iterable[bytes]) -> ChainFailure | None:
    """The first entry of ``leaves`` (from leaf 0) that breaks the chain, or ``None``."""
    checker = ChainChecker()
    try:
        for line in leaves:
            checker.feed(line)
    except ChainError as exc:
        return exc.failure
    return None

"""Check ``entries.jsonl`` on every core: independent chunks, results merged in log order.

The per-entry checks (strict parse, canonical form, leaf format, the hash chain inside a chunk,
leaf hashes) need nothing from the rest of the log but three facts about the entry before the
chunk: its index, its hash and its time. The parent reads those off the bytes around each chunk
boundary (the hash of the line before the boundary, its ``time``), so the chunks are checked at
once in worker processes with the same code the one-core pass runs
(:meth:`gateway.transparency.chain.ChainChecker.feed_block`, and line by line where a block is
not certain). The parent then takes the chunks in order: the Merkle tree, the checkpoint roots,
the first reference to each post content and the auditor rules, which carry state across the
whole log, run there on what each chunk sends back (its leaf hashes and, for the few fields the
rules read, the entries they concern).

Anything that does not pass, in any chunk, and anything the parent cannot be sure of (a line
too long to find a boundary, chunk indices that do not follow on), makes the caller verify the
whole export again on one core: that pass names the first failing entry and why, exactly as
before. A log that verifies is the common case, and the only one the parallel pass speeds up.

Standard library only, as :mod:`gateway.verify` (issue #8).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from itertools import compress, count
from operator import is_not, itemgetter, methodcaller
from pathlib import Path
from typing import Any

from gateway.transparency.chain import ChainChecker, ChainError
from gateway.transparency.leaf import GENESIS_PREV, MAX_LEAF_BYTES

#: A chunk of about 8 MB (some 20,000 entries): small enough that the parent's share (tree and
#: rules) of one chunk overlaps the workers' checking of the next ones, large enough that the
#: pickled answers and the per-task cost are small beside the work.
CHUNK_BYTES = 8 << 20

#: Below this the pool's start-up costs more than it saves: one core.
MIN_PARALLEL_BYTES = 32 << 20

#: A block of the chunk as the one-core pass reads it (gateway.verify.BLOCK_BYTES).
_BLOCK_BYTES = 1 << 16

#: The fields of a leaf's payload that the auditor rules read
#: (gateway.transparency.rules): a chunk sends back only these, which is all the rules see.
RULE_PAYLOAD_FIELDS = (
    "approver_id",
    "attempt_id",
    "author_id",
    "delivery_id",
    "outcome",
    "post_id",
)

_RULED_ACTIONS = frozenset(
    {
        "post.created",
        "post.edited",
        "post.approved",
        "emergency.published",
        "delivery.attempt",
        "delivery.outcome",
    }
)

_sha256 = hashlib.sha256
_not_none = partial(is_not, None)


class NotSure(Exception):
    """The parallel pass cannot vouch for this export: verify it on one core."""


@dataclass
class Chunk:
    """What one chunk's check sends back to the parent."""

    start: int
    count: int = 0
    leaf_hashes: bytes = b""
    first_time: str = ""
    last_time: str = ""
    last_hash: str = ""
    #: Each post content's hash with the first entry of the chunk that refers to it.
    contents: dict[str, int] = field(default_factory=dict)
    #: The entries a rule is about, each as a :data:`Ruled` tuple.
    ruled: list[Ruled] = field(default_factory=list)
    #: Whether every entry passed; ``False`` sends the caller to the one-core pass.
    ok: bool = True


#: A ruled entry as a chunk sends it: (index, action, time, actor id, object id, object type,
#: then the payload's RULE_PAYLOAD_FIELDS in order), None for a field the leaf does not have.
#: The rules read every payload field with ``get`` and the object by its type, so a missing
#: field and a None one are the same to them. Flat tuples of scalars pickle and unpickle
#: several times faster than the nested dicts they stand for (they were a quarter of a
#: worker's time, issue 19), and repeated strings are sent once a chunk (``_same``).
Ruled = tuple


class _RuledActions(dict):
    """Whether a rule is about an action, remembered per action (a log repeats a few)."""

    def __missing__(self, action: str) -> bool:
        ruled = action in _RULED_ACTIONS or action.startswith("user.")
        if len(self) < _ACTIONS_REMEMBERED:
            self[action] = ruled
        return ruled


_ACTIONS_REMEMBERED = 4096
_is_ruled = _RuledActions().__getitem__
_NO_OBJECT: dict[str, Any] = {}
_leaf_payload, _leaf_object = itemgetter("payload"), itemgetter("object")
_leaf_time, _leaf_actor, _actor_id = itemgetter("time"), itemgetter("actor"), itemgetter("id")
_get_id, _get_type = methodcaller("get", "id"), methodcaller("get", "type")
_PAYLOAD_GETS = tuple(methodcaller("get", name) for name in RULE_PAYLOAD_FIELDS)


def _ruled_of_block(
    first: int, values: Sequence[dict[str, Any]], actions: Sequence[str], same: dict[str, str]
) -> Iterator[Ruled]:
    """The :data:`Ruled` tuple of each entry of a block (entries ``first``...) that a rule is
    about, built a column at a time: one C-level ``map`` a field instead of a Python call an
    entry (the per-entry call was a fifth of a worker's time, issue 19)."""
    flags = list(map(_is_ruled, actions))
    picked = list(compress(values, flags))
    if not picked:
        return iter(())
    kinds = list(compress(actions, flags))
    payloads = list(map(_leaf_payload, picked))
    objects = [_NO_OBJECT if o is None else o for o in map(_leaf_object, picked)]
    types = list(map(_get_type, objects))
    return zip(
        compress(count(first), flags),
        map(same.setdefault, kinds, kinds),
        map(_leaf_time, picked),
        map(_actor_id, map(_leaf_actor, picked)),
        map(_get_id, objects),
        map(same.setdefault, types, types),
        *(map(get, payloads) for get in _PAYLOAD_GETS),
        strict=True,
    )


def slim_items(ruled: list[Ruled]) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """The ``(index, action, leaf)`` items the rules take (``AuditorRules.feed_items``), each
    leaf holding only the fields a rule reads, from a chunk's tuples."""
    fields = RULE_PAYLOAD_FIELDS
    for index, action, time, actor, obj_id, obj_type, *values in ruled:
        leaf = {
            "action": action,
            "time": time,
            "object": None if obj_type is None else {"id": obj_id, "type": obj_type},
            "actor": {"id": actor},
            # A field the leaf lacks is None here: the rules read each with ``get``.
            "payload": dict(zip(fields, values, strict=True)),
        }
        yield index, action, leaf


def _iter_blocks(data: bytes) -> Iterator[tuple[list[bytes], bytes]]:
    """``data`` (whole lines, each ending in a newline) a block of lines at a time."""
    at, end = 0, len(data)
    while at < end:
        cut = data.rfind(b"\n", at, min(at + _BLOCK_BYTES, end))
        if cut < at:
            cut = data.find(b"\n", at)
        raw = data[at:cut]
        yield raw.split(b"\n"), raw
        at = cut + 1


def check_chunk(
    path: str, offset: int, length: int, start: int, prev: str, last_time: str
) -> Chunk:
    """Check the entries in ``length`` bytes of ``path`` from ``offset``: entries ``start``...

    ``prev`` and ``last_time`` are the hash and time of the entry before the chunk. Runs in a
    worker process; never raises for any content of the file (a failing entry makes ``ok``
    false).
    """
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read(length)
    chunk = Chunk(start=start)
    if len(data) != length or not data.endswith(b"\n"):
        chunk.ok = False
        return chunk
    chain = ChainChecker(start=start, prev=prev, last_time=last_time)
    hashes: list[bytes] = []
    contents = chunk.contents
    ruled = chunk.ruled
    same: dict[str, str] = {}
    try:
        for lines, raw in _iter_blocks(data):
            if max(map(len, lines)) > MAX_LEAF_BYTES:
                chunk.ok = False
                return chunk
            first = chain.index
            block = chain.feed_block(lines, raw)
            if block is not None:
                values, actions, block_contents = block.values, block.actions, block.contents
                hashes.extend(block.leaf_hashes)
            else:
                values = [chain.feed(line) for line in lines]
                actions = [leaf["action"] for leaf in values]
                block_contents = [leaf["content_sha256"] for leaf in values]
                hashes.extend(_sha256(b"\x00" + line).digest() for line in lines)
            if any(map(_not_none, block_contents)):
                referring = compress(count(first), map(_not_none, block_contents))
                for index, digest in zip(referring, filter(_not_none, block_contents), strict=True):
                    contents.setdefault(digest, index)
            ruled.extend(_ruled_of_block(first, values, actions, same))
            if not chunk.first_time:
                chunk.first_time = values[0]["time"]
    except ChainError:
        chunk.ok = False
        return chunk
    except Exception:  # noqa: BLE001 - whatever it is, the one-core pass will name it
        chunk.ok = False
        return chunk
    chunk.count = chain.index - start
    chunk.leaf_hashes = b"".join(hashes)
    chunk.last_time = chain.last_time
    chunk.last_hash = chain.prev
    return chunk


@dataclass(frozen=True)
class Boundary:
    """Where a chunk starts, and the hash and time of the line before it."""

    offset: int
    prev: str
    last_time: str


def boundaries(path: Path, size: int, chunk_bytes: int | None = None) -> list[Boundary]:
    """Chunk starts about every ``chunk_bytes`` of ``path`` (``size`` bytes), on line starts.

    Raises :class:`NotSure` where a line is too long to be an entry (the one-core pass names
    it).
    """
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    found = [Boundary(0, GENESIS_PREV, "")]
    with open(path, "rb") as handle:
        for target in range(chunk_bytes, size, chunk_bytes):
            line, offset = _line_before(handle, target, found[-1].offset, 1 << 16)
            if offset >= size:
                break
            try:
                leaf = json.loads(line)
                when = leaf["time"] if type(leaf) is dict and type(leaf["time"]) is str else ""
            except (ValueError, KeyError, TypeError):
                raise NotSure("an entry before a chunk boundary does not parse") from None
            found.append(Boundary(offset, _sha256(line).hexdigest(), when))
    return found


def _line_before(handle: Any, target: int, floor: int, width: int) -> tuple[bytes, int]:
    """The line that ends at the first newline from ``target`` on, and the offset after it.

    Reads ``width`` bytes either side of ``target`` (never before ``floor``, the previous
    chunk's start), and then, where a line is longer, as far as an entry may be long.
    """
    start = max(floor, target - width)
    handle.seek(start)
    window = handle.read(target - start + width)
    cut = window.find(b"\n", target - start)
    before = window.rfind(b"\n", 0, cut) if cut >= 0 else -1
    if cut >= 0 and (before >= 0 or start == floor):
        return window[before + 1 : cut], start + cut + 1
    if width > MAX_LEAF_BYTES:
        raise NotSure("a line near a chunk boundary is longer than an entry may be")
    return _line_before(handle, target, floor, MAX_LEAF_BYTES + 1)


def default_jobs() -> int:
    """Every core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def check_chunks(path: Path, jobs: int) -> Iterator[Chunk]:
    """Every chunk of ``path``'s check, in log order, checked ``jobs`` at a time.

    Raises :class:`NotSure` at the first chunk that did not pass or does not follow on.
    """
    size = path.stat().st_size
    if size == 0:
        return
    starts = boundaries(path, size)
    ends = [b.offset for b in starts[1:]] + [size]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        # Each chunk is checked from the index its first line claims; the parent then checks
        # that the indices follow on (a chunk's first entry is the one after its
        # predecessor's last), so a claim that is wrong fails there.
        futures = [
            pool.submit(
                check_chunk,
                str(path),
                b.offset,
                end - b.offset,
                _first_seq(path, b),
                b.prev,
                b.last_time,
            )  # fmt: skip
            for b, end in zip(starts, ends, strict=True)
        ]
        expected = 0
        try:
            for future in futures:
                chunk = future.result()
                if not chunk.ok or chunk.start != expected:
                    raise NotSure("a chunk did not pass")
                expected += chunk.count
                yield chunk
        finally:
            for future in futures:
                future.cancel()


def _first_seq(path: Path, boundary: Boundary) -> int:
    """The ``seq`` the chunk's first line claims (checked against the counts as they come)."""
    if boundary.offset == 0:
        return 0
    with open(path, "rb") as handle:
        handle.seek(boundary.offset)
        head = handle.read(MAX_LEAF_BYTES + 1)
    line = head.split(b"\n", 1)[0]
    # The canonical form puts "seq" after "prev": read it without parsing the whole line.
    marker = line.rfind(b',"seq":')
    if marker < 0:
        return -1
    digits = line[marker + 7 :].split(b",", 1)[0].split(b"}", 1)[0]
    return int(digits) if digits.isdigit() else -1

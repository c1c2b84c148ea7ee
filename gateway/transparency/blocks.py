"""Check a block of leaves at once, with C-level loops: the verifier's fast path (issue #8).

``gateway-verify`` reads a million leaves; checking them one at a time costs more in the
interpreter's per-line overhead than in the C parser, encoder and hash it calls. This module
checks a whole block (a few thousand lines) with one parse, one ``map`` per step and set
operations over columns, and answers one question: does *every* line of the block pass every
check of the exact per-line path (:meth:`gateway.transparency.chain.ChainChecker.feed`)? It
either says yes, with what the rest of the pass needs, or ``None``: it never names a failure.
On ``None`` the caller re-checks the block line by line, so the first failing entry is named
with its reason exactly as before, and a block the fast path was merely unsure of (a line with
characters outside the Basic Multilingual Plane, say) still verifies.

Each line is parsed on its own (one ``map`` of the C scanner over the block's lines) and must
be one value to its last character. Parsing the block as one JSON array would be faster, but
cannot say where each value starts: ``{"a":[{"x":1}``, ``{"y":2}]}`` and ``{"p":1},{"q":2}``
are three lines, none of them JSON, that join into an array of three objects, and even one
re-encoding of that array compared with the joined lines would accept them. That each line is
canonical is then proven without re-encoding most of them (see :func:`_canonical`).
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial, wraps
from itertools import chain, repeat
from operator import is_not, itemgetter, le, methodcaller
from typing import Any, Concatenate, ParamSpec, TypeVar

from gateway.transparency.leaf import (
    _ACTION,
    _LONG_NUMBER,
    _NUMBER_MARKS,
    _OUTSIDE_BMP,
    ACTOR_KINDS,
    LEAF_KEYS,
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    _scan,
)

_sha256 = hashlib.sha256
_HASH = type(_sha256())
_digest = _HASH.digest
_hexdigest = _HASH.hexdigest

#: A leaf's keys in canonical (sorted) order: a parsed canonical leaf's dict has exactly these.
LEAF_ORDER = tuple(sorted(LEAF_KEYS))
_ACTOR_ORDER = ("email", "id", "kind")
_OBJECT_ORDER = ("id", "type")
_columns = itemgetter(*LEAF_ORDER)
_actor_columns = itemgetter(*_ACTOR_ORDER)
_object_id, _object_type = itemgetter("id"), itemgetter("type")
_day = itemgetter(slice(0, 10))
_not_none = partial(is_not, None)
_NONE = type(None)
_SCALARS = frozenset({str, int, bool, _NONE})
_SCALARS_AND_LIST = _SCALARS | {list}
_is_list = list.__instancecheck__
_is_int = int.__instancecheck__
_has_space = methodcaller("__contains__", b" ")
#: Keys in a leaf outside its object and payload: the leaf's 8 and the actor's 3.
_KEYS_A_LEAF = len(LEAF_ORDER) + 3

# One regular expression over a column joined by newlines, instead of one call a line.
_TIMES = re.compile(
    r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{6}Z\n)*"
)
_HEX64S = re.compile(r"(?:[0-9a-f]{64}\n)*")

# Nesting: keep only brackets and newlines (and tabs and CRs, which are refused), then look
# for a line with more than MAX_DEPTH brackets: only such a line can be nested too deeply, and
# the exact path measures it.
_NOT_MARKS = bytes(b for b in range(256) if b not in b"{[\n\t\r")
_TOO_MANY_BRACKETS = re.compile(rb"[^\n]{%d}" % (MAX_DEPTH + 1))

#: How many distinct valid days and actions a checker remembers (a log repeats a few).
_CACHE_LIMIT = 4096


def _make_encoder() -> Any:
    make = getattr(json.encoder, "c_make_encoder", None)
    basestring = getattr(json.encoder, "c_encode_basestring", None)
    if make is None or basestring is None:  # pragma: no cover - not CPython: no fast path
        return None
    return make(None, None, basestring, None, ":", ",", True, False, False)


_encode = _make_encoder()
_join = "".join


@dataclass
class LeafBlock:
    """A block whose every line passed: what the rest of the verifier needs from it."""

    values: tuple[dict[str, Any], ...]
    actions: tuple[str, ...]
    times: tuple[str, ...]
    contents: tuple[str | None, ...]
    #: ``leaf_hash`` of each line, in order, for the Merkle tree.
    leaf_hashes: list[bytes]
    #: The hex SHA-256 of the last line: the next entry's ``prev``.
    last_hash: str


class BlockMemory:
    """Values already found valid, so that a block checks each distinct one once."""

    __slots__ = ("actions", "days")

    def __init__(self) -> None:
        self.actions: set[str] = set()
        self.days: set[str] = set()

    def remember(self, kept: set[str], found: set[str]) -> None:
        if len(kept) + len(found) > _CACHE_LIMIT:
            kept.clear()
        kept |= found


#: What a hostile block can raise in the fast path (a LeafError from a fraction, an unhashable
#: value where a set needs one...): each means only "not sure", and the exact path decides.
_NOT_SURE = (ValueError, TypeError, KeyError, AttributeError, RecursionError, StopIteration)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _fast_path(
    check: Callable[Concatenate[Sequence[bytes], bytes, _P], _R | None],
) -> Callable[Concatenate[Sequence[bytes], bytes, _P], _R | None]:
    """``check`` of a block's ``lines`` (``raw`` is them joined by newlines), or ``None`` where
    the fast path cannot say: no C encoder, an empty block, or anything the check raises."""

    @wraps(check)
    def checked(
        lines: Sequence[bytes], raw: bytes, /, *args: _P.args, **kwargs: _P.kwargs
    ) -> _R | None:
        if _encode is None or not lines:
            return None
        try:
            return check(lines, raw, *args, **kwargs)
        except _NOT_SURE:
            return None

    return checked


@_fast_path
def check_leaf_block(
    lines: Sequence[bytes],
    raw: bytes,
    *,
    start: int,
    prev: str,
    last_time: str,
    memory: BlockMemory,
) -> LeafBlock | None:
    """Check ``lines`` (``raw`` is them joined by newlines) as entries ``start``, ``start + 1``...

    ``prev`` and ``last_time`` are the chain's state before the block. Returns ``None`` unless
    every line passes every check of the per-line path; never raises for any input.
    """
    n = len(lines)
    # The exact path's cheap pre-checks, over the whole block in one call each.
    if not raw.isascii() and _OUTSIDE_BMP.search(raw):
        return None  # UTF-16 key order: the exact path sorts those keys itself
    marks = raw.translate(None, _NOT_MARKS)
    if _TOO_MANY_BRACKETS.search(marks) or b"\t" in marks or b"\r" in marks:
        return None  # nested too deeply, or a tab or carriage return (whitespace)
    text = raw.decode("utf-8")  # strict: invalid UTF-8 raises, and the exact path says where
    texts = text.split("\n")
    # Each line parsed on its own, to its last character: one value a line, nothing around it.
    # (One parse of the block as an array would be faster, but cannot tell where each value
    # starts: see the module's note.)
    values, ends = zip(*map(_scan, texts, repeat(0)), strict=True)
    if len(values) != n or list(ends) != list(map(len, texts)):
        return None
    if set(map(type, values)) != {dict} or set(map(tuple, values)) != {LEAF_ORDER}:
        return None
    actions, actors, contents, objects, payloads, prevs, seqs, times = zip(
        *map(_columns, values), strict=True
    )
    if set(map(type, actors)) != {dict} or set(map(tuple, actors)) != {_ACTOR_ORDER}:
        return None
    if not set(map(type, objects)) <= {dict, _NONE}:
        return None
    named = list(filter(_not_none, objects))
    if named and set(map(tuple, named)) != {_OBJECT_ORDER}:
        return None
    if set(map(type, payloads)) != {dict}:
        return None
    emails, ids, kinds = zip(*map(_actor_columns, actors), strict=True)
    if not _canonical(lines, raw, texts, values, payloads, objects, len(named), ids, seqs):
        return None

    # The leaf format, a column at a time.
    if seqs != tuple(range(start, start + n)) or set(map(type, seqs)) != {int}:
        return None
    if set(map(type, times)) != {str} or not _TIMES.fullmatch("\n".join(times) + "\n"):
        return None
    if not (last_time <= times[0] and all(map(le, times, times[1:]))):
        return None
    days = set(map(_day, times)) - memory.days
    for day in days:
        date.fromisoformat(day)  # ValueError for 2026-02-30
    memory.remember(memory.days, days)
    if not set(map(type, ids)) <= {int, _NONE} or not set(map(type, emails)) <= {str, _NONE}:
        return None
    if max(map(abs, filter(_not_none, ids)), default=0) > MAX_SAFE_INTEGER:
        return None
    if not set(kinds) <= ACTOR_KINDS:
        return None
    if set(map(type, actions)) != {str}:
        return None
    new_actions = set(actions) - memory.actions
    if not all(map(_ACTION.fullmatch, new_actions)):
        return None
    memory.remember(memory.actions, new_actions)
    if named and (
        set(map(type, map(_object_id, named))) != {str}
        or set(map(type, map(_object_type, named))) != {str}
    ):
        return None
    hashed = list(filter(_not_none, contents))
    if hashed and (
        set(map(type, hashed)) != {str} or not _HEX64S.fullmatch("\n".join(hashed) + "\n")
    ):
        return None

    # The chain: each "prev" is the hash of the line before (which also proves its format).
    entry_hashes = list(map(_hexdigest, map(_sha256, lines)))
    if prevs[0] != prev or prevs[1:] != tuple(entry_hashes[:-1]):
        return None
    leaf_hashes = list(map(_digest, map(_sha256, map(b"\x00".__add__, lines))))
    return LeafBlock(values, actions, times, contents, leaf_hashes, entry_hashes[-1])


def _canonical(
    lines: Sequence[bytes],
    raw: bytes,
    texts: list[str],
    values: tuple[Any, ...],
    payloads: tuple[dict[str, Any], ...],
    objects: tuple[Any, ...],
    named: int,
    actor_ids: tuple[Any, ...],
    seqs: tuple[Any, ...],
) -> bool:
    """Whether every line is the RFC 8785 form of its value (what ``parse_canonical`` proves
    by re-encoding), given that the block parsed and its leaf, actor and object keys are in
    order; and each line is its own value, not part of a neighbour's.

    Re-encoding costs more than parsing, so most lines are proven from what a strict parse
    already established plus a few facts read off the bytes. In a line with no backslash every
    string is written raw, which is its canonical form (the strict parser refuses raw control
    characters, the only ones RFC 8785 escapes besides the quote and backslash); every ``"``
    then opens or closes a string, so a space outside the strings shows as a space between an
    even number of quotes; integers are canonical but for ``-0`` (fractions are refused and
    the grammar has no leading zeros or plus signs) and those beyond 2**53 (checked by the
    caller); a duplicate key leaves the parsed object smaller than the text's count of keys
    (every ``":`` ends a key, or begins a string that starts with a colon: the count can only
    be too high). What remains is key order, read off the parsed objects, whose keys keep the
    order of the text. Lines with a backslash, and payloads that hold objects, are re-encoded.
    """
    # A log repeats a few dozen payload shapes: check each shape's key order once.
    if any(list(keys) != sorted(keys) for keys in set(map(tuple, payloads))):
        return False
    encode: set[int] = set()
    if b"\\" in raw:
        encode.update(i for i, line in enumerate(lines) if b"\\" in line)
    # A flat payload holds scalars and lists of scalars: its integers are all in ``inner``
    # and it has no keys but its own. Any other payload's line is re-encoded.
    inner = list(chain.from_iterable(map(dict.values, payloads)))
    kinds = set(map(type, inner))
    if not kinds <= _SCALARS:
        items = list(chain.from_iterable(filter(_is_list, inner)))
        if not (kinds <= _SCALARS_AND_LIST and set(map(type, items)) <= _SCALARS):
            encode.update(i for i, payload in enumerate(payloads) if not _flat(payload))
        inner.extend(items)
    # Integers beyond 2**53 (RFC 8785 numbers are doubles): in flat payloads they are among
    # ``inner``; lines re-encoded below are searched as the exact path searches them.
    if max(map(abs, filter(_is_int, inner)), default=0) > MAX_SAFE_INTEGER:
        return False
    # "-0" parses as 0 but is not its canonical form; with no 0 among the block's integers
    # there is none (a number follows ":", "," or "[").
    if (0 in inner or 0 in actor_ids or 0 in seqs) and (
        b":-0" in raw or b",-0" in raw or b"[-0" in raw
    ):
        return False
    if b" " in raw:
        for line in filter(_has_space, lines):
            # (A line with a backslash may fail this needlessly: the exact path then decides.)
            if b" " in b"".join(line.split(b'"')[0::2]):
                return False
    keys = _KEYS_A_LEAF * len(lines) + 2 * named + sum(map(len, payloads))
    # Counting single colons is several times faster than counting '":'; each time adds two.
    # The count of '":' is at least the count of keys; so is that of ":" less two a time.
    found = raw.count(b":") - 2 * len(lines)
    if found != keys or encode:
        found = raw.count(b'":')
    if encode:
        for i in encode:
            if _LONG_NUMBER in lines[i].translate(_NUMBER_MARKS):
                return False
            if _join(_encode(values[i], 0)) != texts[i]:
                return False
            keys -= _KEYS_A_LEAF + len(payloads[i]) + (2 if objects[i] is not None else 0)
            found -= lines[i].count(b'":')
    return found == keys


def _flat(payload: dict[str, Any]) -> bool:
    """A payload whose values are scalars or lists of scalars: no keys but its own."""
    for value in payload.values():
        if type(value) is list:
            if not set(map(type, value)) <= _SCALARS:
                return False
        elif type(value) not in _SCALARS:
            return False
    return True


_CONTENT_ORDER = ("content", "sha256")
_digest_column = itemgetter("sha256")
# A content line is {"content":...,"sha256":"<64 hex>"}: the content's bytes lie between these.
_CONTENT_SLICE = slice(len(b'{"content":'), -len(b',"sha256":"') - 64 - len(b'"}'))


@_fast_path
def check_content_block(lines: Sequence[bytes], raw: bytes) -> list[str] | None:
    """The ``sha256`` of each line of ``contents.jsonl`` in a block, if every line is the
    canonical ``{"content": ..., "sha256": ...}`` whose content hashes to it; else ``None``
    (the caller then checks line by line, to name the first line that fails and why).

    Post texts hold spaces, quotes and emoji, so these lines are re-encoded and compared, as
    ``parse_canonical`` does, only a block of them at a time.
    """
    if not raw.isascii() and _OUTSIDE_BMP.search(raw):
        return None
    if _LONG_NUMBER in raw.translate(_NUMBER_MARKS):
        return None
    if _TOO_MANY_BRACKETS.search(raw.translate(None, _NOT_MARKS)):
        return None
    texts = raw.decode("utf-8").split("\n")
    values, ends = zip(*map(_scan, texts, repeat(0)), strict=True)
    if list(ends) != list(map(len, texts)) or len(values) != len(lines):
        return None
    if list(map(_join, map(_encode, values, repeat(0)))) != texts:
        return None
    if set(map(type, values)) != {dict} or set(map(tuple, values)) != {_CONTENT_ORDER}:
        return None
    digests = list(map(_digest_column, values))
    if set(map(type, digests)) != {str} or not _HEX64S.fullmatch("\n".join(digests) + "\n"):
        return None
    bodies = map(bytes.__getitem__, lines, repeat(_CONTENT_SLICE))
    if list(map(_hexdigest, map(_sha256, bodies))) != digests:
        return None
    return digests

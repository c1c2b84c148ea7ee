"""The publish log's leaf: one audit entry as canonical JSON bytes, built and parsed strictly.

A leaf is ``canonical_json`` of an object with exactly the keys in :data:`LEAF_KEYS` (issue #8,
"THE LEAF FORMAT"). The parser is the gate every byte of an export passes through on an
auditor's machine, so it refuses anything that is not exactly what the gateway writes, with a
reason a person can act on, and never raises anything but :class:`LeafError`: no traceback for a
10 MB line, deep nesting, a BOM, CRLF, invalid UTF-8, duplicate keys or non-canonical spacing.

Speed: the verifier parses a million leaves, so the common case takes one C-level
``json.loads`` and one C-level ``json.dumps`` compared with the input. ``json.dumps`` with sorted
keys and no spaces *is* RFC 8785 for the values leaves hold, except for keys outside the Basic
Multilingual Plane (RFC 8785 sorts UTF-16 code units, Python sorts code points) and integers
beyond 2**53; lines that might hold either take the exact, slower path through
:func:`canonical_json`.
"""

from __future__ import annotations

import hashlib
import json
import json.scanner
import re
from datetime import date, datetime
from typing import Any

from gateway.transparency.canonical import MAX_SAFE_INTEGER, CanonicalJSONError, canonical_json

#: The keys of every leaf, no more and no fewer.
LEAF_KEYS = frozenset(
    {"seq", "time", "actor", "action", "object", "payload", "content_sha256", "prev"}
)
ACTOR_KEYS = frozenset({"id", "email", "kind"})
OBJECT_KEYS = frozenset({"type", "id"})
ACTOR_KINDS = frozenset({"user", "system", "anonymous"})

#: "prev" of the first leaf: there is no previous entry to hash.
GENESIS_PREV = "0" * 64

#: A leaf holds metadata and hashes, never post content or images (issue #8), so a line of
#: more than 1 MiB is not something the gateway wrote; refusing it early bounds memory.
MAX_LEAF_BYTES = 1 << 20

#: Payloads are shallow (a guardrail verdict lists rules; nothing nests deeper than a few
#: levels). The cap keeps every later walk over a value far from Python's recursion limit.
MAX_DEPTH = 32

#: Actions are short dotted names such as ``post.approved``.
_ACTION = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIME = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{6}Z"
)
# A JSON number of 16 or more digits may be beyond 2**53. In canonical JSON a number follows
# ":", "," or "[" (or is a "-" then digits); with every digit mapped to "0" and those marks to
# "#", one literal search finds one far faster than a regular expression. Inside strings such
# a pattern is rare and only costs the exact path.
_NUMBER_MARKS = bytes.maketrans(b"123456789:,[-", b"000000000####")
_LONG_NUMBER = b"#" + b"0" * 16
# Lead bytes of 4-byte UTF-8 sequences: characters outside the BMP, where UTF-16 order differs.
_OUTSIDE_BMP = re.compile(rb"[\xf0-\xf4]")


def _maybe_long_number(line: bytes) -> bool:
    return _LONG_NUMBER in line.translate(_NUMBER_MARKS)


def _python_dumps() -> Any:
    encoder = json.JSONEncoder(
        ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    )
    return encoder.encode


def _c_dumps() -> Any:
    # JSONEncoder.encode builds a new C encoder on every call, which costs as much as the
    # encoding itself; build it once. Parsed JSON cannot be circular, so no marker dict.
    make = getattr(json.encoder, "c_make_encoder", None)
    basestring = getattr(json.encoder, "c_encode_basestring", None)
    if make is None or basestring is None:  # pragma: no cover - not CPython
        return _python_dumps()
    encode = make(None, None, basestring, None, ":", ",", True, False, False)
    join = "".join

    def dumps(value: Any) -> str:
        return join(encode(value, 0))

    return dumps


_fast_dumps = _c_dumps()


class LeafError(ValueError):
    """A line that is not a valid publish-log leaf; the message says why."""


def _refuse_float(text: str) -> Any:
    raise LeafError(f"the number {text[:40]} is not an integer (leaves hold no fractions)")


def _refuse_constant(text: str) -> Any:
    raise LeafError(f"{text} is not JSON")


_decoder = json.JSONDecoder(parse_float=_refuse_float, parse_constant=_refuse_constant)
# The scanner alone: JSONDecoder.decode adds two whitespace regular expressions per call, and
# canonical JSON has no whitespace to skip.
_scan = json.scanner.make_scanner(_decoder)


def _why_not_json(line: bytes) -> str:
    """Why ``line`` does not parse as one JSON value (the slow path, for the message only)."""
    if line.startswith(b"\xef\xbb\xbf"):
        return "the line starts with a byte order mark (BOM)"
    if line.endswith(b"\r"):
        return "the line ends with a carriage return (CRLF line ending)"
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start}"
    try:
        value, end = _scan(text, 0)
    except StopIteration as exc:
        return f"not JSON: expecting a value at character {exc.value}"
    except json.JSONDecodeError as exc:
        return f"not JSON: {exc.msg} at character {exc.pos}"
    except RecursionError:
        return f"nested more than {MAX_DEPTH} levels deep"
    if not text[end:].strip():
        return f"not canonical JSON (RFC 8785): insignificant whitespace at character {end}"
    return f"not JSON: extra data at character {end}"


def _depth(value: Any) -> int:
    # Iterative, so a hostile value cannot exhaust the stack while being measured.
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _pairs_with_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise LeafError(f'duplicate key "{key}" (not canonical JSON, RFC 8785 section 3.1)')
        seen.add(key)
    return dict(pairs)


def _explain_non_canonical(text: str, canonical: str) -> str:
    """Why ``text`` differs from its canonical form, as precisely as cheaply possible."""
    try:
        json.loads(text, object_pairs_hook=_pairs_with_duplicates)
    except LeafError as exc:
        return str(exc)
    except (ValueError, RecursionError):
        pass
    at = next(
        (i for i, (a, b) in enumerate(zip(text, canonical, strict=False)) if a != b),
        min(len(text), len(canonical)),
    )
    got = text[at : at + 1]
    if got in {" ", "\t", "\n", "\r"}:
        why = "insignificant whitespace"
    elif got == "\\" or canonical[at : at + 1] == "\\":
        why = "a string escaped differently from RFC 8785 section 3.2.2.2"
    elif got == '"' and canonical[at : at + 1] == '"':
        why = "object keys not in RFC 8785 order (section 3.2.3)"
    else:
        why = "keys out of order, or a number or string written in a non-canonical form"
    return f"not canonical JSON (RFC 8785): {why} at character {at}"


def parse_canonical(line: bytes, *, max_bytes: int = MAX_LEAF_BYTES) -> Any:
    """Parse ``line`` as JSON that must be byte-for-byte canonical (RFC 8785) and shallow."""
    if len(line) > max_bytes:
        raise LeafError(f"the line is {len(line)} bytes, more than the {max_bytes} allowed")
    # Canonical JSON is one value with nothing around it: no BOM, no CR, no whitespace.
    try:
        text = line.decode("utf-8")
        value, end = _scan(text, 0)
    except (UnicodeDecodeError, StopIteration, json.JSONDecodeError, RecursionError):
        raise LeafError(_why_not_json(line)) from None
    if end != len(text):
        raise LeafError(_why_not_json(line))
    if line.count(b"[") + line.count(b"{") > MAX_DEPTH and _depth(value) > MAX_DEPTH:
        raise LeafError(f"nested more than {MAX_DEPTH} levels deep")
    try:
        fast = _fast_dumps(value)
    except (ValueError, RecursionError):
        fast = None
    if (
        fast == text
        and (line.isascii() or not _OUTSIDE_BMP.search(line))
        and not _maybe_long_number(line)
    ):
        return value
    # Exact RFC 8785 path: text outside the BMP (UTF-16 key order) or numbers maybe too large.
    try:
        canonical = canonical_json(value)
    except CanonicalJSONError as exc:
        raise LeafError(f"not canonical JSON (RFC 8785): {exc}") from None
    if canonical != line:
        raise LeafError(_explain_non_canonical(text, canonical.decode("utf-8")))
    return value


def _check_hex64(value: Any, name: str, *, nullable: bool) -> None:
    if value is None and nullable:
        return
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise LeafError(f'"{name}" is not a lowercase hex SHA-256')


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


#: How many distinct actors and actions a checker remembers as already valid.
_CACHE_LIMIT = 4096


class LeafChecker:
    """Checks leaves' fields.

    A log repeats the same few actions, actors and days millions of times, so a checker
    remembers those it has already found valid and checks each only once.
    """

    __slots__ = ("_actions", "_actors", "_valid_day")

    def __init__(self) -> None:
        self._valid_day = ""
        self._actions: set[str] = set()
        self._actors: set[tuple[Any, Any, Any, Any]] = set()

    def check(self, leaf: Any, *, prev_checked: bool = False) -> None:
        """Raise :class:`LeafError` unless ``leaf`` has exactly the leaf format's fields.

        ``prev_checked``: the caller has already compared ``prev`` with a hash it computed.
        """
        if type(leaf) is not dict:
            raise LeafError("a leaf is a JSON object")
        if leaf.keys() != LEAF_KEYS:
            missing = sorted(LEAF_KEYS - leaf.keys())
            extra = sorted(leaf.keys() - LEAF_KEYS)
            raise LeafError(f"wrong keys: missing {missing}, unexpected {extra}")
        seq = leaf["seq"]
        if type(seq) is not int or seq < 0:  # type(): a bool is not a sequence number
            raise LeafError('"seq" is not a non-negative integer')
        when = leaf["time"]
        match = _TIME.fullmatch(when) if type(when) is str else None
        if match is None:
            raise LeafError('"time" is not YYYY-MM-DDTHH:MM:SS.ffffffZ')
        if not when.startswith(self._valid_day) or not self._valid_day:
            day = match.group(1)
            try:
                date.fromisoformat(day)
            except ValueError:
                raise LeafError(f'"time" has no such date {day}') from None
            self._valid_day = day
        actor = leaf["actor"]
        if type(actor) is not dict or actor.keys() != ACTOR_KEYS:
            raise LeafError('"actor" is not an object with exactly "id", "email" and "kind"')
        actor_id = actor["id"]
        # type(id) in the key: True == 1, but a boolean is not an id.
        actor_key = (type(actor_id), actor_id, actor["email"], actor["kind"])
        try:
            known = actor_key in self._actors
        except TypeError:  # an unhashable id, email or kind: not valid, _check_actor says why
            known = False
        if not known:
            self._check_actor(*actor_key[1:])
        action = leaf["action"]
        if type(action) is not str or action not in self._actions:
            if type(action) is not str or not _ACTION.fullmatch(action):
                raise LeafError('"action" is not a dotted name such as "post.approved"')
            if len(self._actions) < _CACHE_LIMIT:
                self._actions.add(action)
        obj = leaf["object"]
        if obj is not None and (
            type(obj) is not dict
            or obj.keys() != OBJECT_KEYS
            or type(obj["type"]) is not str
            or type(obj["id"]) is not str
        ):
            raise LeafError('"object" is not null or {"type": string, "id": string}')
        if type(leaf["payload"]) is not dict:
            raise LeafError('"payload" is not an object')
        content = leaf["content_sha256"]
        if content is not None:
            _check_hex64(content, "content_sha256", nullable=False)
        if not prev_checked:
            _check_hex64(leaf["prev"], "prev", nullable=False)

    def _check_actor(self, actor_id: Any, email: Any, kind: Any) -> None:
        if actor_id is not None and type(actor_id) is not int:
            raise LeafError('"actor.id" is not an integer or null')
        if email is not None and type(email) is not str:
            raise LeafError('"actor.email" is not a string or null')
        if type(kind) is not str or kind not in ACTOR_KINDS:
            raise LeafError('"actor.kind" is not "user", "system" or "anonymous"')
        if len(self._actors) < _CACHE_LIMIT:
            self._actors.add((type(actor_id), actor_id, email, kind))


def parse_leaf(line: bytes, checker: LeafChecker | None = None) -> dict[str, Any]:
    """Parse and check one leaf line (without its newline)."""
    value = parse_canonical(line)
    (checker or LeafChecker()).check(value)
    return value


def entry_hash(leaf: bytes) -> str:
    """The entry's hash, as the next entry's ``prev`` holds it: hex SHA-256 of the leaf bytes."""
    return hashlib.sha256(leaf).hexdigest()


def format_time(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` for an aware UTC datetime (the leaf's ``time``)."""
    if moment.utcoffset() is None or moment.utcoffset().total_seconds() != 0:
        raise ValueError("leaf times are aware datetimes in UTC")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build_leaf(
    *,
    seq: int,
    time: str,
    actor: dict[str, Any],
    action: str,
    object: dict[str, str] | None,  # noqa: A002 - the leaf format's field name
    payload: dict[str, Any],
    content_sha256: str | None,
    prev: str,
) -> bytes:
    """The canonical bytes of one leaf, checked against the leaf format before they are stored."""
    value = {
        "seq": seq,
        "time": time,
        "actor": actor,
        "action": action,
        "object": object,
        "payload": payload,
        "content_sha256": content_sha256,
        "prev": prev,
    }
    LeafChecker().check(value)
    try:
        leaf = canonical_json(value)
    except CanonicalJSONError as exc:
        raise LeafError(str(exc)) from exc
    if len(leaf) > MAX_LEAF_BYTES or _depth(value) > MAX_DEPTH:
        raise LeafError("the leaf is too large or too deeply nested to be verified")
    return leaf


def content_hash(content: Any) -> str:
    """Hex SHA-256 of ``canonical_json(content)``: the ``content_sha256`` a leaf refers to."""
    return hashlib.sha256(canonical_json(content)).hexdigest()


__all__ = [
    "GENESIS_PREV",
    "LEAF_KEYS",
    "MAX_DEPTH",
    "MAX_LEAF_BYTES",
    "MAX_SAFE_INTEGER",
    "LeafChecker",
    "LeafError",
    "build_leaf",
    "content_hash",
    "entry_hash",
    "format_time",
    "parse_canonical",
    "parse_leaf",
]

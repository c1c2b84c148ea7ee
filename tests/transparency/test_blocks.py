"""The verifier's block path: it accepts a block only when the per-line path accepts every line.

The block path (gateway.transparency.blocks) proves most lines canonical without re-encoding
them, so these tests hold it against the exact per-line path (ChainChecker.feed, which
re-encodes every line) on canonical lines that stress each shortcut, on lines that break each
one, and on random payloads and random edits.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway import verify
from gateway.transparency.blocks import check_content_block
from gateway.transparency.canonical import canonical_json
from gateway.transparency.chain import ChainChecker, ChainError
from gateway.transparency.leaf import GENESIS_PREV
from gateway.transparency.merkle import RootBuilder, leaf_hash
from gateway.transparency.verifier import LogVerifier
from gateway.verify import _LineError, iter_blocks
from tests.transparency.helpers import (
    demo_leaves,
    export,
    parsed,
    read_lines,
    rechain,
    run,
    write_lines,
)

DEMO, _ = demo_leaves(6)


def exact(lines: list[bytes]) -> list[dict] | str:
    """The per-line path's verdict: every value, or the first failure."""
    checker, values = ChainChecker(), []
    try:
        for line in lines:
            values.append(checker.feed(line))
    except ChainError as exc:
        return str(exc.failure)
    return values


def fast(lines: list[bytes]):
    """The block path's verdict on every line but the first, fed on its own: so the block does
    not start at entry 0, whose "seq" (a zero) would hide a "-0" from the block path's check."""
    checker = ChainChecker()
    try:
        checker.feed(lines[0])
    except ChainError:
        return None
    rest = lines[1:]
    return checker.feed_block(rest, b"\n".join(rest))


def agree(lines: list[bytes]) -> bool:
    """Assert the block path never accepts what the exact path refuses; return whether it
    accepted (when both accept, they must agree on every value and hash)."""
    block, verdict = fast(lines), exact(lines)
    if block is not None:
        assert not isinstance(verdict, str), f"block path accepted what fails: {verdict}"
        assert list(block.values) == verdict[1:]
        assert block.leaf_hashes == [leaf_hash(line) for line in lines[1:]]
    return block is not None


def with_payload(payload: dict, at: int = 4) -> list[bytes]:
    values = parsed(DEMO[:8])
    values[at]["payload"] = payload
    return rechain(values)


def test_the_demo_log_takes_the_block_path():
    assert agree(DEMO)


@pytest.mark.parametrize(
    "payload",
    [
        {"message": "HTTP 503: Service Unavailable; will retry"},  # spaces and colons
        {"message": 'she said "no" \\ twice\n'},  # escapes, which are re-encoded
        {"message": "Café à la crème ÿ €"},  # raw UTF-8 inside the BMP
        {"a": -5, "b": 0, "c": 2**53 - 1, "d": -(2**53 - 1), "e": True, "f": False},
        {"text": ":-0,-0[-0", "zero": 0},  # "-0" inside a string, with a real 0
        {"findings": {"1": [{"clause": "5.2", "rule": "political.party"}]}},  # nested objects
        {"rules": ["a", "b"], "empty": [], "nested": [[1, 2], []]},
        {"": "empty key", "A": 1, "a": 2, "é": 3},  # code-point key order
        {":starts with a colon": ":", "x": '":'},
    ],
)
def test_canonical_leaves_with_unusual_payloads_verify_either_way(payload):
    lines = with_payload(payload)
    assert not isinstance(exact(lines), str)
    agree(lines)


def test_the_shortcuts_take_the_common_cases_without_falling_back():
    for payload in (
        {"message": "HTTP 503: Service Unavailable"},
        {"findings": {"1": [{"rule": "x"}]}},
        {"message": 'a "quoted" word'},
    ):
        assert agree(with_payload(payload))


def _relink(lines: list[bytes], at: int) -> list[bytes]:
    """After editing line ``at``, fix the next line's "prev" (textually, as an attacker
    would), so that only the edit itself is left for the checks to find."""
    if at + 1 < len(lines):
        lines = list(lines)
        old = json.loads(lines[at + 1])["prev"].encode()
        new = hashlib.sha256(lines[at]).hexdigest().encode()
        lines[at + 1] = lines[at + 1].replace(old, new)
    return lines


def _edit(lines: list[bytes], at: int, old: bytes, new: bytes) -> list[bytes]:
    edited = list(lines)
    assert old in edited[at], (old, edited[at])
    edited[at] = edited[at].replace(old, new, 1)
    return edited


BASE = with_payload({"count": 7, "name": "x", "zero": 0, "list": [1, 2]})


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (b'"count":7', b'"count": 7', "whitespace"),
        (b'"count":7', b'"count":\t7', "not canonical"),
        (b'"name":"x"', b'"name":"\\u0078"', "escaped differently"),
        (b'"zero":0', b'"zero":-0', "not canonical"),
        (b'"count":7', b'"count":7,"count":7', "duplicate key"),
        (b'"count":7,"list"', b'"list":[1,2],"count":7,"list"', "duplicate key"),
        (b'"count":7', b'"count":9007199254740993', "safe JSON range"),
        (b'"count":7', b'"count":7.0', "not an integer"),
        (b'"count":7', b'"count":1e3', "not an integer"),
        (b'"list":[1,2]', b'"list":[1, 2]', "whitespace"),
        (b'"name":"x"', b'"name":"x\xed\xa0\x80"', "invalid UTF-8"),
    ],
)
def test_each_kind_of_non_canonical_line_falls_back_and_fails(old, new, reason):
    edited = _relink(_edit(BASE, 4, old, new), 4)
    verdict = exact(edited)
    assert isinstance(verdict, str) and verdict.startswith("entry 4:"), verdict
    assert fast(edited) is None


@pytest.mark.parametrize(
    ("payload", "old", "new"),
    [
        ({"deep": [[0]]}, b"[[0]]", b"[[-0]]"),
        ({"deep": [[0]]}, b"[[0]]", b"[[9007199254740993]]"),
        ({"deep": [[0]]}, b"[[0]]", b"[[0 ]]"),
        ({"deep": [[[0]]]}, b"[[[0]]]", b"[[[-0]]]"),
        ({"dicts": [{"a": 1, "b": 2}]}, b'[{"a":1,"b":2}]', b'[{"b":2,"a":1}]'),
        ({"dicts": [{"a": 1, "b": 2}]}, b'[{"a":1,"b":2}]', b'[{"a":1,"a":1,"b":2}]'),
        ({"deeper": [[{"c": 0}]]}, b'[[{"c":0}]]', b'[[{"c":-0}]]'),
    ],
)
def test_numbers_and_keys_nested_in_lists_are_checked(payload, old, new):
    lines = with_payload(payload)
    assert agree(lines)
    edited = _relink(_edit(lines, 4, old, new), 4)
    assert exact(edited).startswith("entry 4:")
    assert fast(edited) is None
    # and as a block of its own, with no other integer in it
    checker = ChainChecker()
    for line in edited[:4]:
        checker.feed(line)
    assert checker.feed_block(edited[4:5], edited[4]) is None


def test_payload_keys_out_of_order_fall_back():
    edited = _relink(_edit(BASE, 4, b'"count":7,"list":[1,2]', b'"list":[1,2],"count":7'), 4)
    assert exact(edited).startswith("entry 4:")
    assert fast(edited) is None


def test_nested_keys_out_of_order_fall_back():
    lines = with_payload({"f": {"a": 1, "b": 2}})
    edited = _relink(_edit(lines, 4, b'{"a":1,"b":2}', b'{"b":2,"a":1}'), 4)
    assert exact(edited).startswith("entry 4:")
    assert fast(edited) is None


def _rechain_sorted(values: list[dict]) -> list[bytes]:
    """rechain, but with json.dumps: it writes what canonical_json refuses (large integers)."""
    lines, prev = [], GENESIS_PREV
    for seq, value in enumerate(values):
        line = json.dumps(
            {**value, "seq": seq, "prev": prev}, sort_keys=True, separators=(",", ":")
        ).encode()
        lines.append(line)
        prev = hashlib.sha256(line).hexdigest()
    return lines


def test_a_large_actor_id_falls_back():
    values = parsed(DEMO[:6])
    values[2]["actor"]["id"] = 2**53 + 1
    lines = _rechain_sorted(values)
    assert "entry 2" in exact(lines)
    assert fast(lines) is None


def test_text_outside_the_bmp_is_left_to_the_exact_path():
    lines = with_payload({"emoji": "🙂", "𝒜": 1, "z": 2})
    assert fast(lines) is None
    assert not isinstance(exact(lines), str)  # UTF-16 order: "z" < "𝒜"... sorted by the writer


def test_lines_that_are_not_json_on_their_own_are_refused():
    """Three lines, none of them a leaf, that join (with commas) into an array of three leaves:
    parsing the block as one array, or comparing one re-encoding of it, would accept them."""
    a, b, c = with_payload({"list": [1, 2]})[4:7]
    cut = a.index(b'"list":[1,') + len(b'"list":[1')
    lines = [a[:cut], a[cut + 1 :], b + b"," + c]
    assert json.loads(b"[" + b",".join(lines) + b"]") == [json.loads(x) for x in (a, b, c)]
    assert "entry 0" in exact(lines)
    assert fast(lines) is None


def test_bools_are_not_ids_or_sequence_numbers():
    values = parsed(DEMO[:6])
    values[3]["actor"]["id"] = True  # another entry has actor id 1? the check is by type
    lines = rechain(values)
    assert "entry 3" in exact(lines)
    assert fast(lines) is None


def test_unhashable_fields_are_named_not_a_crash():
    for field, value in (("actor", {"email": None, "id": [], "kind": "user"}), ("action", [])):
        values = parsed(DEMO[:3])
        values[1][field] = value
        lines = rechain(values)
        assert "entry 1" in exact(lines)
        assert fast(lines) is None


payloads = st.dictionaries(
    st.text(max_size=5),
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**54), 2**54) | st.text(max_size=8),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=4), children, max_size=3)
        ),
        max_leaves=8,
    ),
    max_size=4,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(payloads, st.integers(0, 7))
def test_random_payloads_verify_the_same_either_way(payload, at):
    try:
        lines = with_payload(payload, at)
    except ValueError:
        return  # an integer beyond 2**53 has no canonical form: the writer refuses it
    agree(lines)


JSON_BYTES = st.sampled_from(
    [b" ", b"-", b"0", b"1", b'"', b",", b":", b"\\", b"{", b"}", b"[", b"]", b"\t", b"a", b"\xc3"]
)


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 7),
    st.integers(0, 10_000),
    st.integers(0, 2),
    st.lists(JSON_BYTES, max_size=3).map(b"".join) | st.binary(max_size=3),
)
def test_random_edits_are_never_accepted_by_the_block_path_alone(at, where, cut, insert):
    lines = with_payload({"list": [1, -2], "n": 10, "s": "a b:c", "deep": [[0, 1], [{"k": 2}]]})
    line = lines[at]
    where %= len(line) + 1
    lines[at] = line[:where] + insert + line[where + cut :]
    if b"\n" in lines[at]:
        return
    agree(_relink(lines, at))


def test_extend_builds_the_same_tree_as_append():
    hashes = [leaf_hash(bytes([i % 256, i // 256])) for i in range(300)]
    for cuts in ([1, 2, 3, 5, 8, 13, 21, 34, 55, 158], [0, 127, 1, 1, 171], [300]):
        one, many, at = RootBuilder(), RootBuilder(), 0
        for width in cuts:
            for hashed in hashes[at : at + width]:
                one.append(hashed)
            many.extend(hashes[at : at + width])
            at += width
            assert many.size == one.size and many.root() == one.root()


def test_feed_block_reports_what_feed_reports():
    lines = DEMO
    sizes = [1, 7, 8, 9, len(lines)]
    one, many = LogVerifier(roots_at=sizes), LogVerifier(roots_at=sizes)
    for line in lines:
        one.feed(line)
    for start in range(0, len(lines), 10):
        assert many.feed_block(lines[start : start + 10])
    a, b = one.finish(), many.finish()
    assert (a.roots, a.root, a.content_hashes, a.failures) == (
        b.roots,
        b.root,
        b.content_hashes,
        b.failures,
    )
    assert (a.first_time, a.last_time, a.published, a.attempts) == (
        b.first_time,
        b.last_time,
        b.published,
        b.attempts,
    )


def test_feed_block_names_the_same_first_failure_as_feed():
    values = parsed(DEMO[:40])
    values[23]["seq"] = 99
    lines = [*rechain(values[:23]), *[json.dumps(v).encode() for v in values[23:]]]
    many = LogVerifier()
    assert not many.feed_block(lines[:30]) or not many.feed_block(lines[30:])
    report = many.finish()
    assert report.broken_at == 23
    assert report.failures[0].index == 23


def test_iter_blocks_yields_what_precedes_an_over_long_line(tmp_path: Path):
    path = tmp_path / "entries.jsonl"
    lines = [b"a" * 10, b"b" * 10, b"c" * 50, b"d" * 10]
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    seen = []
    with pytest.raises(_LineError) as caught:
        for block, raw in iter_blocks(path, 20, block_bytes=16):
            assert raw == b"\n".join(block)
            seen.extend(block)
    assert seen == lines[:2]
    assert caught.value.index == 2


def test_iter_blocks_reads_every_line_across_block_edges(tmp_path: Path):
    path = tmp_path / "entries.jsonl"
    lines = [bytes([97 + i % 26]) * (i % 37) for i in range(500)]
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    got = [line for block, _ in iter_blocks(path, 100, block_bytes=64) for line in block]
    assert got == lines
    path.write_bytes(path.read_bytes() + b"cut short")
    with pytest.raises(_LineError) as caught:
        for _ in iter_blocks(path, 100, block_bytes=64):
            pass
    assert caught.value.index == 500


def test_genesis_is_where_a_block_starts():
    assert ChainChecker().prev == GENESIS_PREV


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few lines, so a small export spans many of them."""
    monkeypatch.setattr(verify, "BLOCK_BYTES", 700)


def test_failures_in_later_blocks_are_named_by_line(capsys, tmp_path, small_blocks):
    leaves, log = demo_leaves(12)
    folder = export(tmp_path / "export", leaves, log, Ed25519PrivateKey.generate())
    assert run(capsys, folder)[0] == 0
    contents = folder / "contents.jsonl"
    lines = read_lines(contents)
    assert len(lines) > 6
    # a content edited far into the file: named by its line, as before blocks
    edited = list(lines)
    edited[6] = edited[6].replace(b'"text":"', b'"text":"!', 1)
    write_lines(contents, edited)
    code, out = run(capsys, folder)
    assert code == 1 and "contents.jsonl line 7: the content does not match its hash" in out
    # a content repeated in a later block
    write_lines(contents, [*lines, lines[1]])
    code, out = run(capsys, folder)
    assert code == 1 and f"contents.jsonl line {len(lines) + 1}: content" in out
    assert "appears twice" in out
    write_lines(contents, lines)
    # an entry edited late in entries.jsonl: the chain breaks at the next entry
    entries = folder / "entries.jsonl"
    kept = read_lines(entries)
    changed = list(kept)
    changed[40] = changed[40].replace(b'"kind":"', b'"kind":"x', 1)
    write_lines(entries, changed)
    code, out = run(capsys, folder)
    assert code == 1 and "FAILED: entry 40: " in out and "line 41 of entries.jsonl" in out


def test_content_blocks_accept_only_matching_canonical_lines():
    _, log = demo_leaves(3)
    lines = [
        canonical_json({"content": content, "sha256": digest})
        for digest, content in log.contents.items()
    ]
    assert check_content_block(lines, b"\n".join(lines)) == list(log.contents)
    for old, new in ((b'"text":"', b'"text":"x'), (b'"sha256":"', b'"sha256": "'), (b"{", b" {")):
        edited = [lines[0], lines[1].replace(old, new, 1), *lines[2:]]
        assert check_content_block(edited, b"\n".join(edited)) is None


def test_small_blocks_are_small(tmp_path, small_blocks):
    path = tmp_path / "lines"
    path.write_bytes((b"x" * 99 + b"\n") * 30)
    assert len(list(iter_blocks(path, 1000))) > 1

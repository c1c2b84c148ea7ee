"""Exports, the CSV writer and the leaf builder."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from gateway.transparency.canonical import canonical_json
from gateway.transparency.chain import verify_chain
from gateway.transparency.export import (
    CSV_COLUMNS,
    ExportError,
    csv_cell,
    write_csv,
    write_export,
    write_filtered_export,
)
from gateway.transparency.leaf import (
    GENESIS_PREV,
    LeafError,
    build_leaf,
    content_hash,
    entry_hash,
    format_time,
    parse_canonical,
    parse_leaf,
)
from tests.transparency.helpers import ORIGIN, parsed, rechain, run


def _leaf(**overrides):
    fields = {
        "seq": 0,
        "time": "2026-11-23T10:00:00.000000Z",
        "actor": {"id": 3, "email": "a@council.example", "kind": "user"},
        "action": "post.created",
        "object": {"type": "post", "id": "12"},
        "payload": {"author_id": 3, "emergency_category": None},
        "content_sha256": "ab" * 32,
        "prev": GENESIS_PREV,
    }
    fields.update(overrides)
    return build_leaf(**fields)


def test_build_leaf_writes_canonical_bytes_that_parse_back():
    leaf = _leaf()
    assert leaf.startswith(b'{"action":"post.created","actor":{"email":')
    assert parse_leaf(leaf)["payload"] == {"author_id": 3, "emergency_category": None}
    assert verify_chain([leaf]) is None


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"time": "2026-11-23 10:00:00"}, '"time"'),
        ({"time": "2026-02-30T10:00:00.000000Z"}, "no such date"),
        ({"actor": {"id": 3, "kind": "user"}}, '"actor"'),
        ({"actor": {"id": "3", "email": None, "kind": "user"}}, '"actor.id"'),
        ({"actor": {"id": 3, "email": None, "kind": "robot"}}, '"actor.kind"'),
        ({"action": "Post Created"}, '"action"'),
        ({"object": {"type": "post", "id": 12}}, '"object"'),
        ({"payload": []}, '"payload"'),
        ({"content_sha256": "AB" * 32}, '"content_sha256"'),
        ({"prev": "0" * 63}, '"prev"'),
        ({"seq": -1}, '"seq"'),
        ({"seq": True}, '"seq"'),
        ({"payload": {"n": 2**60}}, "outside the safe JSON range"),
        ({"payload": {"x": 1.5}}, "floats"),
    ],
)
def test_build_leaf_refuses_what_the_format_does_not_allow(overrides, reason):
    with pytest.raises(LeafError, match=reason):
        _leaf(**overrides)


def test_format_time_is_utc_with_microseconds():
    moment = datetime(2026, 11, 23, 10, 0, 1, 5, tzinfo=UTC)
    assert format_time(moment) == "2026-11-23T10:00:01.000005Z"
    with pytest.raises(ValueError):
        format_time(moment.astimezone(timezone(timedelta(hours=1))))
    with pytest.raises(ValueError):
        format_time(moment.replace(tzinfo=None))


def test_keys_outside_the_bmp_sort_by_utf16_as_rfc_8785_requires():
    # U+1F600 is D83D DE00 in UTF-16, which sorts before U+FB01; Python's order is the reverse.
    value = {"\ufb01": 1, "\U0001f600": 2}
    canonical = canonical_json(value)
    assert canonical.decode().index("\U0001f600") < canonical.decode().index("\ufb01")
    assert parse_canonical(canonical) == value
    python_order = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    with pytest.raises(LeafError, match="RFC 8785"):
        parse_canonical(python_order.encode())


def test_large_numbers_take_the_exact_path():
    assert parse_canonical(b'{"a":9007199254740991}') == {"a": 2**53 - 1}
    with pytest.raises(LeafError, match="safe JSON range"):
        parse_canonical(b'{"a":9007199254740993}')
    assert parse_canonical(b'{"a":"12345678901234567890"}') == {"a": "12345678901234567890"}


def test_content_hash_is_the_hash_of_canonical_json():
    content = {"text": "Hello", "images": [], "channels": [1], "scheduled_at": None,
               "emergency_category": None}  # fmt: skip
    assert content_hash(content) == entry_hash(canonical_json(content))


@pytest.mark.parametrize(
    ("value", "cell"),
    [("=1+1", "'=1+1"), ("+44 1632", "'+44 1632"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
     ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("plain", "plain"), (None, ""), (12, "12"),
     (-3, "'-3"), ("a=b", "a=b")],
)  # fmt: skip
def test_csv_cells_that_would_run_as_formulas_are_neutralised(value, cell):
    assert csv_cell(value) == cell


def test_csv_rows_carry_the_entry_and_no_formula(leaves):
    values = parsed(leaves)
    values[0]["actor"]["email"] = '=HYPERLINK("http://evil")'
    values[1]["payload"]["verdict"] = "@cmd"
    rows_in = rechain(values)
    buffer = io.StringIO(newline="")
    assert write_csv(buffer, rows_in) == len(rows_in)
    rows = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[1][4] == '\'=HYPERLINK("http://evil")'
    assert rows[1][10] == entry_hash(rows_in[0])
    assert json.loads(rows[2][9])["verdict"] == "@cmd"
    for row in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


def test_an_export_needs_an_empty_folder(tmp_path, leaves, log, key):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "stray").write_text("")
    with pytest.raises(ExportError, match="not empty"):
        write_export(tmp_path / "x", leaves, log.content, private_key=key, origin=ORIGIN)


def test_missing_contents_are_reported_and_the_export_fails_verification(
    capsys, tmp_path, leaves, key
):
    summary = write_export(
        tmp_path / "x", leaves, lambda digest: None, private_key=key, origin=ORIGIN
    )
    assert summary.entries == len(leaves)
    assert summary.contents == 0
    assert len(summary.missing_contents) == 12
    code, out = run(capsys, tmp_path / "x")
    assert code == 1
    assert "lacks" in out


def test_a_filtered_export_has_its_files_and_csv(tmp_path, leaves, log, key):
    summary = write_filtered_export(
        tmp_path / "f", leaves, [0, 5, 9], log.content, private_key=key, origin=ORIGIN,
        consistency_from=[4, 0, 999],
    )  # fmt: skip
    names = sorted(p.name for p in (tmp_path / "f").iterdir())
    assert names == ["checkpoint", "consistency.jsonl", "contents.jsonl", "entries.csv",
                     "inclusion.jsonl", "verifier-key"]  # fmt: skip
    assert summary.entries == 3
    lines = (tmp_path / "f" / "inclusion.jsonl").read_bytes().splitlines()
    assert [json.loads(line)["index"] for line in lines] == [0, 5, 9]
    assert json.loads(lines[1])["leaf"].encode() == leaves[5]
    assert len((tmp_path / "f" / "consistency.jsonl").read_bytes().splitlines()) == 1
    with pytest.raises(ExportError, match="outside"):
        write_filtered_export(tmp_path / "g", leaves, [len(leaves)], log.content,
                              private_key=key, origin=ORIGIN)  # fmt: skip

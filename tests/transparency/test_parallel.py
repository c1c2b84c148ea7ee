"""gateway-verify on every core (issue #19): the same answer as on one core, whatever the export.

The chunks are made small here (a few kilobytes) so that a demo log of a few hundred entries is
checked as dozens of chunks in real worker processes; each case then compares the report with
``--jobs 2`` against the one-core report of the same export, byte for byte, and, where the log
verifies, that the parallel pass really ran (it falls back to one core on any doubt).
"""

from __future__ import annotations

import json

import pytest

from gateway.transparency import parallel
from gateway.transparency.leaf import MAX_LEAF_BYTES
from tests.transparency.helpers import (
    checkpoint_file,
    demo_leaves,
    export,
    parsed,
    read_lines,
    rechain,
    run,
    write_lines,
)


@pytest.fixture(scope="module")
def big_demo():
    return demo_leaves(60)


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    chunks: list[int] = []
    real = parallel.check_chunks

    def counting(path, jobs):
        for chunk in real(path, jobs):
            chunks.append(chunk.count)
            yield chunk

    monkeypatch.setattr(parallel, "check_chunks", counting)
    return chunks


def _both(capsys, export_dir, *extra):
    one = run(capsys, export_dir, "--jobs", "1", *extra)
    many = run(capsys, export_dir, "--jobs", "2", *extra)
    return one, many


def _export(tmp_path, lines, log, key):
    return export(tmp_path / "export", lines, log, key)


def test_an_export_that_verifies_is_checked_in_chunks_with_the_same_report(
    capsys, tmp_path, big_demo, key, small_chunks
):
    lines, log = list(big_demo[0]), big_demo[1]
    export_dir = _export(tmp_path, lines, log, key)
    one, many = _both(capsys, export_dir)
    assert one[0] == 0, one[1]
    assert many == one
    assert len(small_chunks) > 20
    assert sum(small_chunks) == len(lines)


def test_roots_of_older_checkpoints_inside_a_chunk(capsys, tmp_path, big_demo, key, small_chunks):
    lines, log = list(big_demo[0]), big_demo[1]
    export_dir = _export(tmp_path, lines, log, key)
    older = [checkpoint_file(tmp_path / f"cp{n}", lines, key, size=n) for n in (1, 37, 200)]
    extra = [arg for cp in older for arg in ("--previous", cp)]
    one, many = _both(capsys, export_dir, *extra)
    assert one[0] == 0, one[1]
    assert "previous    size 37: the log extends it" in one[1]
    assert many == one
    assert small_chunks


def _edit(index):
    def edit(lines):
        lines[index] = lines[index].replace(b'"time":"2', b'"time":"1', 1)

    return edit


def _json_broken(index):
    def edit(lines):
        lines[index] = lines[index][:-1]

    return edit


def _deleted(index):
    def edit(lines):
        del lines[index]

    return edit


def _swapped(index):
    def edit(lines):
        lines[index], lines[index + 1] = lines[index + 1], lines[index]

    return edit


def _too_long(index):
    def edit(lines):
        lines[index] = b"x" * (MAX_LEAF_BYTES + 10)

    return edit


def _cut_short(lines):
    lines[-1] = lines[-1][:-3]


def _seq_claimed(index):
    """A line whose seq claims to be another entry's (so its chunk's start is wrong)."""

    def edit(lines):
        lines[index] = lines[index].replace(b',"seq":', b',"seq":1', 1)

    return edit


TAMPERINGS = {
    "an entry in the middle edited": _edit(150),
    "the first entry edited": _edit(0),
    "the last entry edited": _edit(-1),
    "an entry broken as JSON": _json_broken(222),
    "an entry deleted": _deleted(90),
    "two entries swapped": _swapped(300),
    "a line longer than any entry": _too_long(120),
    "a line with a wrong seq": _seq_claimed(260),
}


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_a_tampered_export_fails_with_the_same_first_finding(
    capsys, tmp_path, big_demo, key, small_chunks, name
):
    lines, log = list(big_demo[0]), big_demo[1]
    export_dir = _export(tmp_path, lines, log, key)
    entries = export_dir / "entries.jsonl"
    tampered = read_lines(entries)
    TAMPERINGS[name](tampered)
    write_lines(entries, tampered)
    one, many = _both(capsys, export_dir)
    assert one[0] == 1, one[1]
    assert many == one


@pytest.mark.parametrize("boundary_side", [-1, 0, 1])
def test_edits_at_every_side_of_a_chunk_boundary(
    capsys, tmp_path, big_demo, key, small_chunks, boundary_side
):
    lines, log = list(big_demo[0]), big_demo[1]
    export_dir = _export(tmp_path, lines, log, key)
    entries = export_dir / "entries.jsonl"
    size = entries.stat().st_size
    starts = parallel.boundaries(entries, size, 4096)
    data = entries.read_bytes()
    # The entry that starts the fifth chunk, and its neighbours.
    first_of_chunk = data[: starts[5].offset].count(b"\n")
    tampered = read_lines(entries)
    target = first_of_chunk + boundary_side
    tampered[target] = tampered[target].replace(b'"action":"', b'"action":"x', 1)
    write_lines(entries, tampered)
    one, many = _both(capsys, export_dir)
    assert one[0] == 1, one[1]
    assert f"entry {target + 1}" in one[1] or f"entry {target}" in one[1]
    assert many == one


def _chunk_starts(entries):
    """The index of the first entry of each chunk ``small_chunks`` cuts ``entries`` into."""
    data = entries.read_bytes()
    starts = parallel.boundaries(entries, len(data), parallel.CHUNK_BYTES)
    return [data[: b.offset].count(b"\n") for b in starts]


@pytest.mark.parametrize("which", ["first", "middle", "last"])
def test_an_entry_edited_inside_any_chunk_is_the_one_named(
    capsys, tmp_path, big_demo, key, small_chunks, which
):
    lines, log = list(big_demo[0]), big_demo[1]
    export_dir = _export(tmp_path, lines, log, key)
    entries = export_dir / "entries.jsonl"
    starts = _chunk_starts(entries)
    chunk = {"first": 0, "middle": len(starts) // 2, "last": len(starts) - 1}[which]
    # An entry inside the chunk, away from its edges (the test above covers those).
    target = starts[chunk] + 2
    tampered = read_lines(entries)
    tampered[target] = tampered[target].replace(b'"action":"', b'"action":"x', 1)
    write_lines(entries, tampered)
    one, many = _both(capsys, export_dir)
    assert one[0] == 1, one[1]
    assert f"entry {target}" in one[1]
    assert many == one


def test_of_two_edited_entries_in_different_chunks_the_earlier_is_named(
    capsys, tmp_path, big_demo, key, small_chunks
):
    lines, log = list(big_demo[0]), big_demo[1]
    export_dir = _export(tmp_path, lines, log, key)
    entries = export_dir / "entries.jsonl"
    starts = _chunk_starts(entries)
    early, late = starts[3] + 1, starts[-2] + 1
    tampered = read_lines(entries)
    for target in (late, early):  # the later chunk's entry edited first: order must not matter
        tampered[target] = tampered[target].replace(b'"action":"', b'"action":"x', 1)
    write_lines(entries, tampered)
    one, many = _both(capsys, export_dir)
    assert one[0] == 1, one[1]
    assert f"entry {early}" in one[1]
    assert many == one


def test_a_cut_off_last_line(capsys, tmp_path, big_demo, key, small_chunks):
    lines, log = list(big_demo[0]), big_demo[1]
    export_dir = _export(tmp_path, lines, log, key)
    entries = export_dir / "entries.jsonl"
    entries.write_bytes(entries.read_bytes()[:-1])
    one, many = _both(capsys, export_dir)
    assert one[0] == 1
    assert "cut short" in one[1]
    assert many == one


def _rule_breaks():
    def unapproved(values):
        return [v for v in values if v["action"] != "post.approved" or v["object"]["id"] != "7"]

    def published_twice(values):
        out = []
        for value in values:
            out.append(value)
            payload = value["payload"]
            if (
                value["action"] == "delivery.outcome"
                and payload.get("post_id") == 30
                and (payload.get("outcome") == "published")
            ):
                out.append(json.loads(json.dumps(value)))
        return out

    def outcome_missing(values):
        dropped = False
        out = []
        for value in values:
            outcome = value["action"] == "delivery.outcome"
            if not dropped and outcome and value["payload"].get("post_id") == 20:
                dropped = True
                continue
            out.append(value)
        return out

    def payload_edit(action, post_id, edit):
        def change(values):
            for value in values:
                payload = value["payload"]
                if value["action"] == action and payload.get("post_id") == post_id:
                    edit(payload)
                    break
            return values

        return change

    # A chunk sends each ruled entry as a flat tuple, None where a field is missing: a field
    # that is null and one that is missing must give the same findings as on one core.
    return {
        "a post published without its approval": unapproved,
        "an outcome that is null": payload_edit(
            "delivery.outcome", 25, lambda p: p.update(outcome=None)
        ),
        "an outcome with no outcome field": payload_edit(
            "delivery.outcome", 26, lambda p: p.pop("outcome")
        ),
        "an attempt with no attempt id": payload_edit(
            "delivery.attempt", 27, lambda p: p.pop("attempt_id")
        ),
        "an attempt whose delivery id is null": payload_edit(
            "delivery.attempt", 28, lambda p: p.update(delivery_id=None)
        ),
        "an outcome recorded twice": published_twice,
        "an attempt with no outcome": outcome_missing,
    }


RULE_BREAKS = _rule_breaks()


@pytest.mark.parametrize("name", sorted(RULE_BREAKS))
def test_auditor_rules_across_chunks_give_the_same_findings(
    capsys, tmp_path, big_demo, key, small_chunks, name
):
    lines, log = list(big_demo[0]), big_demo[1]
    rewritten = rechain(RULE_BREAKS[name](parsed(lines)))
    assert rewritten != lines
    export_dir = _export(tmp_path, rewritten, log, key)
    one, many = _both(capsys, export_dir)
    assert one[0] == 1, one[1]
    assert many == one
    # The log is sound as a chain: the parallel pass ran, and the rules found the same.
    assert sum(small_chunks) == len(rewritten)


def test_jobs_must_be_positive(capsys, tmp_path, big_demo, key):
    lines, log = list(big_demo[0]), big_demo[1]
    export_dir = _export(tmp_path, lines, log, key)
    with pytest.raises(SystemExit) as exc:
        run(capsys, export_dir, "--jobs", "0")
    assert exc.value.code == 2
    assert "--jobs must be 1 or more" in capsys.readouterr().err

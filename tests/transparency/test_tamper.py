"""Tamper with an exported log in each way issue #8 lists; gateway-verify must name why."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.transparency.export import write_filtered_export
from gateway.transparency.merkle import MerkleTree, leaf_hash
from gateway.transparency.note import NoteVerifier
from tests.transparency.helpers import (
    ORIGIN,
    checkpoint_file,
    export,
    parsed,
    read_lines,
    rechain,
    run,
    write_lines,
)


def _entries(export_dir):
    return export_dir / "entries.jsonl"


def test_an_untouched_export_verifies(capsys, export_dir, key):
    code, out = run(capsys, export_dir)
    assert code == 0, out
    assert out.startswith("OK: the whole export")
    assert "from the export's own verifier-key" in out
    trusted = NoteVerifier.for_key(ORIGIN, key.public_key()).key_string()
    code, out = run(capsys, export_dir, "--key", trusted)
    assert code == 0, out
    assert "(from --key)" in out


def test_one_byte_edited_breaks_the_chain_at_the_next_entry(capsys, export_dir):
    lines = read_lines(_entries(export_dir))
    assert b"tom.reid@" in lines[2]
    lines[2] = lines[2].replace(b"tom.reid@", b"tom.reed@", 1)
    write_lines(_entries(export_dir), lines)
    code, out = run(capsys, export_dir)
    assert code == 1
    assert out.startswith("FAILED: entry 3: hash chain broken")
    assert "line 4 of entries.jsonl" in out


def test_the_last_entry_edited_changes_the_root(capsys, export_dir):
    lines = read_lines(_entries(export_dir))
    lines[-1] = lines[-1].replace(b'"system"', b'"user"')
    write_lines(_entries(export_dir), lines)
    code, out = run(capsys, export_dir)
    assert code == 1
    assert "do not hash to the checkpoint's root" in out


def test_an_edit_that_breaks_the_json_is_named(capsys, export_dir):
    lines = read_lines(_entries(export_dir))
    lines[3] = lines[3][:-1] + b"]"
    write_lines(_entries(export_dir), lines)
    code, out = run(capsys, export_dir)
    assert code == 1
    assert out.startswith("FAILED: entry 3: not JSON")


def test_a_deleted_entry_is_caught(capsys, export_dir):
    lines = read_lines(_entries(export_dir))
    del lines[7]
    write_lines(_entries(export_dir), lines)
    code, out = run(capsys, export_dir)
    assert code == 1
    assert out.startswith('FAILED: entry 7: "seq" is 8 at position 7')


def test_an_inserted_entry_is_caught(capsys, export_dir):
    lines = read_lines(_entries(export_dir))
    lines.insert(4, lines[4])
    write_lines(_entries(export_dir), lines)
    code, out = run(capsys, export_dir)
    assert code == 1
    assert out.startswith('FAILED: entry 5: "seq" is 4 at position 5')


def test_two_swapped_entries_are_caught(capsys, export_dir):
    lines = read_lines(_entries(export_dir))
    lines[10], lines[11] = lines[11], lines[10]
    write_lines(_entries(export_dir), lines)
    code, out = run(capsys, export_dir)
    assert code == 1
    assert out.startswith('FAILED: entry 10: "seq" is 11 at position 10')


def test_a_cut_off_last_line_is_caught(capsys, export_dir):
    data = _entries(export_dir).read_bytes()
    _entries(export_dir).write_bytes(data[:-1])
    code, out = run(capsys, export_dir)
    assert code == 1
    assert "ends without a newline" in out


def test_a_log_truncated_below_an_older_checkpoint_is_caught(capsys, tmp_path, leaves, log, key):
    older = checkpoint_file(tmp_path / "older-checkpoint", leaves, key)
    # Someone with database access deletes the newest entries; the gateway then honestly signs
    # what is left, so only the auditor's older checkpoint shows the loss.
    shorter = export(tmp_path / "shorter", leaves[:40], log, key)
    code, out = run(capsys, shorter)
    assert code == 0, out
    code, out = run(capsys, shorter, "--previous", older)
    assert code == 1
    assert "truncated or rolled back" in out


def test_entries_beyond_or_below_the_checkpoint_are_caught(capsys, export_dir, leaves, key):
    checkpoint_file(export_dir / "checkpoint", leaves, key, size=len(leaves) - 3)
    code, out = run(capsys, export_dir)
    assert code == 1
    assert f"entry {len(leaves) - 3}: this entry and those after it are not covered" in out
    write_lines(_entries(export_dir), read_lines(_entries(export_dir))[:-5])
    code, out = run(capsys, export_dir)
    assert code == 1
    assert "entries were removed" in out


def test_a_rewritten_and_rechained_history_is_caught(capsys, tmp_path, leaves, log, key):
    older = checkpoint_file(tmp_path / "older-checkpoint", leaves, key, size=50)
    values = parsed(leaves)
    values[20]["actor"]["email"] = "someone.else@council.example"
    rewritten = rechain(values)
    rewritten_dir = export(tmp_path / "rewritten", rewritten, log, key)
    code, out = run(capsys, rewritten_dir)
    assert code == 0, "a re-chained history signed by the gateway is self-consistent"
    code, out = run(capsys, rewritten_dir, "--previous", older)
    assert code == 1
    assert "first 50 entries do not hash to the previous checkpoint's root" in out
    assert "rewritten" in out


def test_a_longer_log_extends_an_older_checkpoint(capsys, tmp_path, export_dir, leaves, key):
    older = checkpoint_file(tmp_path / "older-checkpoint", leaves, key, size=33)
    code, out = run(capsys, export_dir, "--previous", older)
    assert code == 0, out
    assert "previous    size 33: the log extends it" in out
    # Saved from an email on Windows: CRLF line endings do not matter for a kept checkpoint.
    older.write_bytes(older.read_bytes().replace(b"\n", b"\r\n"))
    assert run(capsys, export_dir, "--previous", older)[0] == 0
    older.write_bytes(older.read_bytes().replace(b"33", b"34"))
    code, out = run(capsys, export_dir, "--previous", older)
    assert code == 1
    assert "the previous checkpoint" in out and "does not verify" in out


def test_a_checkpoint_resigned_with_another_key_is_caught(capsys, export_dir, leaves, key):
    impostor = Ed25519PrivateKey.generate()
    checkpoint_file(export_dir / "checkpoint", leaves, impostor)
    code, out = run(capsys, export_dir)
    assert code == 1
    assert "the checkpoint does not verify: no signature by the trusted key" in out
    # The impostor also replaces the verifier key: only a key the auditor trusts catches it.
    impostor_key = NoteVerifier.for_key(ORIGIN, impostor.public_key()).key_string()
    (export_dir / "verifier-key").write_text(impostor_key + "\n")
    code, out = run(capsys, export_dir)
    assert code == 0
    trusted = NoteVerifier.for_key(ORIGIN, key.public_key()).key_string()
    code, out = run(capsys, export_dir, "--key", trusted)
    assert code == 1
    assert "is not the trusted key" in out


def test_a_key_file_can_be_passed_and_a_bad_key_is_a_clear_error(capsys, tmp_path, export_dir, key):
    key_file = tmp_path / "trusted-key"
    key_file.write_text(NoteVerifier.for_key(ORIGIN, key.public_key()).key_string() + "\n")
    assert run(capsys, export_dir, "--key", key_file)[0] == 0
    good = key_file.read_text().strip()
    code, out = run(capsys, export_dir, "--key", good.replace("+", "+0", 1)[:-1])
    assert code == 2
    assert "gateway-verify: --key:" in out


def test_two_checkpoints_of_one_size_with_different_roots_are_a_fork(
    capsys, tmp_path, export_dir, leaves, key
):
    values = parsed(leaves)
    values[2]["payload"]["verdict"] = "fail"
    other = rechain(values)
    fork = checkpoint_file(tmp_path / "fork", other, key)
    code, out = run(capsys, export_dir, "--previous", fork)
    assert code == 1
    assert "a fork" in out


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda line: line.replace(b'{"action"', b'{"seq":0,"action"', 1), 'duplicate key "seq"'),
        (lambda line: b"\xef\xbb\xbf" + line, "byte order mark"),
        (lambda line: line + b"\r", "carriage return"),
        (lambda line: line.replace(b"council", b"counc\xffil", 1), "invalid UTF-8"),
        (lambda line: line.replace(b'","', b'", "', 1), "insignificant whitespace"),
        (lambda line: line.replace(b'"seq":0', b'"seq":0.0'), "not an integer"),
        (lambda line: line.replace(b'"post.', b'"\\u0070ost.', 1), "escaped differently"),
        (lambda line: b"[" * 100_000 + b"]" * 100_000, "nested more than 32 levels"),
        (lambda line: b"[" * 40 + b"]" * 40, "nested more than 32 levels"),
        (lambda line: b'{"a":"' + b"x" * (10 * 1024 * 1024) + b'"}', "longer than 1048576 bytes"),
        (lambda line: b"", "not JSON"),
    ],
    ids=["duplicate-key", "bom", "crlf", "utf8", "space", "float", "escape", "deep", "deep40",
         "10MB", "empty"],
)  # fmt: skip
def test_non_canonical_or_hostile_first_lines_get_a_clear_reason(
    capsys, export_dir, mangle, reason
):
    lines = read_lines(_entries(export_dir))
    lines[0] = mangle(lines[0])
    write_lines(_entries(export_dir), lines)
    code, out = run(capsys, export_dir)
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith("FAILED: entry 0: "), first
    assert reason in first
    assert "Traceback" not in out


def test_an_interior_node_passed_as_a_leaf_is_refused(capsys, tmp_path, leaves, log, key):
    out_dir = tmp_path / "filtered"
    write_filtered_export(out_dir, leaves, [0, 1], log.content, private_key=key, origin=ORIGIN)
    tree = MerkleTree(leaf_hash(leaf) for leaf in leaves)
    inclusion = out_dir / "inclusion.jsonl"
    # Node [0, 2) is H(0x01 || h0 || h1): offer "h0 || h1" as a leaf with the node's path.
    forged = {
        "index": 0,
        "leaf": (tree.leaf_hash_at(0) + tree.leaf_hash_at(1)).hex(),
        "proof": [h.hex() for h in tree.inclusion_proof(0)[1:]],
    }
    inclusion.write_text(json.dumps(forged, sort_keys=True, separators=(",", ":")) + "\n")
    code, out = run(capsys, out_dir)
    assert code == 1
    assert out.startswith("FAILED: entry 0: the inclusion proof does not verify")


def test_a_filtered_export_verifies_and_catches_an_edited_leaf(capsys, tmp_path, leaves, log, key):
    out_dir = tmp_path / "filtered"
    selected = [i for i, leaf in enumerate(leaves) if b'"delivery.outcome"' in leaf]
    older = checkpoint_file(tmp_path / "older", leaves, key, size=17)
    write_filtered_export(
        out_dir, leaves, selected, log.content, private_key=key, origin=ORIGIN,
        consistency_from=[17],
    )  # fmt: skip
    code, out = run(capsys, out_dir, "--previous", older)
    assert code == 0, out
    assert f"entries     {len(selected)} matching entries" in out
    assert "rules       not checked" in out
    inclusion = out_dir / "inclusion.jsonl"
    lines = read_lines(inclusion)
    lines[2] = lines[2].replace(b"published", b"failed", 1)
    write_lines(inclusion, lines)
    code, out = run(capsys, out_dir)
    assert code == 1
    assert out.startswith(f"FAILED: entry {selected[2]}: the inclusion proof does not verify")


def test_a_filtered_export_without_the_consistency_proof_asked_for(
    capsys, tmp_path, leaves, log, key
):
    out_dir = tmp_path / "filtered"
    write_filtered_export(out_dir, leaves, [3], log.content, private_key=key, origin=ORIGIN)
    older = checkpoint_file(tmp_path / "older", leaves, key, size=17)
    code, out = run(capsys, out_dir, "--previous", older)
    assert code == 1
    assert "no consistency proof from size 17" in out
    values = parsed(leaves)
    values[1]["payload"]["verdict"] = "fail"
    forked = checkpoint_file(tmp_path / "forked", rechain(values), key, size=17)
    (tmp_path / "filtered2").mkdir()
    write_filtered_export(
        tmp_path / "filtered2", leaves, [3], log.content, private_key=key, origin=ORIGIN,
        consistency_from=[17],
    )  # fmt: skip
    code, out = run(capsys, tmp_path / "filtered2", "--previous", forked)
    assert code == 1
    assert "does not extend the previous checkpoint of size 17" in out


def test_altered_and_missing_contents_are_caught(capsys, export_dir):
    contents = export_dir / "contents.jsonl"
    lines = read_lines(contents)
    lines[1] = lines[1].replace(b"Saturday", b"Sunday")
    write_lines(contents, lines)
    code, out = run(capsys, export_dir)
    assert code == 1
    assert "contents.jsonl line 2: the content does not match its hash" in out
    write_lines(contents, lines[:1])
    code, out = run(capsys, export_dir)
    assert code == 1
    assert "which contents.jsonl lacks" in out


@pytest.mark.parametrize("missing", ["checkpoint", "verifier-key", "entries.jsonl"])
def test_unreadable_exports_are_a_clear_error(capsys, export_dir, missing):
    (export_dir / missing).unlink()
    code, out = run(capsys, export_dir)
    assert code == 2
    assert out.startswith("gateway-verify: ")
    assert "Traceback" not in out


def test_not_a_folder(capsys, tmp_path):
    code, out = run(capsys, tmp_path / "nowhere")
    assert code == 2
    assert "is not a folder" in out


def test_an_unreadable_file_is_a_clear_error(capsys, export_dir):
    (export_dir / "contents.jsonl").unlink()
    (export_dir / "contents.jsonl").mkdir()  # reading a folder as a file fails with OSError
    code, out = run(capsys, export_dir)
    assert code == 2
    assert out.startswith("gateway-verify: cannot read")

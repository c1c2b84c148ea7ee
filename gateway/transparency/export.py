"""Write publish-log exports that tools nobody here wrote can check (issue #8, "Export").

A whole-log export is a folder with exactly these files:

- ``entries.jsonl``: line i is leaf i, the exact bytes that were hashed, each followed by a
  newline that is not part of the leaf;
- ``checkpoint``: a C2SP signed note whose text is a tlog-checkpoint covering every line;
- ``verifier-key``: the signed-note verifier key;
- ``contents.jsonl``: one canonical ``{"content": ..., "sha256": ...}`` line per post content
  the leaves refer to.

A filtered export replaces ``entries.jsonl`` with ``inclusion.jsonl`` (each matching entry's
index, leaf text and RFC 9162 inclusion proof against the shipped checkpoint), may add
``consistency.jsonl`` (proofs from older tree sizes, for auditors holding older checkpoints) and
adds ``entries.csv`` for spreadsheets.

These are pure functions over an iterable of leaf bytes and a content look-up: the app feeds
them from the database, the tests and the benchmark from :mod:`gateway.transparency.demo`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.transparency.canonical import canonical_json
from gateway.transparency.checkpoint import Checkpoint, sign_checkpoint, verifier_for
from gateway.transparency.merkle import MerkleTree, RootBuilder, leaf_hash

ENTRIES_FILE = "entries.jsonl"
CHECKPOINT_FILE = "checkpoint"
VERIFIER_KEY_FILE = "verifier-key"
CONTENTS_FILE = "contents.jsonl"
INCLUSION_FILE = "inclusion.jsonl"
CONSISTENCY_FILE = "consistency.jsonl"
CSV_FILE = "entries.csv"

#: Looks a post content up by its hex SHA-256; ``None`` when the database has no such content.
ContentLookup = Callable[[str], Any]

#: Writes go through a large buffer: a million-line export is a few hundred megabytes.
_WRITE_BUFFER = 1 << 20

# Keys are sorted in a leaf and only "action" and "actor" (fixed keys, string values in which a
# quote is always escaped) come before "content_sha256", so the first match is the top-level key.
_CONTENT_REF = re.compile(rb'"content_sha256":"([0-9a-f]{64})"')

#: Spreadsheet programs run a cell that starts with one of these as a formula (OWASP "CSV
#: Injection"); tab and carriage return can smuggle one past a naive check.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

CSV_COLUMNS = (
    "seq",
    "time",
    "actor_kind",
    "actor_id",
    "actor_email",
    "action",
    "object_type",
    "object_id",
    "content_sha256",
    "payload",
    "entry_sha256",
)


class ExportError(ValueError):
    """An export that cannot be written (the folder is not empty, or an argument is wrong)."""


@dataclass
class ExportSummary:
    """What an export wrote, and what it could not find."""

    checkpoint: Checkpoint
    entries: int
    contents: int
    #: Content hashes leaves refer to that the look-up did not find (the verifier will fail).
    missing_contents: list[str] = field(default_factory=list)


def _prepare(out_dir: str | os.PathLike[str]) -> Path:
    path = Path(out_dir)
    path.mkdir(parents=True, exist_ok=True)
    if any(path.iterdir()):
        raise ExportError(f"{path} is not empty; an export is written into an empty folder")
    return path


def _write_contents(path: Path, hashes: Iterable[str], contents: ContentLookup) -> tuple[int, list]:
    written, missing = 0, []
    with open(path / CONTENTS_FILE, "wb", buffering=_WRITE_BUFFER) as out:
        for digest in hashes:
            content = contents(digest)
            if content is None:
                missing.append(digest)
                continue
            # Written as found, even if it no longer matches its hash: the verifier must see it.
            out.write(canonical_json({"content": content, "sha256": digest}) + b"\n")
            written += 1
    return written, missing


def _write_signed(
    path: Path,
    size: int,
    root: bytes,
    private_key: Ed25519PrivateKey,
    origin: str,
    extensions: Iterable[str],
) -> Checkpoint:
    checkpoint = Checkpoint(origin, size, root, tuple(extensions))
    (path / CHECKPOINT_FILE).write_bytes(sign_checkpoint(checkpoint, private_key))
    key_line = verifier_for(private_key, origin).key_string()
    (path / VERIFIER_KEY_FILE).write_text(key_line + "\n", encoding="utf-8")
    return checkpoint


def write_export(
    out_dir: str | os.PathLike[str],
    leaves: Iterable[bytes],
    contents: ContentLookup,
    *,
    private_key: Ed25519PrivateKey,
    origin: str,
    extensions: Iterable[str] = (),
) -> ExportSummary:
    """Write a whole-log export of ``leaves`` (from leaf 0) into the empty ``out_dir``."""
    path = _prepare(out_dir)
    tree = RootBuilder()
    referenced: dict[str, None] = {}
    search = _CONTENT_REF.search
    with open(path / ENTRIES_FILE, "wb", buffering=_WRITE_BUFFER) as out:
        for leaf in leaves:
            out.write(leaf)
            out.write(b"\n")
            tree.append_leaf(leaf)
            match = search(leaf)
            if match:
                referenced[match.group(1).decode()] = None
    written, missing = _write_contents(path, referenced, contents)
    checkpoint = _write_signed(path, tree.size, tree.root(), private_key, origin, extensions)
    return ExportSummary(checkpoint, tree.size, written, missing)


def write_filtered_export(
    out_dir: str | os.PathLike[str],
    leaves: Iterable[bytes],
    selected: Iterable[int],
    contents: ContentLookup,
    *,
    private_key: Ed25519PrivateKey,
    origin: str,
    consistency_from: Iterable[int] = (),
    extensions: Iterable[str] = (),
) -> ExportSummary:
    """Write the entries at ``selected`` indices with inclusion proofs against a checkpoint of
    all of ``leaves``; ``consistency_from`` lists older tree sizes to prove consistency from."""
    path = _prepare(out_dir)
    wanted = set(selected)
    tree = MerkleTree()
    kept: list[tuple[int, bytes]] = []
    for index, leaf in enumerate(leaves):
        tree.append(leaf_hash(leaf))
        if index in wanted:
            kept.append((index, leaf))
    size = tree.size
    if any(not 0 <= i < size for i in wanted):
        raise ExportError(f"a selected index is outside the log of {size} entries")
    referenced: dict[str, None] = {}
    with open(path / INCLUSION_FILE, "wb", buffering=_WRITE_BUFFER) as out:
        for index, leaf in kept:
            proof = [h.hex() for h in tree.inclusion_proof(index, size)]
            line = {"index": index, "leaf": leaf.decode("utf-8"), "proof": proof}
            out.write(canonical_json(line) + b"\n")
            match = _CONTENT_REF.search(leaf)
            if match:
                referenced[match.group(1).decode()] = None
    old_sizes = sorted({s for s in consistency_from if 0 < s < size})
    if old_sizes:
        with open(path / CONSISTENCY_FILE, "wb") as out:
            for old in old_sizes:
                proof = [h.hex() for h in tree.consistency_proof(old, size)]
                out.write(canonical_json({"old_size": old, "proof": proof}) + b"\n")
    with open(path / CSV_FILE, "w", encoding="utf-8", newline="") as out:
        write_csv(out, (leaf for _, leaf in kept))
    written, missing = _write_contents(path, referenced, contents)
    checkpoint = _write_signed(path, size, tree.root(), private_key, origin, extensions)
    return ExportSummary(checkpoint, len(kept), written, missing)


def csv_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: formula-starting text gets a leading apostrophe."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def write_csv(stream: TextIO, leaves: Iterable[bytes]) -> int:
    """Write one CSV row per leaf (columns :data:`CSV_COLUMNS`); return the number of rows.

    ``stream`` should be opened with ``newline=""`` (the csv module writes RFC 4180 CRLFs).
    """
    writer = csv.writer(stream, quoting=csv.QUOTE_ALL)
    writer.writerow(CSV_COLUMNS)
    rows = 0
    for leaf in leaves:
        entry = json.loads(leaf)
        actor, obj = entry["actor"], entry["object"] or {}
        row = (
            entry["seq"],
            entry["time"],
            actor["kind"],
            actor["id"],
            actor["email"],
            entry["action"],
            obj.get("type"),
            obj.get("id"),
            entry["content_sha256"],
            canonical_json(entry["payload"]).decode("utf-8"),
            hashlib.sha256(leaf).hexdigest(),
        )
        writer.writerow([csv_cell(value) for value in row])
        rows += 1
    return rows

"""Helpers for the publish-log tests: make logs, tamper with them, run gateway-verify."""

from __future__ import annotations

import json
from pathlib import Path

from gateway.transparency.canonical import canonical_json
from gateway.transparency.checkpoint import Checkpoint, sign_checkpoint
from gateway.transparency.demo import DEMO_ORIGIN, DemoLog
from gateway.transparency.export import write_export
from gateway.transparency.leaf import GENESIS_PREV, entry_hash
from gateway.transparency.merkle import leaf_hash, root_hash
from gateway.verify import main

ORIGIN = DEMO_ORIGIN


def demo_leaves(posts: int = 12) -> tuple[list[bytes], DemoLog]:
    log = DemoLog(posts)
    return list(log.leaves()), log


def rechain(values: list[dict]) -> list[bytes]:
    """Renumber and re-link parsed leaves, as a writer with database access could."""
    leaves, prev = [], GENESIS_PREV
    for seq, value in enumerate(values):
        value = {**value, "seq": seq, "prev": prev}
        leaf = canonical_json(value)
        leaves.append(leaf)
        prev = entry_hash(leaf)
    return leaves


def parsed(leaves: list[bytes]) -> list[dict]:
    return [json.loads(leaf) for leaf in leaves]


def export(path: Path, leaves: list[bytes], log: DemoLog, key) -> Path:
    write_export(path, leaves, log.content, private_key=key, origin=ORIGIN)
    return path


def checkpoint_file(path: Path, leaves: list[bytes], key, size: int | None = None) -> Path:
    size = len(leaves) if size is None else size
    root = root_hash(leaf_hash(leaf) for leaf in leaves[:size])
    path.write_bytes(sign_checkpoint(Checkpoint(ORIGIN, size, root), key))
    return path


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def read_lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]


def run(capsys, *args: str | Path) -> tuple[int, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out + err

"""Check an export with a second verifier written here from the specifications alone.

Nothing below the marker imports the project's code: it reads the folder as an outside auditor's
tool would, from RFC 9162 section 2.1 (Merkle tree hash), C2SP signed-note and C2SP
tlog-checkpoint, and RFC 8785 through the independent ``rfc8785`` package.
"""

from __future__ import annotations

import base64
import hashlib
import json

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.transparency.helpers import checkpoint_file, parsed, rechain

# ---- the independent verifier: specifications only ---------------------------------------------


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.1, recursively, exactly as the RFC writes it."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k << 1 < n:
        k <<= 1
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def parse_vkey(line: str):
    name, key_hash, key_b64 = line.strip().split("+", 2)
    raw = base64.b64decode(key_b64)
    assert raw[0] == 1 and len(raw) == 33, "C2SP signed-note: Ed25519 keys are 0x01 || 32 bytes"
    expected = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    assert expected.hex() == key_hash, "key hash mismatch"
    return name, expected, Ed25519PublicKey.from_public_bytes(raw[1:])


def open_signed_note(note: bytes, name: str, key_hash: bytes, public_key) -> str:
    text, sep, sigs = note.decode().rpartition("\n\n")
    assert sep, "a signed note has a blank line before its signatures"
    text += "\n"
    for line in sigs.rstrip("\n").split("\n"):
        assert line.startswith("\u2014 ")
        signer, b64 = line[2:].split(" ")
        blob = base64.b64decode(b64)
        if signer == name and blob[:4] == key_hash:
            public_key.verify(blob[4:], text.encode())  # raises InvalidSignature
            return text
    raise AssertionError("no signature by the expected key")


def independent_verify(folder) -> tuple[int, bytes]:
    name, key_hash, public_key = parse_vkey((folder / "verifier-key").read_text())
    text = open_signed_note((folder / "checkpoint").read_bytes(), name, key_hash, public_key)
    origin, size, root_b64, *_ = text.rstrip("\n").split("\n")
    assert origin == name
    data = (folder / "entries.jsonl").read_bytes()
    assert data.endswith(b"\n")
    leaves = data[:-1].split(b"\n")
    assert len(leaves) == int(size)
    assert mth(leaves) == base64.b64decode(root_b64), "root mismatch"
    previous = "0" * 64
    for i, leaf in enumerate(leaves):
        entry = json.loads(leaf)
        assert rfc8785.dumps(entry) == leaf, f"leaf {i} is not RFC 8785 canonical"
        assert entry["seq"] == i
        assert entry["prev"] == previous
        previous = hashlib.sha256(leaf).hexdigest()
    contents = {}
    for line in (folder / "contents.jsonl").read_bytes().splitlines():
        item = json.loads(line)
        assert hashlib.sha256(rfc8785.dumps(item["content"])).hexdigest() == item["sha256"]
        contents[item["sha256"]] = item["content"]
    for leaf in leaves:
        referenced = json.loads(leaf)["content_sha256"]
        assert referenced is None or referenced in contents
    return int(size), base64.b64decode(root_b64)


# ---- the tests --------------------------------------------------------------------------------


def test_the_independent_verifier_accepts_our_export(export_dir, leaves, key):
    size, root = independent_verify(export_dir)
    assert size == len(leaves)
    name = (export_dir / "checkpoint").read_text().split("\n")[0]
    raw = b"\x01" + key.public_key().public_bytes_raw()
    key_hash = hashlib.sha256(name.encode() + b"\n" + raw).hexdigest()[:8]
    expected = f"{name}+{key_hash}+{base64.b64encode(raw).decode()}\n"
    assert (export_dir / "verifier-key").read_text() == expected


def test_the_independent_verifier_agrees_on_a_checkpoint_we_sign(tmp_path, leaves, key):
    path = checkpoint_file(tmp_path / "cp", leaves, key, size=29)
    name = path.read_text().split("\n")[0]
    raw = b"\x01" + key.public_key().public_bytes_raw()
    key_hash = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    vkey = f"{name}+{key_hash.hex()}+{base64.b64encode(raw).decode()}"
    name, key_hash, public_key = parse_vkey(vkey)
    text = open_signed_note(path.read_bytes(), name, key_hash, public_key)
    assert text.split("\n")[1] == "29"
    assert base64.b64decode(text.split("\n")[2]) == mth(leaves[:29])


def test_the_independent_verifier_also_rejects_what_ours_rejects(export_dir, leaves):
    values = parsed(leaves)
    values[4]["payload"]["extra"] = 1
    (export_dir / "entries.jsonl").write_bytes(b"".join(leaf + b"\n" for leaf in rechain(values)))
    try:
        independent_verify(export_dir)
    except AssertionError as exc:
        assert "root mismatch" in str(exc)
    else:
        raise AssertionError("the independent verifier accepted a rewritten log")

"""C2SP tlog-checkpoints (https://c2sp.org/tlog-checkpoint) and the log's signing key.

A checkpoint's text is the origin line, the tree size in decimal, the base64 root hash and any
extension lines, each ending in a newline; it is signed as a C2SP signed note whose key name is
the origin (issue #8). The private key lives in a file outside the database, so someone who can
only change the database cannot sign a checkpoint over a history they rewrote.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from gateway.transparency.note import (
    ALG_ED25519,
    NoteError,
    NoteVerifier,
    check_key_name,
    open_note,
    sign_note,
)

#: The signing key file is readable by its owner only: anyone who can read it can forge
#: checkpoints (issue #8).
KEY_FILE_MODE = 0o600

_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_GO_KEY_PREFIX = "PRIVATE+KEY+"


class CheckpointError(ValueError):
    """A checkpoint that is malformed, unsigned or signed by another key."""


class SigningKeyError(ValueError):
    """A signing key file that is missing, unreadable or not an Ed25519 key."""


@dataclass(frozen=True)
class Checkpoint:
    """What a signed tree head says: the log's origin, its size and its root hash."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = field(default=())

    def text(self) -> str:
        """The checkpoint body: origin, size, base64 root and extension lines."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode()]
        return "".join(f"{line}\n" for line in [*lines, *self.extensions])


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint body strictly (C2SP tlog-checkpoint, "Note text")."""
    if not text.endswith("\n"):
        raise CheckpointError("a checkpoint's text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("a checkpoint has an origin, a tree size and a root hash line")
    origin, size_line, root_line, *extensions = lines
    if not origin or origin != origin.strip():
        raise CheckpointError("the checkpoint's origin line is empty or padded")
    if not _DECIMAL.fullmatch(size_line) or len(size_line) > 20:
        raise CheckpointError(f"the checkpoint's tree size {size_line[:40]!r} is not a decimal")
    try:
        root = base64.b64decode(root_line, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CheckpointError("the checkpoint's root hash is not valid base64") from exc
    if len(root) != 32 or base64.b64encode(root).decode() != root_line:
        raise CheckpointError("the checkpoint's root hash is not a base64 SHA-256 hash")
    if any(not line for line in extensions):
        raise CheckpointError("a checkpoint extension line is empty")
    return Checkpoint(origin, int(size_line), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, private_key: Ed25519PrivateKey) -> bytes:
    """The signed note of ``checkpoint``, signed under its origin as the key name."""
    try:
        return sign_note(checkpoint.text(), checkpoint.origin, private_key)
    except NoteError as exc:
        raise CheckpointError(str(exc)) from exc


def open_checkpoint(data: bytes, verifier: NoteVerifier) -> Checkpoint:
    """Verify ``data``'s signature by ``verifier`` and parse the checkpoint it signs."""
    try:
        text = open_note(data, verifier)
    except NoteError as exc:
        raise CheckpointError(str(exc)) from exc
    checkpoint = parse_checkpoint(text)
    if checkpoint.origin != verifier.name:
        raise CheckpointError(
            f"the checkpoint's origin {checkpoint.origin!r} is not the key's name {verifier.name!r}"
        )
    return checkpoint


def verifier_for(private_key: Ed25519PrivateKey, origin: str) -> NoteVerifier:
    """The verifier that checks checkpoints this key signs for ``origin``."""
    try:
        return NoteVerifier.for_key(origin, private_key.public_key())
    except NoteError as exc:
        raise CheckpointError(str(exc)) from exc


def generate_signing_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Create a new Ed25519 key in a new PKCS#8 PEM file of mode 0600; never overwrite one."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    try:
        # O_EXCL: a second keygen must not silently replace the key auditors already trust.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    except FileExistsError as exc:
        raise SigningKeyError(f"{path} already exists; refusing to replace a signing key") from exc
    except OSError as exc:
        raise SigningKeyError(f"cannot create signing key {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), KEY_FILE_MODE)
        handle.write(pem)
    return key


def load_signing_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Read an Ed25519 signing key: PKCS#8 PEM, or Go's ``PRIVATE+KEY+name+id+base64`` form."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise SigningKeyError(f"signing key file {path} does not exist") from exc
    except OSError as exc:
        raise SigningKeyError(f"cannot read signing key {path}: {exc.strerror}") from exc
    text = data.decode("ascii", errors="replace").strip()
    if text.startswith(_GO_KEY_PREFIX):
        return _load_go_key(text, path)
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path} is not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def _load_go_key(text: str, path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    parts = text[len(_GO_KEY_PREFIX) :].split("+", 2)
    if len(parts) != 3:
        raise SigningKeyError(f"{path}: a Go note key is PRIVATE+KEY+<name>+<id>+<base64>")
    name, hex_id, encoded = parts
    try:
        check_key_name(name)
        blob = base64.b64decode(encoded, validate=True)
    except (NoteError, binascii.Error, ValueError) as exc:
        raise SigningKeyError(f"{path}: malformed Go note key") from exc
    if len(blob) != 33 or blob[0] != ALG_ED25519:
        raise SigningKeyError(f"{path}: not an Ed25519 Go note key")
    key = Ed25519PrivateKey.from_private_bytes(blob[1:])
    if NoteVerifier.for_key(name, key.public_key()).key_id.hex() != hex_id:
        raise SigningKeyError(f"{path}: the key id does not match the key")
    return key

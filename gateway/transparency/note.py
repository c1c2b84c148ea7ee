"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys.

The format Go's checksum database (``golang.org/x/mod/sumdb/note``) and the transparency-dev
witnesses read, so tools nobody here wrote can verify and cosign our checkpoints (issue #8). A
signed note is its text, a blank line, then one line per signature::

    <text ending in a newline>
    (blank line)
    — <key name> <base64(4-byte key id || 64-byte Ed25519 signature)>

A verifier key is ``<name>+<hex key id>+<base64(0x01 || 32-byte public key)>``, where the key id
is the first four bytes of ``SHA-256(name || 0x0A || 0x01 || public key)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

#: The signature-type byte C2SP signed-note assigns to Ed25519.
ALG_ED25519 = 0x01

#: Notes are small (a checkpoint is three lines); a larger input is refused before any parsing,
#: as Go's note.Open caps what it reads.
MAX_NOTE_BYTES = 1 << 20

#: Go's note package refuses notes with more than 100 signatures; we do the same so a note padded
#: with junk signatures cannot make verification slow.
MAX_SIGNATURES = 100

_SIG_PREFIX = "\u2014 "  # an em dash and a space start every signature line
_KEY_ID_LEN = 4
_ED25519_SIG_LEN = 64
_ED25519_KEY_LEN = 32
# Key names are non-empty UTF-8 with no Unicode space and no "+" (C2SP signed-note, "Keys").
_BAD_NAME = re.compile(r"[\s+]")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_HEX8 = re.compile(r"[0-9a-f]{8}")


class NoteError(ValueError):
    """A note, key or signature that is malformed or does not verify."""


def check_key_name(name: str) -> None:
    """Raise :class:`NoteError` unless ``name`` is a valid key name."""
    if not name or _BAD_NAME.search(name) or _CONTROL.search(name):
        raise NoteError(f"{name!r} is not a valid key name (no spaces or '+', not empty)")


def key_id(name: str, public_key: bytes) -> bytes:
    """First four bytes of ``SHA-256(name || "\\n" || 0x01 || public key)``."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()
    return digest[:_KEY_ID_LEN]


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class NoteVerifier:
    """One trusted Ed25519 key: its name, 4-byte key id and public key."""

    name: str
    key_id: bytes
    public_key: Ed25519PublicKey

    @classmethod
    def for_key(cls, name: str, public_key: Ed25519PublicKey) -> NoteVerifier:
        """The verifier for ``public_key`` under ``name``."""
        check_key_name(name)
        return cls(name, key_id(name, _raw_public(public_key)), public_key)

    def key_string(self) -> str:
        """``<name>+<hex key id>+<base64(0x01 || public key)>``."""
        blob = bytes([ALG_ED25519]) + _raw_public(self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(blob).decode()}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature of ``text``."""
        try:
            self.public_key.verify(signature, text)
        except InvalidSignature:
            return False
        return True


def verifier_key_string(name: str, public_key: Ed25519PublicKey) -> str:
    """The verifier key line an auditor keeps: ``<name>+<hex key id>+<base64 key>``."""
    return NoteVerifier.for_key(name, public_key).key_string()


def parse_verifier_key(text: str) -> NoteVerifier:
    """Parse a verifier key line, checking its key id against its name and key."""
    text = text.strip()
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise NoteError("a verifier key is <name>+<hex key id>+<base64 key>")
    name, hex_id, encoded = parts
    check_key_name(name)
    if not _HEX8.fullmatch(hex_id):
        raise NoteError("a verifier key's key id is 8 lowercase hex digits")
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError("a verifier key's public key is not valid base64") from exc
    if len(blob) != 1 + _ED25519_KEY_LEN or blob[0] != ALG_ED25519:
        raise NoteError("the verifier key is not an Ed25519 key (type 0x01, 32 bytes)")
    expected = key_id(name, blob[1:])
    if expected.hex() != hex_id:
        raise NoteError(
            f"the verifier key's fingerprint {hex_id} does not match its name and key "
            f"(they give {expected.hex()})"
        )
    return NoteVerifier(name, expected, Ed25519PublicKey.from_public_bytes(blob[1:]))


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("a note's text must end with a newline")
    if _CONTROL.search(text):
        raise NoteError("a note's text must not contain control characters other than newline")


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> bytes:
    """Sign ``text`` (which must end in a newline) and return the whole signed note."""
    _check_text(text)
    check_key_name(name)
    body = text.encode("utf-8")
    public = _raw_public(private_key.public_key())
    blob = key_id(name, public) + private_key.sign(body)
    return body + f"\n{_SIG_PREFIX}{name} {base64.b64encode(blob).decode()}\n".encode()


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key name, the key id and the raw signature."""

    name: str
    key_id: bytes
    signature: bytes


def split_note(data: bytes) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its text and signature lines, without verifying anything."""
    if len(data) > MAX_NOTE_BYTES:
        raise NoteError(f"the note is larger than {MAX_NOTE_BYTES} bytes")
    try:
        message = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError(f"the note is not valid UTF-8 (byte {exc.start})") from exc
    if message.startswith("\ufeff"):
        raise NoteError("the note starts with a byte order mark")
    if "\r" in message:
        raise NoteError("the note has a carriage return (CRLF line endings are not allowed)")
    if _CONTROL.search(message):
        raise NoteError("the note contains control characters")
    split = message.rfind("\n\n")
    if split < 0:
        raise NoteError("the note has no blank line before its signatures")
    text, block = message[: split + 1], message[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("the note's last signature line does not end with a newline")
    signatures: list[NoteSignature] = []
    for line in block[:-1].split("\n"):
        if len(signatures) == MAX_SIGNATURES:
            raise NoteError(f"the note has more than {MAX_SIGNATURES} signatures")
        if not line.startswith(_SIG_PREFIX):
            raise NoteError(f"malformed signature line {line[:80]!r}")
        name, _, encoded = line[len(_SIG_PREFIX) :].partition(" ")
        check_key_name(name)
        try:
            blob = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise NoteError(f"the signature by {name!r} is not valid base64") from exc
        if len(blob) < _KEY_ID_LEN + 1:
            raise NoteError(f"the signature by {name!r} is too short")
        signatures.append(NoteSignature(name, blob[:_KEY_ID_LEN], blob[_KEY_ID_LEN:]))
    return text, signatures


def open_note(data: bytes, verifier: NoteVerifier) -> str:
    """Return the note's text if ``verifier``'s key signed it, else raise :class:`NoteError`.

    Signatures by other keys are ignored, as C2SP signed-note requires (witness cosignatures
    may sit beside ours).
    """
    text, signatures = split_note(data)
    body = text.encode("utf-8")
    ours = [s for s in signatures if s.name == verifier.name and s.key_id == verifier.key_id]
    if not ours:
        names = ", ".join(sorted({f"{s.name}+{s.key_id.hex()}" for s in signatures}))
        raise NoteError(
            f"no signature by the trusted key {verifier.name}+{verifier.key_id.hex()} "
            f"(signed by: {names or 'nobody'})"
        )
    for sig in ours:
        if len(sig.signature) == _ED25519_SIG_LEN and verifier.verify(body, sig.signature):
            return text
    raise NoteError(
        f"the signature by {verifier.name}+{verifier.key_id.hex()} does not verify: "
        "the note was altered or signed by another key"
    )

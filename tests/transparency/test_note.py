"""Signed notes and checkpoints against the C2SP and Go reference vectors."""

from __future__ import annotations

import base64
import contextlib
import os
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from gateway.transparency.checkpoint import (
    Checkpoint,
    CheckpointError,
    SigningKeyError,
    generate_signing_key,
    load_signing_key,
    open_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
    verifier_for,
)
from gateway.transparency.note import (
    NoteError,
    NoteVerifier,
    open_note,
    parse_verifier_key,
    sign_note,
    split_note,
)

# golang.org/x/mod/sumdb/note's documented example (Ed25519 signatures are deterministic, so
# signing the same text with the same key must give the same bytes).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUg"
    "YN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
).encode()

# The example in https://c2sp.org/signed-note.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6Tf"
    "Xppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
).encode()


@pytest.fixture
def go_key(tmp_path):
    path = tmp_path / "go.key"
    path.write_text(GO_SKEY + "\n")
    return load_signing_key(path)


def test_go_reference_note_is_reproduced_byte_for_byte(go_key):
    verifier = NoteVerifier.for_key("PeterNeumann", go_key.public_key())
    assert verifier.key_string() == GO_VKEY
    assert sign_note(GO_TEXT, "PeterNeumann", go_key) == GO_NOTE
    assert open_note(GO_NOTE, parse_verifier_key(GO_VKEY)) == GO_TEXT


def test_c2sp_specification_example_verifies():
    assert open_note(SPEC_NOTE, parse_verifier_key(SPEC_VKEY)) == "This is an example message.\n"


def test_a_verifier_key_with_a_wrong_fingerprint_is_refused():
    with pytest.raises(NoteError, match="fingerprint"):
        parse_verifier_key(GO_VKEY.replace("c74f20a3", "c74f20a4"))
    with pytest.raises(NoteError, match="fingerprint"):
        # Same key under another name: the id no longer matches.
        parse_verifier_key(GO_VKEY.replace("PeterNeumann", "PeterNeumanm"))


@pytest.mark.parametrize(
    "bad",
    ["", "a+b", "PeterNeumann+c74f20a3", "Peter Neumann+c74f20a3+ARpc",
     "PeterNeumann+c74f20a3+!!!!", "PeterNeumann+c74f20a3+AQ==",
     "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"],
)  # fmt: skip
def test_malformed_verifier_keys_are_refused(bad):
    with pytest.raises(NoteError):
        parse_verifier_key(bad)


def test_a_note_signed_by_another_key_is_refused():
    other = Ed25519PrivateKey.generate()
    forged = sign_note(GO_TEXT, "PeterNeumann", other)
    with pytest.raises(NoteError, match="no signature by the trusted key"):
        open_note(forged, parse_verifier_key(GO_VKEY))


def test_an_altered_text_is_refused():
    altered = GO_NOTE.replace(b"answer", b"ANSWER")
    with pytest.raises(NoteError, match="does not verify"):
        open_note(altered, parse_verifier_key(GO_VKEY))


def test_unknown_extra_signatures_are_ignored(go_key):
    cosigned = (
        GO_NOTE + sign_note(GO_TEXT, "witness", Ed25519PrivateKey.generate()).split(b"\n\n")[1]
    )
    text, sigs = split_note(cosigned)
    assert [s.name for s in sigs] == ["PeterNeumann", "witness"]
    assert open_note(cosigned, parse_verifier_key(GO_VKEY)) == GO_TEXT


@pytest.mark.parametrize(
    "bad",
    [b"no blank line\n", GO_NOTE.replace(b"\n", b"\r\n"), b"\xef\xbb\xbf" + GO_NOTE,
     GO_NOTE[:-1], GO_NOTE.replace("\u2014".encode(), b"-"), b"\xff\n\n",
     GO_TEXT.encode() + b"\n\xe2\x80\x94 x !!!\n", b"x" * (2 << 20)],
)  # fmt: skip
def test_malformed_notes_are_refused(bad):
    with pytest.raises(NoteError):
        open_note(bad, parse_verifier_key(GO_VKEY))


@given(st.binary(max_size=400))
def test_note_parser_never_crashes(data):
    with contextlib.suppress(NoteError):
        split_note(data)


def test_checkpoint_round_trip(tmp_path):
    key = generate_signing_key(tmp_path / "log.key")
    checkpoint = Checkpoint("council.example/log", 8, bytes(range(32)), ("ext line",))
    assert checkpoint.text() == (
        "council.example/log\n8\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\next line\n"
    )
    signed = sign_checkpoint(checkpoint, key)
    assert open_checkpoint(signed, verifier_for(key, "council.example/log")) == checkpoint


def test_checkpoint_origin_must_be_the_key_name(tmp_path):
    key = Ed25519PrivateKey.generate()
    signed = sign_note("other/log\n1\n" + base64.b64encode(bytes(32)).decode() + "\n", "a", key)
    with pytest.raises(CheckpointError, match="origin"):
        open_checkpoint(signed, NoteVerifier.for_key("a", key.public_key()))


@pytest.mark.parametrize(
    "text",
    ["o\n1\n", "o\n01\n" + "A" * 43 + "=\n", "o\n-1\nAAAA\n", "\n1\n" + "A" * 43 + "=\n",
     "o\n1\n" + "A" * 43 + "=", "o\n1\nAAAA\n", "o\n1\n" + "A" * 43 + "=\n\n"],
)  # fmt: skip
def test_malformed_checkpoints_are_refused(text):
    with pytest.raises(CheckpointError):
        parse_checkpoint(text)


def test_generated_key_file_is_private_and_never_overwritten(tmp_path):
    path = tmp_path / "log.key"
    key = generate_signing_key(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = load_signing_key(path)
    assert loaded.public_key().public_bytes_raw() == key.public_key().public_bytes_raw()
    with pytest.raises(SigningKeyError, match="already exists"):
        generate_signing_key(path)
    assert load_signing_key(path).public_key().public_bytes_raw() == (
        key.public_key().public_bytes_raw()
    )


def test_bad_key_files_give_clear_errors(tmp_path):
    with pytest.raises(SigningKeyError, match="does not exist"):
        load_signing_key(tmp_path / "missing")
    junk = tmp_path / "junk"
    junk.write_text("hello")
    with pytest.raises(SigningKeyError, match="not an unencrypted PEM"):
        load_signing_key(junk)
    go_bad = tmp_path / "gobad"
    go_bad.write_text(GO_SKEY.replace("c74f20a3", "00000000"))
    with pytest.raises(SigningKeyError, match="key id"):
        load_signing_key(go_bad)

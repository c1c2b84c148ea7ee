"""Signing checkpoints of the log in the database: the key, incremental roots, the sweep."""

from __future__ import annotations

import stat
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from gateway.audit import checkpoints
from gateway.audit.checkpoints import checkpoint_sweep, due, sign_now
from gateway.extensions import db
from gateway.models import LogCheckpoint
from gateway.models.base import utcnow
from gateway.transparency.checkpoint import load_signing_key, open_checkpoint, verifier_for
from gateway.transparency.merkle import RootBuilder
from tests.audit.conftest import bypass_trigger, entries, make_entries
from tests.conftest import TEST_PASSWORD
from workers.sweeps import SWEEPS


def _root_of_all() -> tuple[int, bytes]:
    builder = RootBuilder()
    for leaf in checkpoints.iter_leaves():
        builder.append_leaf(leaf)
    return builder.size, builder.root()


def test_a_checkpoint_is_signed_with_the_instance_key_and_stored(app):
    with app.app_context():
        path = app.config["LOG_SIGNING_KEY_PATH"]
        assert path.startswith(app.config["INSTANCE_PATH"])
        key = checkpoints.signing_key()
        mode = stat.S_IMODE((__import__("os").stat(path)).st_mode)
        assert mode == 0o600
        # the second use reads the same key, never makes a new one
        assert checkpoints.signing_key().public_key() == key.public_key()
        assert load_signing_key(path).public_key() == key.public_key()

    # a checkpoint signs the root of every entry and is stored
    with app.app_context():
        make_entries(5)
        signed = sign_now()
        db.session.commit()
        assert signed.new and signed.checkpoint.size == 5
        assert (5, signed.checkpoint.root_hash) == _root_of_all()
        verifier = verifier_for(checkpoints.signing_key(), app.config["LOG_ORIGIN"])
        assert open_checkpoint(signed.note, verifier) == signed.checkpoint
        row = db.session.scalars(select(LogCheckpoint)).one()
        assert bytes(row.note) == signed.note and row.size == 5
        # the private key is not in the database, in any form
        key = checkpoints.signing_key()
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            NoEncryption,
            PrivateFormat,
        )

        raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        for column in (row.note, row.frontier.encode(), row.root_hash.encode()):
            assert raw not in bytes(column) and raw.hex().encode() not in bytes(column)


def test_roots_are_built_incrementally_and_never_over_a_broken_chain(app):
    with app.app_context():
        make_entries(3)
        first = sign_now()
        db.session.commit()
        again = sign_now()
        assert not again.new and again.row.id == first.row.id
        for more in (1, 4, 9):  # sizes 4, 8, 17: across powers of two
            make_entries(more)
            signed = sign_now()
            db.session.commit()
            assert (signed.checkpoint.size, signed.checkpoint.root_hash) == _root_of_all()
        assert checkpoints.count_checkpoints() == 4

        # entry 18 edited after the checkpoint of 17, not re-chained: signing would bless it
        make_entries(2)
        bypass_trigger()
        db.session.execute(
            text("UPDATE audit_entries SET leaf = :l WHERE seq = 18"),
            {"l": bytes(entries()[18].leaf).replace(b'"n":1', b'"n":7')},
        )
        db.session.commit()
        with pytest.raises(checkpoints.CheckpointSigningError, match="entry 18 does not hash"):
            sign_now()
        make_entries(1)  # and once an entry follows it, that one no longer links
        with pytest.raises(checkpoints.CheckpointSigningError, match="entry 19 does not link"):
            sign_now()


def test_the_sweep_and_the_command_sign_checkpoints(app, runner, tmp_path, monkeypatch):
    from gateway.notifications import mail

    sent = []
    monkeypatch.setattr(mail, "send", lambda email: sent.append(email) or len(email.to))
    assert checkpoint_sweep in SWEEPS
    app.config["CHECKPOINT_DIR"] = str(tmp_path / "kept")
    with app.app_context():
        assert checkpoint_sweep(app) is None  # an empty log: nothing to sign
        from gateway import users
        from gateway.audit import Actor

        users.create_user(
            "mo@council.example", ["monitoring_officer"], TEST_PASSWORD, actor=Actor.system()
        )
        make_entries(1)
        assert checkpoint_sweep(app) == "signed checkpoint of 2 entries"
        note = bytes(checkpoints.latest_checkpoint().note)
        kept = tmp_path / "kept" / "checkpoint-000000000002"
        assert kept.read_bytes() == note
        # and the monitoring officer is sent it, to keep where the operators cannot reach
        (email,) = sent
        assert email.to == ("mo@council.example",) and note.decode() in email.body
        make_entries(1)
        assert not due(app=app)  # grew, but the last one is younger than 5 minutes
        assert checkpoint_sweep(app) is None
        assert due(now=utcnow() + timedelta(minutes=5), app=app)
        app.config["CHECKPOINT_MINUTES"] = 1
        assert due(now=utcnow() + timedelta(minutes=1), app=app)
        assert not due(now=utcnow() + timedelta(seconds=30), app=app)

    # gateway audit checkpoint prints the signed note
    from gateway.cli import main

    with app.app_context():
        make_entries(2)
    result = runner.invoke(main, ["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    lines = result.output.split("\n")
    assert lines[0] == app.config["LOG_ORIGIN"] and lines[1] == "5"
    assert lines[4].startswith("\u2014 " + app.config["LOG_ORIGIN"] + " ")


def test_keygen_makes_an_owner_only_key_and_never_replaces_one(tmp_path):
    from gateway.cli.audit import audit

    path = tmp_path / "log.key"
    result = CliRunner().invoke(audit, ["keygen", "--out", str(path), "--origin", "x.example/log"])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "Verifier key: x.example/log+" in result.output
    before = path.read_bytes()
    again = CliRunner().invoke(audit, ["keygen", "--out", str(path)])
    assert again.exit_code != 0 and "refusing to replace" in again.output
    assert path.read_bytes() == before


def test_production_without_the_key_file_stops_with_one_line(monkeypatch, tmp_path):
    from gateway.cli import main

    monkeypatch.setenv("GATEWAY_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("GATEWAY_ENCRYPTION_KEYS", "A" * 43)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/12")
    monkeypatch.setenv("GATEWAY_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("GATEWAY_LOG_SIGNING_KEY", str(tmp_path / "missing.key"))
    result = CliRunner().invoke(main, ["audit", "verify"])
    assert result.exit_code == 2
    message = result.output.strip()
    assert "\n" not in message and "GATEWAY_LOG_SIGNING_KEY" in message
    assert "does not exist" in message and "Traceback" not in message
    assert not (tmp_path / "missing.key").exists()  # production never makes one silently

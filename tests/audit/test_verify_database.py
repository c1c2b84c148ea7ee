"""``gateway audit verify``: the same tampering issue #8 lists for exports, made directly in the
database past the append-only trigger, is caught against the latest signed checkpoint."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from gateway.audit.check import check_database
from gateway.audit.checkpoints import sign_now
from gateway.cli import main
from gateway.extensions import db
from gateway.models import LogCheckpoint
from gateway.transparency.checkpoint import Checkpoint, sign_checkpoint
from gateway.transparency.merkle import RootBuilder
from tests.audit.conftest import bypass_trigger, entries, make_entries, rewrite_from, truncate_to


def _signed_log(app, n=6):
    with app.app_context():
        make_entries(n)
        sign_now()
        db.session.commit()


def _verify(runner, *args):
    return runner.invoke(main, ["audit", "verify", *args])


def test_an_untouched_log_verifies_against_its_checkpoints(app, runner):
    _signed_log(app)
    with app.app_context():
        make_entries(2)  # written after the checkpoint: the log may grow past it
    result = _verify(runner)
    assert result.exit_code == 0, result.output
    assert "8 entries" in result.output and "latest covers 6 entries" in result.output


def _edit_one_byte():
    row = entries()[2]
    db.session.execute(
        text("UPDATE audit_entries SET leaf = :l WHERE seq = 2"),
        {"l": bytes(row.leaf).replace(b'"n":2', b'"n":3')},
    )


def _rewrite_and_rechain():
    rewrite_from(1, lambda obj: obj["payload"].update(n=99))


def _truncate_and_fix_the_head():
    truncate_to(4)


def _swap_two():
    # Two entries' leaves exchanged (with their hashes): seq, prev and the root all break.
    first, second = entries()[2], entries()[3]
    for row, other in ((first, second), (second, first)):
        db.session.execute(
            text("UPDATE audit_entries SET leaf = :l, entry_hash = :h WHERE seq = :s"),
            {"l": bytes(other.leaf), "h": "f" * 63 + str(row.seq), "s": row.seq},
        )


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (_edit_one_byte, "entry 2"),
        (_rewrite_and_rechain, "do not hash to the checkpoint's root"),
        (_truncate_and_fix_the_head, "the checkpoint covers 6: entries were removed"),
        (_swap_two, "entry 2"),
    ],
    ids=["edited", "rewritten-and-rechained", "truncated", "swapped"],
)
def test_tampering_in_the_database_is_caught(app, runner, tamper, expected):
    _signed_log(app)
    with app.app_context():
        bypass_trigger()
        tamper()
        db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert "does NOT verify" in result.output
    assert expected in result.output, result.output


def test_a_rewrite_that_passes_the_chain_check_is_caught_only_by_the_checkpoint(app):
    from gateway.audit import verify_chain

    _signed_log(app)
    with app.app_context():
        bypass_trigger()
        _rewrite_and_rechain()
        db.session.commit()
        assert verify_chain() is None  # the hash chain alone cannot tell
        result = check_database()
        assert not result.ok
        assert any("rewritten" in p for p in result.problems)


def _forge_checkpoint_row(app, size_change=0, root=None):
    """A checkpoint row signed with a key that is not the log's (the attacker's own)."""
    with app.app_context():
        leaves = [bytes(e.leaf) for e in entries()]
        builder = RootBuilder()
        for leaf in leaves:
            builder.append_leaf(leaf)
        cp = Checkpoint(app.config["LOG_ORIGIN"], len(leaves), root or builder.root())
        note = sign_checkpoint(cp, Ed25519PrivateKey.generate())
        db.session.add(
            LogCheckpoint(
                size=cp.size,
                root_hash=cp.root_hash.hex(),
                origin=cp.origin,
                note=note,
                frontier="[]",
                last_entry_hash="0" * 64,
            )
        )
        db.session.commit()


def test_a_checkpoint_forged_over_a_rewritten_history_is_refused(app, runner):
    _signed_log(app)
    with app.app_context():
        bypass_trigger()
        _rewrite_and_rechain()
        db.session.commit()
    # whoever rewrote the history signs a new checkpoint with their own key: without the
    # key file they cannot sign with the log's
    _forge_checkpoint_row(app)
    result = _verify(runner)
    assert result.exit_code == 1
    assert "not one this log's key signed" in result.output


def test_two_checkpoints_of_one_size_with_different_roots_are_a_fork(app, runner, monkeypatch):
    from gateway.audit import checkpoints

    _signed_log(app)
    # a second note of the same size with another root, signed with the log's own key (as a
    # compromised or confused signer would): the log cannot match both
    with app.app_context():
        key = checkpoints.signing_key()
        cp = Checkpoint(app.config["LOG_ORIGIN"], 6, b"\x07" * 32)
        db.session.add(
            LogCheckpoint(
                size=6,
                root_hash=cp.root_hash.hex(),
                origin=cp.origin,
                note=sign_checkpoint(cp, key),
                frontier="[]",
                last_entry_hash="0" * 64,
            )
        )
        db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert "a fork" in result.output


def test_a_rollback_of_log_and_checkpoints_is_caught_by_a_checkpoint_kept_elsewhere(
    app, runner, tmp_path
):
    _signed_log(app, 4)
    with app.app_context():
        kept = tmp_path / "kept-checkpoint"
        kept.write_bytes(bytes(db.session.get(LogCheckpoint, 1).note))
        make_entries(4)
        sign_now()
        db.session.commit()
        later = tmp_path / "later-checkpoint"
        later.write_bytes(bytes(db.session.get(LogCheckpoint, 2).note))
        # roll everything back to 4 entries: entries, head and the later checkpoint row
        bypass_trigger()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ALTER TABLE log_checkpoints DISABLE TRIGGER USER"))
        else:
            db.session.execute(text("DROP TRIGGER log_checkpoints_no_delete"))
        db.session.execute(text("DELETE FROM log_checkpoints WHERE id = 2"))
        truncate_to(4)
        db.session.commit()
    assert _verify(runner).exit_code == 0  # the database alone now looks consistent
    assert _verify(runner, "--previous", str(kept)).exit_code == 0
    result = _verify(runner, "--previous", str(later))
    assert result.exit_code == 1
    assert "covers 8: entries were removed" in result.output


def test_the_auditor_rules_run_on_the_database_too(app, runner):
    from gateway.audit import Actor, record

    with app.app_context():
        record(
            "post.created",
            actor=Actor.system(),
            obj=("post", 1),
            payload={"author_id": 5, "emergency_category": None},
        )
        record(
            "post.approved",
            actor=Actor.system(),
            obj=("post", 1),
            payload={"author_id": 5, "approver_id": 5, "fingerprint": "x"},
        )
        db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert "approved by its own author" in result.output

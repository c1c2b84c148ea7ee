"""``gateway audit verify``: the same tampering issue #8 lists for exports, made directly in the
database past the append-only trigger, is caught against the latest signed checkpoint."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from gateway.audit import Actor, record, verify_chain
from gateway.audit.checkpoints import iter_leaves, sign_now, signing_key
from gateway.cli import main
from gateway.extensions import db
from gateway.models import LogCheckpoint
from gateway.transparency.checkpoint import Checkpoint, sign_checkpoint
from gateway.transparency.merkle import RootBuilder
from tests.audit.conftest import (
    bypass_trigger,
    entries,
    make_entries,
    restore,
    rewrite_from,
    snapshot,
    truncate_to,
)


def _signed_log(app, n=6):
    with app.app_context():
        make_entries(n, outcome="failed")
        sign_now()
        db.session.commit()


def _verify(runner, *args):
    return runner.invoke(main, ["audit", "verify", *args])


def _edit_one_byte():
    row = entries()[2]
    db.session.execute(
        text("UPDATE audit_entries SET leaf = :l WHERE seq = 2"),
        {"l": bytes(row.leaf).replace(b'"n":2', b'"n":3')},
    )


def _rewrite_and_rechain():
    rewrite_from(1, lambda obj: obj["payload"].update(n=99))
    db.session.flush()
    assert verify_chain() is None  # the hash chain alone can no longer tell


def _truncate_and_fix_the_head():
    truncate_to(4)


def _swap_two():
    # Two entries' leaves exchanged: their seq, prev and the root all break.
    first, second = entries()[2], entries()[3]
    for row, other in ((first, second), (second, first)):
        db.session.execute(
            text("UPDATE audit_entries SET leaf = :l, entry_hash = :h WHERE seq = :s"),
            {"l": bytes(other.leaf), "h": "f" * 63 + str(row.seq), "s": row.seq},
        )


def _add_checkpoint(key, root=None):
    builder = RootBuilder()
    for leaf in iter_leaves():
        builder.append_leaf(leaf)
    cp = Checkpoint(_origin(), builder.size, root or builder.root())
    db.session.add(
        LogCheckpoint(
            size=cp.size,
            root_hash=cp.root_hash.hex(),
            origin=cp.origin,
            note=sign_checkpoint(cp, key),
            frontier="[]",
            last_entry_hash="0" * 64,
        )
    )


def _origin():
    from flask import current_app

    return current_app.config["LOG_ORIGIN"]


def _rewrite_and_forge_a_checkpoint():
    # whoever rewrote the history signs a new checkpoint over it with their own key: without
    # the key file they cannot sign with the log's
    _rewrite_and_rechain()
    _add_checkpoint(Ed25519PrivateKey.generate())


def _fork():
    # a second note of the same size with another root, signed with the log's own key (a
    # compromised or confused signer): the log cannot match both
    _add_checkpoint(signing_key(), root=b"\x07" * 32)


def _hide_an_entry_from_filters():
    # an outcome's facet row removed: the entry would vanish from "outcome = failed" views
    db.session.execute(text("DELETE FROM audit_facets WHERE name = 'outcome'"))


TAMPERING = [
    (_edit_one_byte, "entry 2"),
    (_rewrite_and_rechain, "do not hash to the checkpoint's root"),
    (_truncate_and_fix_the_head, "the checkpoint covers 6: entries were removed"),
    (_swap_two, "entry 2"),
    (_rewrite_and_forge_a_checkpoint, "not one this log's key signed"),
    (_fork, "a fork"),
    (
        _hide_an_entry_from_filters,
        "entry 0: its filter index (audit_facets) lacks outcome 'failed', which its hashed leaf",
    ),
]


def test_tampering_in_the_database_is_caught_against_the_checkpoint(app, runner):
    _signed_log(app)
    with app.app_context():
        make_entries(2)  # written after the checkpoint: the log may grow past it
    ok = _verify(runner)
    assert ok.exit_code == 0, ok.output
    assert "8 entries" in ok.output and "latest covers 6 entries" in ok.output
    with app.app_context():
        bypass_trigger()
        saved = snapshot()
        db.session.commit()
    for tamper, expected in TAMPERING:
        with app.app_context():
            tamper()
            db.session.commit()
        result = _verify(runner)
        assert result.exit_code == 1, tamper.__name__
        assert "does NOT verify" in result.output
        assert expected in result.output, (tamper.__name__, result.output)
        with app.app_context():
            restore(saved)
            db.session.commit()
        # put back, it verifies again: each case trips the check on its own
        assert _verify(runner).exit_code == 0, tamper.__name__

    # the auditor rules run on the database too
    with app.app_context():
        for action, payload in (
            ("post.created", {"author_id": 5, "emergency_category": None}),
            ("post.approved", {"author_id": 5, "approver_id": 5, "fingerprint": "x"}),
        ):
            record(action, actor=Actor.system(), obj=("post", 1), payload=payload)
        db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert "approved by its own author" in result.output


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
        db.session.execute(text("DELETE FROM log_checkpoints WHERE id = 2"))
        truncate_to(4)
        db.session.commit()
    assert _verify(runner).exit_code == 0  # the database alone now looks consistent
    assert _verify(runner, "--previous", str(kept)).exit_code == 0
    result = _verify(runner, "--previous", str(later))
    assert result.exit_code == 1
    assert "covers 8: entries were removed" in result.output


def _officer(user_id):
    return Actor(id=user_id, email=f"officer{user_id}@council.example", kind="user")


def test_the_in_app_check_fails_an_approval_by_an_editor_and_lists_a_managed_account(app, runner):
    # Issue 20: the same rules as gateway-verify, on the database's own log.
    with app.app_context():
        record("user.created", actor=_officer(9), obj=("user", 5), payload={"roles": ["officer"]})
        record(
            "post.created",
            actor=_officer(5),
            obj=("post", 1),
            payload={"author_id": 5, "emergency_category": None},
        )
        record(
            "post.approved",
            actor=_officer(9),
            obj=("post", 1),
            payload={"author_id": 5, "approver_id": 9, "fingerprint": "x"},
        )
        db.session.commit()
    flagged = _verify(runner)
    assert flagged.exit_code == 0, flagged.output
    assert (
        "For review: entry 2: post 1 was approved by user 9, who created or changed the "
        "account of its writer, user 5" in flagged.output
    )
    with app.app_context():
        record("post.edited", actor=_officer(7), obj=("post", 1), payload={"author_id": 5})
        record(
            "post.approved",
            actor=_officer(7),
            obj=("post", 1),
            payload={"author_id": 5, "approver_id": 7, "fingerprint": "y"},
        )
        db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert "approved by user 7, who edited it since its last approval" in result.output

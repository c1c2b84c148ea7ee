"""``gateway audit verify`` reads the log a batch at a time: problems in any batch, and at the
edges between batches, are named as the single-batch check names them."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gateway.audit import check, verify_chain
from gateway.audit.check import check_database
from gateway.audit.checkpoints import sign_now
from gateway.extensions import db
from tests.audit.conftest import bypass_trigger, entries, make_entries, rewrite_from


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(check, "SCAN_BATCH", 3)


def _log(app, n=11):
    with app.app_context():
        make_entries(n, outcome="failed")
        sign_now()
        db.session.commit()


def _problems(app):
    """The in-app check's problems; its first names what verify_chain (the audit module's own
    walk, row by row) names, whenever that finds something."""
    with app.app_context():
        problems = check_database().problems
        chain = verify_chain()
    if chain is not None:
        assert problems[0] == str(chain)
    return problems


def test_a_log_of_many_batches_verifies(app, small_batches):
    _log(app)
    assert _problems(app) == []


@pytest.mark.parametrize("seq", [0, 2, 3, 7, 10])
def test_a_column_edited_in_any_batch_is_named(app, small_batches, seq):
    _log(app)
    with app.app_context():
        bypass_trigger()
        db.session.execute(
            text("UPDATE audit_entries SET action = 'test.other' WHERE seq = :s"), {"s": seq}
        )
        db.session.commit()
    assert _problems(app)[0] == f"entry {seq}: its action column differs from its hashed leaf"


@pytest.mark.parametrize("seq", [2, 3, 8])
def test_a_leaf_edited_in_any_batch_is_named_by_both_checks(app, small_batches, seq):
    _log(app)
    with app.app_context():
        bypass_trigger()
        row = entries()[seq]
        db.session.execute(
            text("UPDATE audit_entries SET leaf = :l WHERE seq = :s"),
            {"l": bytes(row.leaf).replace(b'"n":', b'"n":1'), "s": seq},
        )
        db.session.commit()
    problems = _problems(app)
    assert problems[0] == f"entry {seq}: its hash does not match its content (edited)"
    assert any(p.startswith(f"entry {seq + 1}: hash chain broken") for p in problems)


def test_a_gap_and_a_rewrite_across_batches(app, small_batches):
    _log(app)
    with app.app_context():
        bypass_trigger()
        rewrite_from(4, lambda obj: obj["payload"].update(n=99))
        db.session.commit()
    problems = _problems(app)
    assert problems == [
        "the first 11 entries do not hash to the checkpoint's root: the history it covers "
        "was rewritten (or the checkpoint is a fork)"
    ]
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_entries WHERE seq = 5"))
        db.session.commit()
    assert _problems(app)[0] == "entry 5: missing: the next entry is numbered 6"


def test_a_leaf_with_a_float_is_not_canonical_to_both_checks(app, small_batches):
    """A float parses as JSON but has no canonical form in the log: both checks name it, and
    neither stops on the error canonical_json raises for it."""
    _log(app)
    with app.app_context():
        bypass_trigger()
        leaf = bytes(entries()[4].leaf).replace(b'"n":4', b'"n":4.5')
        db.session.execute(text("UPDATE audit_entries SET leaf = :l WHERE seq = 4"), {"l": leaf})
        db.session.commit()
    assert _problems(app)[0] == "entry 4: the stored leaf is not canonical JSON"

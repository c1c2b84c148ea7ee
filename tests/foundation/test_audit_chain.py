"""The hash chain: written with its change, gone with a rollback, and tampering is detected."""

import hashlib
import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from gateway import users
from gateway.audit import Actor, record, verify_chain
from gateway.extensions import db
from gateway.models import AuditEntry, User
from gateway.transparency.canonical import canonical_json
from tests.conftest import TEST_PASSWORD


def _make_users(n):
    for i in range(n):
        users.create_user(
            f"person{i}@council.example", ["officer"], TEST_PASSWORD, actor=Actor.system()
        )
        db.session.commit()


def _entries():
    return db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()


def test_entries_are_written_with_their_change_and_chain_together(app):
    with app.app_context():
        _make_users(3)
        entries = _entries()
        assert [e.seq for e in entries] == [0, 1, 2]
        assert entries[0].prev_hash == "0" * 64
        for before, after in zip(entries, entries[1:], strict=False):
            assert after.prev_hash == before.entry_hash
        for entry in entries:
            leaf = bytes(entry.leaf)
            assert hashlib.sha256(leaf).hexdigest() == entry.entry_hash
            obj = json.loads(leaf)
            assert canonical_json(obj) == leaf  # exactly the canonical bytes
            assert obj["action"] == "user.created" and obj["object"]["type"] == "user"
            assert "password" not in leaf.decode()
        times = [e.time for e in entries]
        assert times == sorted(times)
        assert verify_chain() is None


def test_a_rolled_back_change_leaves_no_entry(app):
    with app.app_context():
        _make_users(1)
        users.create_user(
            "rolled@council.example", ["officer"], TEST_PASSWORD, actor=Actor.system()
        )
        db.session.flush()
        # The entry waits in the transaction; it is chained and written at its commit.
        assert [e.action for e in db.session.info["audit_pending"]] == ["user.created"]
        db.session.rollback()
        assert "audit_pending" not in db.session.info
        assert len(_entries()) == 1
        assert db.session.scalar(select(User).where(User.email == "rolled@council.example")) is None
        # the next entry takes the next number: no gap, the chain still holds
        _make_users_with_prefix("after")
        assert [e.seq for e in _entries()] == [0, 1]
        assert verify_chain() is None


def test_a_rolled_back_savepoint_drops_only_its_own_entries(app):
    """Entries recorded inside a savepoint go with it when it rolls back; those recorded
    before it, still waiting for the commit, and those of a released savepoint stay."""
    with app.app_context():

        def create(email):
            users.create_user(email, ["officer"], TEST_PASSWORD, actor=Actor.system())

        create("before@council.example")
        savepoint = db.session.begin_nested()
        create("inner@council.example")
        with db.session.begin_nested():
            record("user.updated", actor=Actor.system(), obj=("user", 0))
        savepoint.rollback()
        with db.session.begin_nested():
            create("kept@council.example")
        create("after@council.example")
        db.session.commit()
        emails = [json.loads(bytes(e.leaf))["payload"].get("email") for e in _entries()]
        assert emails == ["before@council.example", "kept@council.example", "after@council.example"]
        assert db.session.scalar(select(User).where(User.email == "inner@council.example")) is None
        assert verify_chain() is None


def _make_users_with_prefix(prefix):
    users.create_user(f"{prefix}@council.example", ["officer"], TEST_PASSWORD, actor=Actor.system())
    db.session.commit()


def test_the_database_refuses_to_change_or_delete_an_entry(app):
    with app.app_context():
        _make_users(1)
        for statement in (
            "UPDATE audit_entries SET action = 'x'",
            "DELETE FROM audit_entries",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
        assert len(_entries()) == 1


def _bypass_trigger():
    """Tamper as someone with full control of the database would (past the trigger)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
    else:
        db.session.execute(text("DROP TRIGGER audit_entries_no_update"))
        db.session.execute(text("DROP TRIGGER audit_entries_no_delete"))


def _tamper_edit(entry):
    obj = json.loads(bytes(entry.leaf))
    obj["payload"]["email"] = "someone-else@council.example"
    db.session.execute(
        text("UPDATE audit_entries SET leaf = :leaf WHERE seq = :seq"),
        {"leaf": canonical_json(obj), "seq": entry.seq},
    )


def _tamper_edit_and_rehash(entry):
    obj = json.loads(bytes(entry.leaf))
    obj["payload"]["email"] = "someone-else@council.example"
    leaf = canonical_json(obj)
    db.session.execute(
        text("UPDATE audit_entries SET leaf = :leaf, entry_hash = :h WHERE seq = :seq"),
        {"leaf": leaf, "h": hashlib.sha256(leaf).hexdigest(), "seq": entry.seq},
    )


def _tamper_delete(entry):
    db.session.execute(text("DELETE FROM audit_entries WHERE seq = :seq"), {"seq": entry.seq})


def _tamper_edit_column(entry):
    db.session.execute(
        text("UPDATE audit_entries SET action = 'post.approved' WHERE seq = :seq"),
        {"seq": entry.seq},
    )


@pytest.mark.parametrize(
    ("tamper", "expected", "first_bad"),
    [
        (_tamper_edit, "edited", 1),
        # re-hashed to hide the edit: the next entry no longer links to it
        (_tamper_edit_and_rehash, "does not link", 2),
        (_tamper_delete, "missing", 1),
        (_tamper_edit_column, "action column", 1),
    ],
)
def test_verify_detects_tampering(app, tamper, expected, first_bad):
    with app.app_context():
        _make_users(3)
        assert verify_chain() is None
        _bypass_trigger()
        tamper(_entries()[1])
        db.session.commit()
        problem = verify_chain()
        assert problem is not None
        assert problem.seq == first_bad
        assert expected in problem.reason


def test_removing_the_last_entries_is_detected(app):
    with app.app_context():
        _make_users(3)
        _bypass_trigger()
        _tamper_delete(_entries()[-1])
        db.session.commit()
        problem = verify_chain()
        assert problem is not None and "truncated" in problem.reason


def test_the_cli_reports_the_first_bad_entry(app, runner):
    from gateway.cli import main

    with app.app_context():
        _make_users(2)
    ok = runner.invoke(main, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "2 entries" in ok.output
    with app.app_context():
        _bypass_trigger()
        _tamper_edit(_entries()[0])
        db.session.commit()
    bad = runner.invoke(main, ["audit", "verify"])
    assert bad.exit_code == 1
    assert "entry 0" in bad.output


def test_actions_of_other_kinds_carry_actor_object_and_content(app):
    with app.app_context():
        user = User(email="x@council.example", password_hash="x")
        db.session.add(user)
        db.session.flush()
        record(
            "post.created",
            actor=Actor.of(user),
            obj=("post", 7),
            payload={"author_id": user.id},
            content={"text": "Bins go out on Monday", "images": []},
        )
        db.session.commit()
        obj = json.loads(bytes(_entries()[-1].leaf))
        assert obj["actor"] == {"id": user.id, "email": "x@council.example", "kind": "user"}
        assert obj["object"] == {"type": "post", "id": "7"}
        assert (
            obj["content_sha256"]
            == hashlib.sha256(
                canonical_json({"text": "Bins go out on Monday", "images": []})
            ).hexdigest()
        )


def test_leaves_are_canonical_whatever_their_payload_and_content(app):
    """Leaves are assembled from a part prepared before the head is locked and the head's
    fields: the bytes must still be exactly the canonical JSON of the whole leaf."""
    payloads = [
        {"note": 'quote " backslash \\ tab \t', "n": -5, "emoji": "\U0001f30a", "deep": [[{}]]},
        {},
        {"z": None, "a": True, "\u00e9": "e acute", "prev": "not the chain's"},
    ]
    with app.app_context():
        for i, payload in enumerate(payloads):
            record(
                "test.entry",
                actor=Actor.system(),
                obj=None if i == 1 else ("post", i),
                payload=payload,
                content={"text": f"Flood warning {i} \u2013 River Medway", "channels": [i]}
                if i != 2
                else None,
            )
        db.session.commit()
        for entry in _entries():
            leaf = bytes(entry.leaf)
            assert canonical_json(json.loads(leaf)) == leaf
            assert hashlib.sha256(leaf).hexdigest() == entry.entry_hash
        assert [json.loads(bytes(e.leaf))["payload"] for e in _entries()] == payloads
        assert verify_chain() is None


def _record_many(n, action="test.many"):
    for i in range(n):
        record(action, actor=Actor.system(), obj=("post", i), payload={"i": i})


def test_small_and_large_transactions_chain_into_one_log(app):
    """On PostgreSQL a small transaction's entries are chained by the commit-time trigger and
    a large one's by the Python writer; on SQLite both by Python. Interleaved, they must make
    one contiguous chain with the same leaf format."""
    from gateway.audit.log import STAGE_MAX_ENTRIES

    with app.app_context():
        sizes = [1, STAGE_MAX_ENTRIES + 7, 3, STAGE_MAX_ENTRIES, 2]
        for size in sizes:
            _record_many(size)
            db.session.commit()
        entries = _entries()
        assert [e.seq for e in entries] == list(range(sum(sizes)))
        assert [json.loads(bytes(e.leaf))["payload"]["i"] for e in entries] == [
            i for size in sizes for i in range(size)
        ]
        assert verify_chain() is None
        assert db.session.scalar(text("SELECT count(*) FROM audit_staged")) == 0


def test_on_postgresql_entries_wait_staged_until_the_commit_chains_them(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the commit-time trigger is PostgreSQL's")
        _record_many(2)
        db.session.flush()
        from gateway.audit.log import _write_pending

        _write_pending(db.session())  # what the commit does first: stage them
        assert db.session.scalar(text("SELECT count(*) FROM audit_staged")) == 2
        assert db.session.scalar(text("SELECT count(*) FROM audit_entries")) == 0
        db.session.commit()
        assert db.session.scalar(text("SELECT count(*) FROM audit_staged")) == 0
        assert [e.seq for e in _entries()] == [0, 1]
        assert verify_chain() is None
        # A rollback after staging drops them with the transaction.
        _record_many(1)
        _write_pending(db.session())
        db.session.rollback()
        assert len(_entries()) == 2
        assert db.session.scalar(text("SELECT count(*) FROM audit_staged")) == 0
        assert verify_chain() is None


def test_writers_in_many_threads_make_one_contiguous_chain(app):
    """Concurrent transactions (the publishing workers) each append; none is lost or doubled,
    and times never go backwards (verify_chain checks both)."""
    import threading

    if "sqlite" in str(app.config["SQLALCHEMY_DATABASE_URI"]):
        threads, per_thread = 2, 5  # one writer at a time there; a light check
    else:
        threads, per_thread = 6, 15
    errors = []

    def writer(k):
        try:
            with app.app_context():
                for i in range(per_thread):
                    record("test.thread", actor=Actor.system(), payload={"k": k, "i": i})
                    if i % 3 == 0:  # some transactions hold two entries
                        record(
                            "test.thread", actor=Actor.system(), payload={"k": k, "i": i, "two": 1}
                        )
                    db.session.commit()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    with app.app_context():
        entries = _entries()
        per_writer = per_thread + len(range(0, per_thread, 3))
        assert [e.seq for e in entries] == list(range(threads * per_writer))
        keys = [
            (p["k"], p["i"], p.get("two", 0))
            for p in (json.loads(bytes(e.leaf))["payload"] for e in entries)
        ]
        assert len(set(keys)) == len(keys)
        # Each transaction's two entries are adjacent and in the order recorded.
        for a, b in zip(keys, keys[1:], strict=False):
            if b[2]:
                assert a == (b[0], b[1], 0)
        assert verify_chain() is None

"""On PostgreSQL the application's role, with the grants the README gives it, can read the log
and append to it only through the log's own functions (issues #8 and #20): it cannot change or
delete an entry even with the append-only trigger dropped, nor insert a correctly chained false
entry, move the head, store a checkpoint or edit a post content; and the gateway's normal
writing (a post created and approved, a large transaction, a checkpoint signed) still works
connected as that role."""

from __future__ import annotations

import hashlib
import json
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, make_url, select

from gateway.audit import verify_chain
from gateway.audit.check import check_database
from gateway.audit.checkpoints import sign_now
from gateway.extensions import db
from gateway.models import AuditEntry, LogCheckpoint, Post
from gateway.transparency.canonical import canonical_json
from tests.audit.conftest import make_entries
from tests.conftest import _config
from tests.publishing.conftest import Officers, approved_post

ROOT = Path(__file__).resolve().parents[2]
README_INTRO = "For the publish log, give the application a database role"


def _sql_block(text: str, after: str) -> str:
    start = text.index("```sql", text.index(after)) + len("```sql")
    return text[start : text.index("```", start)]


def readme_grants(role: str) -> list[str]:
    """The statements of the README's grants paragraph, for ``role`` instead of gateway_app."""
    block = _sql_block((ROOT / "README.md").read_text(), README_INTRO)
    statements = []
    for statement in block.replace("gateway_app", role).split(";"):
        lines = [line for line in statement.splitlines() if not line.strip().startswith("--")]
        if "".join(lines).strip():
            statements.append("\n".join(lines))
    return statements


def test_the_readme_and_docs_give_the_same_grants():
    readme = _sql_block((ROOT / "README.md").read_text(), README_INTRO)
    docs = _sql_block((ROOT / "docs/audit.md").read_text(), "Running on PostgreSQL: grants")
    assert readme == docs


@pytest.fixture
def pg_app(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("roles and grants are PostgreSQL's")
    return app


def _url(app):
    return make_url(app.config["SQLALCHEMY_DATABASE_URI"])


@contextmanager
def app_role(app, *, login: bool = False):
    """A new role with the README's grants, dropped afterwards; yields (superuser connection,
    role name)."""
    url = _url(app).set(drivername="postgresql")
    role = f"gw_app_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} {'LOGIN' if login else 'NOLOGIN'}")
        try:
            for statement in readme_grants(role):
                conn.execute(statement)
            yield conn, role
        finally:
            conn.execute("RESET ROLE")
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def _refused(conn, statement, params=None, error=psycopg.errors.InsufficientPrivilege):
    with pytest.raises(error):
        conn.execute(statement, params)


def test_the_application_role_cannot_update_or_delete_entries(pg_app):
    with pg_app.app_context():
        make_entries(2)
    with app_role(pg_app) as (conn, role):
        # past the trigger, as a superuser could: only the missing grant stops the role
        conn.execute("ALTER TABLE audit_entries DISABLE TRIGGER USER")
        try:
            conn.execute(f"SET ROLE {role}")
            assert conn.execute("SELECT count(*) FROM audit_entries").fetchone()[0] == 2
            for statement in (
                "UPDATE audit_entries SET action = 'post.approved' WHERE seq = 0",
                "DELETE FROM audit_entries WHERE seq = 1",
                "TRUNCATE audit_entries",
                "DELETE FROM log_checkpoints",
            ):
                _refused(conn, statement)
            # and it can still do its job: append through the commit-time trigger that chains
            # staged entries (migrations 0008 and 0011)
            leaf_head = (
                canonical_json(
                    {
                        "action": "test.by_app_role",
                        "actor": {"email": None, "id": None, "kind": "system"},
                        "content_sha256": None,
                        "object": None,
                        "payload": {},
                    }
                )[:-1]
                + b',"prev":'
            )
            with conn.transaction():
                conn.execute(
                    "INSERT INTO audit_staged (action, leaf_head, facets, at) "
                    "VALUES ('test.by_app_role', %s, '[]', now())",
                    [leaf_head],
                )
            conn.execute("RESET ROLE")
            assert conn.execute("SELECT count(*) FROM audit_entries").fetchone()[0] == 3
            assert conn.execute("SELECT count(*) FROM audit_staged").fetchone()[0] == 0
        finally:
            conn.execute("RESET ROLE")
            conn.execute("ALTER TABLE audit_entries ENABLE TRIGGER USER")
    with pg_app.app_context():
        assert verify_chain() is None
        assert json.loads(bytes(db.session.get(AuditEntry, 2).leaf))["action"] == (
            "test.by_app_role"
        )


def _forged_entry(conn) -> dict:
    """The next entry of the log, correctly chained onto the head: what a forger would add."""
    last_seq, last_hash = conn.execute(
        "SELECT last_seq, last_hash FROM audit_head WHERE id = 1"
    ).fetchone()
    seq = last_seq + 1
    leaf = canonical_json(
        {
            "action": "post.approved",
            "actor": {"email": "eve@council.example", "id": 7, "kind": "user"},
            "content_sha256": None,
            "object": {"id": "1", "type": "post"},
            "payload": {"approver_id": 7, "author_id": 5, "fingerprint": "x"},
            "prev": last_hash,
            "seq": seq,
            "time": "2030-01-01T00:00:00.000000Z",
        }
    )
    return {"seq": seq, "prev": last_hash, "hash": hashlib.sha256(leaf).hexdigest(), "leaf": leaf}


def test_the_application_role_cannot_forge_entries_the_head_checkpoints_or_contents(pg_app):
    with pg_app.app_context():
        make_entries(3, outcome="failed")
        signed = sign_now()
        db.session.commit()
        checkpoint = {
            column: getattr(signed.row, column)
            for column in (
                "size",
                "root_hash",
                "origin",
                "note",
                "signed_at",
                "frontier",
                "last_entry_hash",
            )
        }
        content = canonical_json({"text": "Bins on Saturday"})
    with app_role(pg_app) as (conn, role):
        conn.execute(
            "INSERT INTO post_contents (sha256, content) VALUES (%s, %s)",
            [hashlib.sha256(content).hexdigest(), content],
        )
        conn.execute(f"SET ROLE {role}")
        forged = _forged_entry(conn)
        _refused(
            conn,
            "INSERT INTO audit_entries (seq, time, actor_id, action, object_type, object_id, "
            "content_sha256, prev_hash, entry_hash, leaf) VALUES (%(seq)s, now(), 7, "
            "'post.approved', 'post', '1', NULL, %(prev)s, %(hash)s, %(leaf)s)",
            forged,
        )
        _refused(conn, "INSERT INTO audit_facets (name, value, seq) VALUES ('post', '1', 3)")
        _refused(
            conn,
            "UPDATE audit_head SET last_seq = %(seq)s, last_hash = %(hash)s WHERE id = 1",
            forged,
        )
        _refused(conn, "SELECT last_seq FROM audit_head WHERE id = 1 FOR UPDATE")
        _refused(
            conn,
            "INSERT INTO log_checkpoints (size, root_hash, origin, note, signed_at, frontier, "
            "last_entry_hash) VALUES (%(size)s, %(root_hash)s, %(origin)s, %(note)s, "
            "%(signed_at)s, %(frontier)s, %(last_entry_hash)s)",
            checkpoint,
        )
        _refused(conn, "UPDATE post_contents SET content = 'x'")
        _refused(conn, "DELETE FROM post_contents")
        _refused(conn, "TRUNCATE post_contents")
        # What it may do is checked by the functions, which run as the log's owner: a
        # content only under its own hash, a checkpoint only of the log as it is.
        _refused(
            conn,
            "INSERT INTO post_contents (sha256, content) VALUES (%s, 'a false content')",
            [hashlib.sha256(b"another content").hexdigest()],
            error=psycopg.errors.RaiseException,
        )
        add = (
            "SELECT audit_add_checkpoint(%(size)s, %(root_hash)s, %(origin)s, %(note)s, "
            "%(signed_at)s, %(frontier)s, %(last_entry_hash)s)"
        )
        for change, why in (
            ({"root_hash": "07" * 32}, "its root is not the root"),
            ({"size": 2}, "smaller than the stored"),
            ({"size": 9}, "the log has 3 entries"),
            ({"frontier": json.dumps(["07" * 32])}, "compact range"),
            ({"last_entry_hash": "0" * 64}, "last entry hash"),
        ):
            with pytest.raises(psycopg.errors.RaiseException, match=why):
                conn.execute(add, {**checkpoint, **change})
        conn.execute("RESET ROLE")
        assert conn.execute("SELECT count(*) FROM audit_entries").fetchone()[0] == 3
        assert conn.execute("SELECT count(*) FROM log_checkpoints").fetchone()[0] == 1
    with pg_app.app_context():
        assert check_database().ok


def test_the_gateway_writes_its_log_connected_as_the_application_role(
    pg_app, channels, clock, tmp_path
):
    with app_role(pg_app, login=True) as (_, role):
        config = _config(
            _url(pg_app).set(username=role).render_as_string(hide_password=False),
            Path(pg_app.config["INSTANCE_PATH"]),
        )
        config["LOG_SIGNING_KEY_PATH"] = pg_app.config["LOG_SIGNING_KEY_PATH"]
        config["PLATFORM_ALLOWED_HOSTS"] = pg_app.config.get("PLATFORM_ALLOWED_HOSTS", ())
        from gateway.app import create_app

        as_app = create_app(config)
        try:
            with as_app.app_context():
                assert db.session.scalar(select(func.current_user())) == role
            officers = Officers(as_app)  # users created: entries staged and chained at commit
            post_id = approved_post(as_app, officers, [channels["x"]])
            with as_app.app_context():
                make_entries(60)  # a large transaction: chained by one call of audit_append
                signed = sign_now()
                db.session.commit()
                assert signed.new and signed.row.id is not None
                size = signed.checkpoint.size
        finally:
            with as_app.app_context():
                db.session.remove()
                db.engine.dispose()
    with pg_app.app_context():
        assert db.session.get(Post, post_id).status == "approved"
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == size
        assert db.session.scalar(select(func.count()).select_from(LogCheckpoint)) == 1
        result = check_database()
        assert result.ok, result.problems
        assert result.checkpoint.size == size

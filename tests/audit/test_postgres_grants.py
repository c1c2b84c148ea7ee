"""On PostgreSQL the application's role has no UPDATE or DELETE grant on the log (issue #8),
so even with the append-only trigger dropped the application cannot change an entry."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from sqlalchemy import make_url

from gateway.audit import verify_chain
from gateway.extensions import db
from gateway.models import AuditEntry
from gateway.transparency.canonical import canonical_json
from tests.audit.conftest import make_entries

#: The grants docs/audit.md tells an operator to give the application's role ("Running on
#: PostgreSQL"): read and append the log, update only the head row writers lock.
APP_ROLE_GRANTS = """
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};
REVOKE UPDATE, DELETE, TRUNCATE ON audit_entries, audit_facets, log_checkpoints, post_contents
    FROM {role};
"""


@pytest.fixture
def pg_app(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("roles and grants are PostgreSQL's")
    return app


def test_the_application_role_cannot_update_or_delete_entries(pg_app):
    with pg_app.app_context():
        make_entries(2)
        url = make_url(pg_app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    role = f"gw_app_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} NOLOGIN")
        try:
            for statement in APP_ROLE_GRANTS.format(role=role).split(";"):
                if statement.strip():
                    conn.execute(statement)
            # past the trigger, as a superuser could: only the missing grant stops the role
            conn.execute("ALTER TABLE audit_entries DISABLE TRIGGER USER")
            conn.execute(f"SET ROLE {role}")
            assert conn.execute("SELECT count(*) FROM audit_entries").fetchone()[0] == 2
            for statement in (
                "UPDATE audit_entries SET action = 'post.approved' WHERE seq = 0",
                "DELETE FROM audit_entries WHERE seq = 1",
                "TRUNCATE audit_entries",
                "DELETE FROM log_checkpoints",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission"):
                    conn.execute(statement)
            # and it can still do its job: lock and move the head row, and append through the
            # commit-time trigger that chains staged entries (migration 0008)
            conn.execute("UPDATE audit_head SET last_seq = last_seq WHERE id = 1")
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
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")
    with pg_app.app_context():
        assert verify_chain() is None
        assert json.loads(bytes(db.session.get(AuditEntry, 2).leaf))["action"] == (
            "test.by_app_role"
        )

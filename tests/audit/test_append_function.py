"""On PostgreSQL entries are chained by ``audit_append`` (migration 0011), run as the log's owner:
it reads the indexed columns from the leaf, never from the caller, and refuses what is not a
leaf's head."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from gateway.audit import Actor, record, verify_chain
from gateway.audit.check import check_database
from gateway.audit.checkpoints import sign_now
from gateway.audit.log import STAGE_MAX_ENTRIES
from gateway.extensions import db
from gateway.models import AuditEntry
from gateway.transparency.canonical import canonical_json


@pytest.fixture
def pg_app(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("audit_append is PostgreSQL's")
    return app


def _leaf_head(action="test.staged", actor_id=None, obj=None, payload=None) -> bytes:
    return (
        canonical_json(
            {
                "action": action,
                "actor": {"email": None, "id": actor_id, "kind": "system"},
                "content_sha256": None,
                "object": obj,
                "payload": payload or {},
            }
        )[:-1]
        + b',"prev":'
    )


def test_the_columns_come_from_the_leaf_not_from_the_staged_row(pg_app):
    with pg_app.app_context():
        db.session.execute(
            text(
                "INSERT INTO audit_staged (actor_id, action, object_type, object_id, leaf_head, "
                "facets, at) VALUES (99, 'post.approved', 'user', '5', :head, '[]', now())"
            ),
            {"head": _leaf_head(actor_id=3, obj={"id": "12", "type": "post"})},
        )
        db.session.commit()
        entry = db.session.scalars(select(AuditEntry)).one()
        assert (entry.actor_id, entry.action, entry.object_type, entry.object_id) == (
            3,
            "test.staged",
            "post",
            "12",
        )
        assert verify_chain() is None


@pytest.mark.parametrize("n", [1, STAGE_MAX_ENTRIES + 1])
def test_free_text_the_database_cannot_parse_is_still_logged(pg_app, n):
    """PostgreSQL's JSON cannot read the escape of a NUL character; a payload may hold one (a
    name typed into a form), and it is never parsed there."""
    with pg_app.app_context():
        for _ in range(n):
            record("test.entry", actor=Actor.system(), payload={"typed": "a\x00b"})
        db.session.commit()
        sign_now()
        db.session.commit()
        assert check_database().ok
        assert b"a\\u0000b" in bytes(db.session.get(AuditEntry, 0).leaf)


@pytest.mark.parametrize(
    "head",
    [
        b'{"action":"test.x"}',  # not up to "prev"
        # no "payload"
        b'{"action":"test.x","actor":null,"content_sha256":null,"object":null,"prev":',
        _leaf_head().replace(b'"object":null', b'"object":null,"seq":4'),  # another field
    ],
)
def test_what_is_not_a_leaf_head_is_refused(pg_app, head):
    with pg_app.app_context():
        with pytest.raises(DBAPIError, match="audit_append"):
            db.session.execute(
                text("SELECT audit_append(ARRAY[CAST(:head AS bytea)], ARRAY['[]'], now())"),
                {"head": head},
            )
        db.session.rollback()
        assert db.session.scalars(select(AuditEntry)).first() is None

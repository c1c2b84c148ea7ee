"""Fixtures for the publish log's database side: entries made through ``record`` (fast), or
posts approved and published through the real service and worker (tests.publishing)."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select, text

from gateway.audit import Actor, record
from gateway.extensions import db
from gateway.models import AuditEntry, AuditFacet, AuditHead, LogCheckpoint, User
from gateway.transparency.canonical import canonical_json
from tests.publishing.conftest import (  # noqa: F401 - fixtures used by this folder's tests
    channels,
    clock,
    fake,
    fake_server,
    officers,
)


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch):
    """Argon2id at its cheapest: these tests are about the log, not the password hashing."""
    from argon2 import PasswordHasher

    from gateway.auth import passwords

    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def make_entries(n: int, *, action: str = "test.entry", **payload) -> None:
    """``n`` entries by a system actor, each naming its number in the payload, committed."""
    for i in range(n):
        record(action, actor=Actor.system(), payload={"n": i, **payload})
    db.session.commit()


def entries() -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def bypass_trigger() -> None:
    """Tamper as someone with full control of the database would (past the append-only
    triggers of the log and its checkpoints, and the one that keeps a post content under its
    own hash), as tests/foundation/test_audit_chain.py does."""
    if db.engine.dialect.name == "postgresql":
        for table in ("audit_entries", "log_checkpoints", "audit_facets", "post_contents"):
            db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    else:
        for table in ("audit_entries", "log_checkpoints", "audit_facets"):
            for verb in ("update", "delete"):
                db.session.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{verb}"))


def snapshot() -> dict:
    """Every row of the log, its head and its checkpoints, to put back with :func:`restore`."""
    return {
        table: [dict(r._mapping) for r in db.session.execute(select(table))]
        for table in (
            AuditEntry.__table__,
            AuditHead.__table__,
            LogCheckpoint.__table__,
            AuditFacet.__table__,
        )
    }


def restore(saved: dict) -> None:
    """Put the log back exactly as :func:`snapshot` saw it (triggers already bypassed)."""
    for table, rows in saved.items():
        db.session.execute(table.delete())
        if rows:
            db.session.execute(table.insert(), rows)


def rewrite_from(seq: int, change) -> None:
    """Change entry ``seq``'s leaf with ``change(obj)`` and re-chain every later entry and the
    head row, so the hash chain holds again: only a signed checkpoint can tell."""
    prev = None
    for row in entries():
        if row.seq < seq:
            continue
        obj = json.loads(bytes(row.leaf))
        if row.seq == seq:
            change(obj)
        if prev is not None:
            obj["prev"] = prev
        leaf = canonical_json(obj)
        prev = hashlib.sha256(leaf).hexdigest()
        db.session.execute(
            text(
                "UPDATE audit_entries SET leaf = :leaf, entry_hash = :h, prev_hash = :p "
                "WHERE seq = :seq"
            ),
            {"leaf": leaf, "h": prev, "p": obj["prev"], "seq": row.seq},
        )
    head = db.session.get(AuditHead, 1)
    db.session.execute(
        text("UPDATE audit_head SET last_hash = :h WHERE id = :id"), {"h": prev, "id": head.id}
    )


def truncate_to(size: int) -> None:
    """Delete entries from ``size`` on and set the head row back, so the chain holds."""
    kept = entries()[size - 1]
    db.session.execute(text("DELETE FROM audit_entries WHERE seq >= :s"), {"s": size})
    db.session.execute(
        text("UPDATE audit_head SET last_seq = :seq, last_hash = :h WHERE id = 1"),
        {"seq": kept.seq, "h": kept.entry_hash},
    )


def a_user(email: str = "someone@council.example") -> User:
    user = User(email=email, password_hash="x")
    db.session.add(user)
    db.session.flush()
    return user

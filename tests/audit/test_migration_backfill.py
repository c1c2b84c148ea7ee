"""Migration 0004 back-fills the filter facets of entries written before it, the same ones
``record`` writes, and takes its tables and indexes away again on downgrade."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select

from gateway.audit import Actor, record
from gateway.database import MIGRATIONS_DIR
from gateway.extensions import db
from gateway.models import AuditFacet


def _facets():
    return sorted(db.session.execute(select(AuditFacet.name, AuditFacet.value, AuditFacet.seq)))


def test_upgrading_back_fills_the_facets_record_writes(app):
    with app.app_context():
        record(
            "post.created",
            actor=Actor.system(),
            obj=("post", 4),
            payload={"author_id": 1, "emergency_category": "severe_weather"},
            content={"text": "Roads closed", "channels": [1, 2], "emergency_category": "x"},
        )
        record(
            "delivery.outcome",
            actor=Actor.system(),
            obj=("delivery", 9),
            payload={"post_id": 4, "channel_id": 2, "outcome": "published"},
        )
        db.session.commit()
        written = _facets()
        assert ("outcome", "published", 1) in written and ("emergency", "1", 0) in written
        db.session.remove()
        downgrade(directory=MIGRATIONS_DIR, revision="0003")
        assert "audit_facets" not in inspect(db.engine).get_table_names()
        upgrade(directory=MIGRATIONS_DIR)
        assert _facets() == written

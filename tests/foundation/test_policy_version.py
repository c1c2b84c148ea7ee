"""The guardrails' policy data is read again whenever any of it changes, however it changed.

The publish-time check caches the compiled context by a version number that database triggers
move on (migration 0005): these tests change the tables with plain SQL, past the application,
and expect the next check to see the change."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from gateway.extensions import db
from gateway.models import ClosureDay
from gateway.policy import current_context


def _names(context):
    return sorted(p.name for p in context.register.people)


def test_unchanged_policy_is_read_once(app):
    with app.app_context():
        first = current_context()
        db.session.commit()
        assert current_context() is first


def test_every_kind_of_change_to_every_policy_table_is_seen(app):
    with app.app_context():
        before = current_context()
        db.session.execute(
            text(
                "INSERT INTO register_people (name, party, role, ward) "
                "VALUES ('Ada Example', 'Example Party', 'councillor', 'North')"
            )
        )
        db.session.commit()
        added = current_context()
        assert added is not before and _names(added) == ["Ada Example"]

        db.session.execute(text("UPDATE register_people SET name = 'Ada Sample'"))
        db.session.commit()
        assert _names(current_context()) == ["Ada Sample"]

        db.session.execute(text("DELETE FROM register_people"))
        db.session.commit()
        assert _names(current_context()) == []

        db.session.add(ClosureDay(day=date(2027, 1, 4), reason="Staff training"))
        db.session.commit()
        assert date(2027, 1, 4) in current_context().closure_days

        db.session.execute(
            text(
                "INSERT INTO allowed_contacts (kind, value, note) "
                "VALUES ('email', 'help@council.example', '')"
            )
        )
        db.session.commit()
        with_contact = current_context()
        db.session.execute(text("DELETE FROM allowed_contacts"))
        db.session.commit()
        assert current_context() is not with_contact


def test_a_change_rolled_back_does_not_change_the_version(app):
    with app.app_context():
        version = db.session.scalar(text("SELECT version FROM policy_version"))
        db.session.execute(text("DELETE FROM closure_days"))
        db.session.rollback()
        assert db.session.scalar(text("SELECT version FROM policy_version")) == version

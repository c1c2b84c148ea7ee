"""A worker rehearses a claim on nothing before its first job (issue 5, "Speed")."""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from gateway import policy
from gateway.extensions import db
from gateway.models import AuditEntry, Delivery
from gateway.publishing import attempt
from tests.publishing.conftest import approved_post, deliveries
from workers.worker import build_worker


def test_the_rehearsal_warms_the_policy_context_and_changes_nothing(app, clock, channels, officers):
    post_id = approved_post(app, officers, [channels["x"]])
    before = deliveries(app, post_id)
    with app.app_context():
        entries = db.session.scalar(select(func.count()).select_from(AuditEntry))
        policy._cache.clear()
        attempt.rehearse()
        assert policy._cache, "the policy context is built before the first job"
        assert not db.session().in_transaction()
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == entries
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == len(before)
    assert deliveries(app, post_id) == before


def test_a_worker_starts_even_when_it_cannot_rehearse(app, monkeypatch, caplog):
    def database_down():
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(attempt, "rehearse", database_down)
    worker = build_worker(app)
    with caplog.at_level(logging.WARNING, logger="workers.worker"):
        worker.rehearse()
    assert "could not rehearse" in caplog.text

"""The publishing worker checks the two-person rule again at publish time (issue 20).

The post service refuses an approval by anyone who wrote or changed the version approved; these
tests make that state behind the service's back (as someone with database access, or an older
gateway, could) and check that the worker still refuses to publish it.
"""

from __future__ import annotations

from sqlalchemy import select

from gateway.extensions import db
from gateway.models import Approval, Delivery, PostEditor
from tests.publishing.conftest import approved_post, deliveries, post_status
from tests.publishing.test_publish import run_worker


def _approval(post_id) -> Approval:
    return db.session.scalars(
        select(Approval).where(Approval.post_id == post_id, Approval.decision == "approved")
    ).one()


def test_an_approval_by_an_editor_of_the_approved_version_is_blocked(
    app, clock, fake, channels, officers
):
    post_id = approved_post(app, officers, [channels["x"]])
    with app.app_context():
        approval = _approval(post_id)
        # The approver is recorded as having changed the version they approved.
        db.session.add(PostEditor(post_id=post_id, user_id=officers.approver, round=approval.round))
        db.session.commit()
    run_worker(app)
    assert fake.posts() == []
    [(_, status, _, _)] = deliveries(app, post_id)
    assert status == "blocked"
    with app.app_context():
        d = db.session.scalar(select(Delivery).where(Delivery.post_id == post_id))
        assert "approved by an officer who changed it" in d.last_error
    assert post_status(app, post_id) == "blocked"


def test_an_approvers_edit_in_an_earlier_round_does_not_block(app, clock, fake, channels, officers):
    post_id = approved_post(app, officers, [channels["x"]])
    with app.app_context():
        approval = _approval(post_id)
        db.session.add(
            PostEditor(post_id=post_id, user_id=officers.approver, round=approval.round - 1)
        )
        db.session.commit()
    run_worker(app)
    assert post_status(app, post_id) == "published"
    assert len(fake.posts("x")) == 1


def test_an_approval_older_than_rounds_is_checked_against_every_editor(
    app, clock, fake, channels, officers
):
    post_id = approved_post(app, officers, [channels["x"]])
    with app.app_context():
        approval = _approval(post_id)
        approval.round = None
        db.session.add(PostEditor(post_id=post_id, user_id=officers.approver, round=7))
        db.session.commit()
    run_worker(app)
    assert fake.posts() == []
    assert post_status(app, post_id) == "blocked"

"""The two-person rule as a pure function (gateway.domain.two_person), and migration 0009's
back-fill of who wrote the posts that existed before it (issue 20)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from gateway.audit import Actor, record
from gateway.database import MIGRATIONS_DIR
from gateway.domain.roles import Role
from gateway.domain.two_person import approval_refusal, writers
from gateway.extensions import db


def test_the_approver_must_be_none_of_the_writers():
    assert writers(1, [2, 3]) == {1, 2, 3}
    assert approval_refusal(4, 1, [2, 3]) is None
    assert approval_refusal(1, 1, []) == "its approver is its author"
    assert approval_refusal(3, 1, [2, 3]) == "its approver changed it after its last approval"
    assert approval_refusal(2, 1, iter([2])) is not None  # any iterable of ids


def test_upgrading_counts_the_logs_editors_of_older_posts(app, auth):
    from gateway.models import Approval, Channel
    from gateway.posts import service

    author_id, _ = auth.create_user(Role.OFFICER)
    editor_id, _ = auth.create_user(Role.OFFICER)
    with app.app_context():
        from gateway.models import User

        channel = Channel(platform="x", display_name="X", external_account_id="1", enabled=True)
        db.session.add(channel)
        db.session.flush()
        post = service.create_draft(
            db.session.get(User, author_id),
            text="Bin collections are on Monday.",
            channel_ids=[channel.id],
            scheduled_at=datetime.now(UTC) + timedelta(days=1),
        )
        db.session.flush()
        # As an older gateway logged it: another officer edited the post.
        record(
            "post.edited", actor=Actor.of(db.session.get(User, editor_id)), obj=("post", post.id)
        )
        post.approvals.append(
            Approval(approver_id=editor_id, fingerprint="0" * 64, decision="approved")
        )
        db.session.commit()
        post_id = post.id
        db.session.remove()
        downgrade(directory=MIGRATIONS_DIR, revision="0008")
        upgrade(directory=MIGRATIONS_DIR)
        row = db.session.execute(
            text("SELECT holder_id, approval_round FROM posts WHERE id = :p"), {"p": post_id}
        ).one()

        assert tuple(row) == (author_id, 1)
        editors = db.session.execute(
            text("SELECT user_id, round FROM post_editors WHERE post_id = :p"), {"p": post_id}
        ).all()
        assert [tuple(e) for e in editors] == [(editor_id, 0)]
        assert db.session.execute(text("SELECT round FROM approvals")).scalar_one() == 0

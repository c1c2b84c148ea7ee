"""Who wrote each version of a post, so its approver can be checked against all of them
(issue 20, finding 1: the two-person rule).

Before, approval compared the approver only with the author: another officer could rewrite a
submitted post and approve it themselves. Now:

* ``posts.holder_id``: the officer who may edit and submit the post now. The author, until
  another officer takes it over explicitly (recorded in the publish log).
* ``posts.approval_round``: how many times the post has been approved. Every edit is recorded
  against the round it belongs to; an approval closes its round.
* ``post_editors``: each person who changed the post in a round. The approver of a round must
  be neither the author nor any of that round's editors; ``approvals.round`` says which round
  an approval closed, so the publishing worker checks the same.

Existing posts: their holder is their author; every person the publish log shows editing a
post is counted as an editor of its round 0 (the cautious reading: an approval by one of them
is then refused at publish time), and the round count is the number of approvals given.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN, never a batch rebuild: on SQLite rebuilding ``posts`` drops the old
    # table, and with foreign keys on that cascades to every delivery, approval and image.
    # So ``holder_id`` has no foreign key constraint either (SQLite cannot add one in place):
    # users are never deleted, only deactivated.
    op.add_column("posts", sa.Column("holder_id", sa.Integer(), nullable=True))
    op.add_column(
        "posts", sa.Column("approval_round", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("approvals", sa.Column("round", sa.Integer(), nullable=True))
    op.create_table(
        "post_editors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_post_editors_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_post_editors_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_editors")),
        sa.UniqueConstraint(
            "post_id", "user_id", "round", name=op.f("uq_post_editors_post_id")
        ),
    )
    with op.batch_alter_table("post_editors") as batch_op:
        batch_op.create_index(batch_op.f("ix_post_editors_post_id"), ["post_id"], unique=False)

    op.execute("UPDATE posts SET holder_id = author_id")
    op.execute("UPDATE approvals SET round = 0 WHERE decision = 'approved'")
    op.execute(
        "UPDATE posts SET approval_round = (SELECT count(*) FROM approvals"
        " WHERE approvals.post_id = posts.id AND approvals.decision = 'approved')"
    )
    # Every editor the log names, cautiously in round 0 (the log's actor_id and object columns
    # are indexed copies of its leaves; users deleted since are skipped).
    op.execute(
        "INSERT INTO post_editors (post_id, user_id, round, created_at)"
        " SELECT DISTINCT p.id, u.id, 0, min(e.time) FROM audit_entries e"
        " JOIN posts p ON e.object_type = 'post' AND e.object_id = CAST(p.id AS VARCHAR(60))"
        " JOIN users u ON u.id = e.actor_id"
        " WHERE e.action = 'post.edited' AND u.id <> p.author_id"
        " GROUP BY p.id, u.id"
    )


def downgrade():
    with op.batch_alter_table("post_editors") as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_editors_post_id"))
    op.drop_table("post_editors")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later too): no rebuild, so no cascade.
    op.drop_column("approvals", "round")
    op.drop_column("posts", "approval_round")
    op.drop_column("posts", "holder_id")

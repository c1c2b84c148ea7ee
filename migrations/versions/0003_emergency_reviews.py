"""Reviews of emergency posts (issue 7).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "emergency_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_emergency_reviews_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_emergency_reviews_reviewer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_reviews")),
    )
    with op.batch_alter_table("emergency_reviews") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_emergency_reviews_post_id"), ["post_id"], unique=True
        )


def downgrade():
    with op.batch_alter_table("emergency_reviews") as batch_op:
        batch_op.drop_index(batch_op.f("ix_emergency_reviews_post_id"))
    op.drop_table("emergency_reviews")

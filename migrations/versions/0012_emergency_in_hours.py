"""Emergency posts in office hours go to fast-track approval (issue 20, finding 4).

- posts.emergency_release: how an emergency post was sent, fixed when it is made
  (gateway.domain.emergency.Release): "at_once" out of hours, "at_once_in_hours" under the
  admin's setting, "fast_track" to another officer's approval. The publish job lets only a post
  sent at once skip the approval check. Emergency posts made before this migration were all
  sent at once, and are marked so.
- policy_settings: choices an admin makes in the policy pages, by name; the first is
  "emergency_in_hours" (fast_track, the default when no row exists, or at_once).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade():
    op.add_column("posts", sa.Column("emergency_release", sa.String(length=20), nullable=True))
    op.execute(
        "UPDATE posts SET emergency_release = 'at_once' WHERE emergency_category IS NOT NULL"
    )
    op.create_table(
        "policy_settings",
        sa.Column("key", sa.String(length=60), primary_key=True),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("changed_at", UTC_DATETIME, nullable=False),
        sa.Column("changed_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
    )


def downgrade():
    op.drop_table("policy_settings")
    # ALTER TABLE ... DROP COLUMN, not a batch rebuild: on SQLite rebuilding ``posts`` would
    # cascade-delete its deliveries, approvals and images (see 0009).
    op.drop_column("posts", "emergency_release")

"""Indexes for the officers' pages with 100,000 posts (issue 6, "Speed"; issue 7).

- posts (scheduled_at): the schedule reads a week or a month of posts whatever their status;
  ix_posts_status_scheduled leads with the status, so that read scanned the whole table.
- posts (author_id, status): "My drafts" and "My posts awaiting approval" on the dashboard;
  it replaces ix_posts_author_id, which is its first column.
- posts (updated_at, id) for failed, partly published and blocked posts only: the dashboard's
  "Failed or blocked" lists the latest ten of a set that only grows; without it every one was
  read and sorted on each visit. The statuses are gateway.web.queries.PROBLEM_STATUSES.
- posts (created_at) for emergency posts only: the dashboard's count of overdue emergency
  reviews looks at the few emergency posts, not at every post.

Revision ID: 0006
Revises: 0005 (0005, the policy version, is on another branch: when both are merged this
one follows it, down_revision = "0005")
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

EMERGENCY_ONLY = sa.text("emergency_category IS NOT NULL")
PROBLEMS_ONLY = sa.text("status IN ('failed', 'partly_published', 'blocked')")


def upgrade():
    op.create_index("ix_posts_scheduled_at", "posts", ["scheduled_at"])
    op.create_index("ix_posts_author_status", "posts", ["author_id", "status"])
    op.drop_index("ix_posts_author_id", table_name="posts")
    op.create_index(
        "ix_posts_emergency_created",
        "posts",
        ["created_at"],
        postgresql_where=EMERGENCY_ONLY,
        sqlite_where=EMERGENCY_ONLY,
    )
    op.create_index(
        "ix_posts_problems_updated",
        "posts",
        ["updated_at", "id"],
        postgresql_where=PROBLEMS_ONLY,
        sqlite_where=PROBLEMS_ONLY,
    )


def downgrade():
    op.drop_index("ix_posts_problems_updated", table_name="posts")
    op.drop_index("ix_posts_emergency_created", table_name="posts")
    op.create_index("ix_posts_author_id", "posts", ["author_id"])
    op.drop_index("ix_posts_author_status", table_name="posts")
    op.drop_index("ix_posts_scheduled_at", table_name="posts")

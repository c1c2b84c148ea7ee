"""An index for deliveries waiting to be retried, so the release loop reads only what is due.

The scheduler's release loop (gateway.publishing.release) runs every 50 ms and asks for the
deliveries that fell due since its last look: those with no retry time by ``due_at`` (index
ix_deliveries_status_due) and those with one by ``next_attempt_at`` (this index). Without it
every look read every scheduled delivery, thousands of rows twenty times a second.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_deliveries_status_next_attempt", "deliveries", ["status", "next_attempt_at"]
    )


def downgrade():
    op.drop_index("ix_deliveries_status_next_attempt", table_name="deliveries")

"""Record when a delivery's attempt started, for the look-up after an unknown outcome.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.add_column(
            sa.Column("attempt_started_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_column("attempt_started_at")

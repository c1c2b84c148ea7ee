"""The expiry reminders of a channel's token (issue 15): which reminder ("7 days" or "1 day"
before which expiry) was last sent, so each goes once, and a new grant's expiry starts again.

A nullable column: SQLite adds it without rebuilding the table.

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("channels", sa.Column("expiry_reminded", sa.String(60), nullable=True))


def downgrade():
    # ALTER TABLE ... DROP COLUMN, not a batch rebuild (see 0012 and 0021).
    op.drop_column("channels", "expiry_reminded")

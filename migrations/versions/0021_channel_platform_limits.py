"""The limits a channel's server sets (issue 21): a Mastodon instance's own character limit,
link weight, images per post and alt-text length, as JSON, read from its /api/v2/instance when
the channel is connected and at each "Test the connection".

A nullable column: SQLite adds it without rebuilding the table.

Revision ID: 0021
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("channels", sa.Column("platform_limits", sa.Text(), nullable=True))


def downgrade():
    # ALTER TABLE ... DROP COLUMN, not a batch rebuild: rebuilding channels on SQLite drops a
    # table that deliveries refer to (see 0012).
    op.drop_column("channels", "platform_limits")

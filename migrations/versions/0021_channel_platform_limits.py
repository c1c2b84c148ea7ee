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
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("platform_limits")

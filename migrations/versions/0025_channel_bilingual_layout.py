"""Each channel's own bilingual layout (issue 18: "a setting per installation (and per
channel ...)"): "" as the installation is set, "cy-en" or "en-cy" one bilingual post in that
order, "separate" two posts at the same moment.

A column with a constant default: SQLite adds it without rebuilding the table.

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "channels",
        sa.Column("bilingual_layout", sa.String(20), nullable=False, server_default=""),
    )


def downgrade():
    # ALTER TABLE ... DROP COLUMN, not a batch rebuild (see 0012 and 0021).
    op.drop_column("channels", "bilingual_layout")

"""What Graph's debug_token says of a Facebook or Instagram channel's token (issue 15): its
type (a Page token, or a user token where a Page token is needed), who granted it, and when the
app's access to their data expires.

Added columns only (nullable or with a server default), so SQLite does not rebuild channels.

Revision ID: 0027
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0025"
branch_labels = None
depends_on = None

COLUMNS = ("data_access_expires_at", "token_user_id", "token_type")


def upgrade():
    op.add_column(
        "channels", sa.Column("token_type", sa.String(20), nullable=False, server_default="")
    )
    op.add_column("channels", sa.Column("token_user_id", sa.String(64), nullable=True))
    op.add_column(
        "channels", sa.Column("data_access_expires_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade():
    # ALTER TABLE ... DROP COLUMN, not a batch rebuild (see 0012, 0021 and 0023).
    for name in COLUMNS:
        op.drop_column("channels", name)

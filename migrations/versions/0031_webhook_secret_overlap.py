"""A rotated webhook secret may keep signing beside the new one for a while (issue 17): the
old secret, encrypted as the current one is but bound to its own purpose, and until when it
signs. Both NULL when there is none (every endpoint before this migration).

Columns added in place; the downgrade drops them in place too (no batch rebuild on SQLite).

Revision ID: 0031
Revises: 0030
"""

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "webhook_endpoints", sa.Column("previous_secret_encrypted", sa.LargeBinary(), nullable=True)
    )
    op.add_column(
        "webhook_endpoints",
        sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade():
    op.drop_column("webhook_endpoints", "previous_secret_until")
    op.drop_column("webhook_endpoints", "previous_secret_encrypted")

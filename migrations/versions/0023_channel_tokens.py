"""Channels connected by the platform's own sign-in (issue 15): how the credentials were
obtained, when the access token expires, the scopes granted, who granted them and when, and a
version bumped by every change of the tokens (a refresh writes only over the version it read);
when the daily token check last ran and what it found wrong.

Added columns only (nullable or with a server default), so the channels table is not rebuilt
on SQLite.

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)
COLUMNS = (
    "health_problem",
    "health_checked_at",
    "token_version",
    "granted_at",
    "granted_by_id",
    "token_scopes",
    "token_expires_at",
    "auth_method",
)


def upgrade():
    op.add_column(
        "channels", sa.Column("auth_method", sa.String(20), nullable=False, server_default="")
    )
    op.add_column("channels", sa.Column("token_expires_at", UTC_DATETIME, nullable=True))
    op.add_column(
        "channels", sa.Column("token_scopes", sa.String(500), nullable=False, server_default="")
    )
    op.add_column("channels", sa.Column("granted_by_id", sa.Integer(), nullable=True))
    op.add_column("channels", sa.Column("granted_at", UTC_DATETIME, nullable=True))
    op.add_column(
        "channels",
        sa.Column("token_version", sa.Integer(), nullable=False, server_default="0"),
    )
    # The daily token check (issue 15): when it last ran, and what is wrong, if anything.
    op.add_column("channels", sa.Column("health_checked_at", UTC_DATETIME, nullable=True))
    op.add_column("channels", sa.Column("health_problem", sa.String(500), nullable=True))


def downgrade():
    # ALTER TABLE ... DROP COLUMN, not a batch rebuild: rebuilding channels on SQLite drops a
    # table that deliveries refer to (see 0012 and 0021).
    for name in COLUMNS:
        op.drop_column("channels", name)

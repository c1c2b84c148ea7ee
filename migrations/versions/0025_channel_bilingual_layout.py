"""Each channel's own bilingual layout (issue 18: "a setting per installation (and per
channel ...)"): "" as the installation is set, "cy-en" or "en-cy" one bilingual post in that
order, "separate" two posts at the same moment. And on PostgreSQL a trigram index on the Welsh
text, as 0014 made on the English, for the post search, which matches either language.

A column with a constant default: SQLite adds it without rebuilding the table.

Revision ID: 0025
Revises: 0024
"""

import logging

import sqlalchemy as sa
from alembic import op

log = logging.getLogger(__name__)
TEXT_CY_INDEX = "ix_posts_text_cy_trgm"

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "channels",
        sa.Column("bilingual_layout", sa.String(20), nullable=False, server_default=""),
    )
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # Inside a savepoint, as 0014: a database user that may not use pg_trgm keeps the rest.
    savepoint = bind.begin_nested()
    try:
        bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        bind.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS {TEXT_CY_INDEX} ON posts "
            "USING gin (lower(text_cy) gin_trgm_ops)"
        )
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        log.warning("No trigram index on posts.text_cy (the search reads the table): %s", exc.orig)
    else:
        savepoint.commit()


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {TEXT_CY_INDEX}")
    # ALTER TABLE ... DROP COLUMN, not a batch rebuild (see 0012 and 0021).
    op.drop_column("channels", "bilingual_layout")

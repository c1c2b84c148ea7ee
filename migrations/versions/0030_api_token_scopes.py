"""API tokens narrowed to some operations (issue 17): api_tokens.scopes, space-separated scope
names (gateway.api.scopes), NULL for a token that may call everything its owner's roles allow
(every token made before this migration).

A column added in place; the downgrade drops it in place too (no batch rebuild on SQLite).

Revision ID: 0030
Revises: 0029
"""

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("api_tokens", sa.Column("scopes", sa.Text(), nullable=True))


def downgrade():
    op.drop_column("api_tokens", "scopes")

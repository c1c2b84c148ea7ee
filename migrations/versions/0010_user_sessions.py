"""Server-side sessions and the one-time password of an admin's reset (issue 20).

- user_sessions: one row per signed-in session, named by the random id the signed cookie
  carries and checked on every request, so signing out ends that session even where its cookie
  was copied. Signing out after this migration's deploy is needed once: cookies issued before
  it name no session and are refused (everyone signs in again).
- users.password_must_change: set by an admin's password reset; a session opened with the
  one-time password can only set a new one.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"])
    # Plain ALTER TABLE on both databases (SQLite 3.35+ drops columns too): a batch copy of
    # "users" on SQLite would drop the table its foreign keys cascade from.
    op.add_column(
        "users",
        sa.Column("password_must_change", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade():
    op.drop_column("users", "password_must_change")
    op.drop_index(op.f("ix_user_sessions_user_id"), table_name="user_sessions")
    op.drop_table("user_sessions")

"""A version number of the guardrails' policy data, moved on by the database itself.

The publish job re-checks every post against the register, the elections, the allowed contacts
and the closure days as they are at that instant. Reading all four tables for every delivery to
see whether they changed cost four queries and, with a large register, thousands of rows a
delivery; now one row is read, and triggers on the four tables move it on with any insert,
update or delete, whichever program or person makes it.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

POLICY_TABLES = ("register_people", "elections", "allowed_contacts", "closure_days")
VERBS = ("insert", "update", "delete")


def upgrade():
    op.create_table(
        "policy_version",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
    )
    op.execute("INSERT INTO policy_version (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION policy_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN UPDATE policy_version SET version = version + 1 WHERE id = 1; "
            "RETURN NULL; END $$"
        )
        for table in POLICY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_policy_version AFTER INSERT OR UPDATE OR DELETE "
                f"OR TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION policy_version_bump()"
            )
    else:
        for table in POLICY_TABLES:
            for verb in VERBS:
                op.execute(
                    f"CREATE TRIGGER {table}_policy_version_{verb} AFTER {verb.upper()} ON "
                    f"{table} BEGIN UPDATE policy_version SET version = version + 1 "
                    "WHERE id = 1; END"
                )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in POLICY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_policy_version ON {table}")
        op.execute("DROP FUNCTION IF EXISTS policy_version_bump()")
    else:
        for table in POLICY_TABLES:
            for verb in VERBS:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_policy_version_{verb}")
    op.drop_table("policy_version")

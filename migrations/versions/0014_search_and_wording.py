"""Finding posts, and the council's own words (issue 22, items 8 and 9).

- posts: on PostgreSQL, a trigram index on lower(text) (pg_trgm) for the officers' post search,
  which looks for words anywhere in a post (``lower(text) LIKE '%...%'``, no B-tree can help).
  pg_trgm ships with PostgreSQL and is a trusted extension from PostgreSQL 13, so the database's
  owner may create it; where it cannot be created the search still works, by reading the table,
  and the migration says so in its log. SQLite reads the table either way (100,000 posts in
  tens of milliseconds).
- elections.name: what the council calls the poll ("Local elections, 6 May 2027"); empty means
  that form of name, made from its kind and polling day (never "local 2027-05-06" again).
- policy_settings: a change to it now moves the guardrails' policy version on, as the four
  tables of 0005 do, because the council's own citation of each policy clause is kept there
  (keys "citation.<clause>") and the guardrails' cached context must see a new one at once.

Revision ID: 0014
Revises: 0012
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

TEXT_INDEX = "ix_posts_text_trgm"
VERBS = ("insert", "update", "delete")


def upgrade():
    op.add_column("elections", sa.Column("name", sa.String(length=200), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        _text_index(bind)
        op.execute(
            "CREATE TRIGGER policy_settings_policy_version AFTER INSERT OR UPDATE OR DELETE "
            "OR TRUNCATE ON policy_settings FOR EACH STATEMENT "
            "EXECUTE FUNCTION policy_version_bump()"
        )
    else:
        for verb in VERBS:
            op.execute(
                f"CREATE TRIGGER policy_settings_policy_version_{verb} AFTER {verb.upper()} ON "
                "policy_settings BEGIN UPDATE policy_version SET version = version + 1 "
                "WHERE id = 1; END"
            )


def _text_index(bind) -> None:  # noqa: ANN001
    """The trigram index, inside a savepoint: a database user that may not create the
    extension leaves the rest of the migration standing."""
    savepoint = bind.begin_nested()
    try:
        bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        bind.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS {TEXT_INDEX} ON posts USING gin (lower(text) gin_trgm_ops)"
        )
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        log.warning("No trigram index on posts (the post search reads the table): %s", exc.orig)
    else:
        savepoint.commit()


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS policy_settings_policy_version ON policy_settings")
        op.execute(f"DROP INDEX IF EXISTS {TEXT_INDEX}")
    else:
        for verb in VERBS:
            op.execute(f"DROP TRIGGER IF EXISTS policy_settings_policy_version_{verb}")
    # ALTER TABLE ... DROP COLUMN, not a batch rebuild (elections has no dependants, but the
    # rule is kept everywhere: see 0009).
    op.drop_column("elections", "name")

"""The publish log's signed checkpoints and the filter index for the auditors' pages (issue 8).

Revision ID: 0004
Revises: 0003
"""

import json

import sqlalchemy as sa
from alembic import op

from gateway.audit.facets import facets_of

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
APPEND_ONLY_TABLES = ("audit_facets", "log_checkpoints")
#: Back-fill reads old entries in batches, so a large log is never all in memory.
BACKFILL_BATCH = 5000


def _create_triggers():
    # Like audit_entries (0001): a checkpoint handed out, and the index beside the log, are
    # never changed or removed by the application.
    for table in APPEND_ONLY_TABLES:
        if op.get_bind().dialect.name == "postgresql":
            # audit_entries_append_only() is the function migration 0001 created.
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()"
            )
        else:
            for verb in ("update", "delete"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table} BEGIN "
                    "SELECT RAISE(ABORT, 'audit entries cannot be changed or deleted "
                    "(append-only log)'); END"
                )


def _drop_triggers():
    for table in APPEND_ONLY_TABLES:
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")


def _backfill_facets():
    bind = op.get_bind()
    facets = sa.table("audit_facets", sa.column("name"), sa.column("value"), sa.column("seq", SEQ))
    last = -1
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT e.seq, e.leaf, c.content FROM audit_entries e "
                "LEFT JOIN post_contents c ON c.sha256 = e.content_sha256 "
                "WHERE e.seq > :last ORDER BY e.seq LIMIT :n"
            ),
            {"last": last, "n": BACKFILL_BATCH},
        ).all()
        if not rows:
            return
        values = []
        for seq, leaf, content in rows:
            found = facets_of(
                json.loads(bytes(leaf)), json.loads(bytes(content)) if content else None
            )
            values.extend({"name": n, "value": v, "seq": seq} for n, v in sorted(found))
        if values:
            op.bulk_insert(facets, values)
        last = rows[-1][0]


def upgrade():
    op.create_table(
        "log_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", SEQ, nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("frontier", sa.Text(), nullable=False),
        sa.Column("last_entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_checkpoints")),
    )
    op.create_index("ix_log_checkpoints_size", "log_checkpoints", ["size"], unique=False)
    op.create_table(
        "audit_facets",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=120), nullable=False),
        sa.Column("seq", SEQ, autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("name", "value", "seq", name=op.f("pk_audit_facets")),
    )
    # Plain CREATE INDEX, not a batch operation: on SQLite a batch may copy the table, which
    # would drop the append-only triggers of migration 0001.
    op.create_index("ix_audit_entries_action_seq", "audit_entries", ["action", "seq"])
    op.create_index("ix_audit_entries_actor_id_seq", "audit_entries", ["actor_id", "seq"])
    _backfill_facets()
    _create_triggers()


def downgrade():
    _drop_triggers()
    op.drop_index("ix_audit_entries_actor_id_seq", "audit_entries")
    op.drop_index("ix_audit_entries_action_seq", "audit_entries")
    op.drop_table("audit_facets")
    op.drop_index("ix_log_checkpoints_size", "log_checkpoints")
    op.drop_table("log_checkpoints")

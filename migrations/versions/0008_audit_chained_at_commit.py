"""The publish log chains each transaction's entries inside PostgreSQL's commit.

Before: the writer (gateway.audit.log) locked the log's single head row from Python, inserted
its entries and moved the head, then committed. Every publish, approval and edit waits for that
lock, and it was held across three round trips and whatever the operating system did to the
Python process in between: on a busy two-core machine a worker holding it was often not running
at all, and the log, not the platforms, set the publishing rate (docs/benchmarks.md,
"Publishing").

Now, on PostgreSQL, a transaction stages its entries (``audit_staged``, with every field of the
leaf that does not depend on the head already in canonical form) and a deferred constraint
trigger chains them while the transaction commits: it locks the head, computes each leaf's
``prev``, ``seq`` and ``time`` (the time the
writer staged it, or the previous entry's if that is later), its SHA-256, inserts the entry and its facets, moves the head and
deletes the staged row. The lock is held from there to the end of the commit, inside the
server, with no client round trip. Entries are still written in the same transaction as the
change they record, in the order they were recorded; a rollback drops them. SQLite keeps the
writer in Python (its writers are serialised by ``BEGIN IMMEDIATE`` anyway).

The leaf bytes are the same as the Python writer's: canonical JSON whose last three keys are
"prev", "seq" and "time" (times as %Y-%m-%dT%H:%M:%S.%fZ, UTC). Both writers are checked by the
same tests and by ``gateway audit verify``.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer, "sqlite")

PG_FUNCTION = r"""
CREATE OR REPLACE FUNCTION audit_chain_staged() RETURNS trigger AS $$
DECLARE
    head_seq bigint;
    head_hash text;
    head_time timestamptz;
    at timestamptz;
    leaf bytea;
    digest text;
BEGIN
    SELECT last_seq, last_hash, last_time INTO head_seq, head_hash, head_time
        FROM audit_head WHERE id = 1 FOR UPDATE;
    head_seq := head_seq + 1;
    -- The writer's clock, as the Python writer uses; the log never goes backwards, whatever
    -- the clocks of several hosts do.
    at := greatest(NEW.at, coalesce(head_time, '-infinity'::timestamptz));
    leaf := NEW.leaf_head || convert_to(
        '"' || head_hash || '","seq":' || head_seq::text || ',"time":"'
            || to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '"}',
        'UTF8');
    digest := encode(sha256(leaf), 'hex');
    INSERT INTO audit_entries (seq, time, actor_id, action, object_type, object_id,
                               content_sha256, prev_hash, entry_hash, leaf)
        VALUES (head_seq, at, NEW.actor_id, NEW.action, NEW.object_type, NEW.object_id,
                NEW.content_sha256, head_hash, digest, leaf);
    INSERT INTO audit_facets (name, value, seq)
        SELECT DISTINCT pair->>0, pair->>1, head_seq
        FROM jsonb_array_elements(NEW.facets::jsonb) AS pair;
    UPDATE audit_head SET last_seq = head_seq, last_hash = digest, last_time = at WHERE id = 1;
    DELETE FROM audit_staged WHERE id = NEW.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
PG_TRIGGER = """
CREATE CONSTRAINT TRIGGER audit_staged_chain_at_commit
AFTER INSERT ON audit_staged
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION audit_chain_staged()
"""


def upgrade():
    op.create_table(
        "audit_staged",
        sa.Column("id", SEQ, autoincrement=True, nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=True),
        sa.Column("object_id", sa.String(length=60), nullable=True),
        sa.Column("content_sha256", sa.String(length=64), nullable=True),
        sa.Column("leaf_head", sa.LargeBinary(), nullable=False),
        sa.Column("facets", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_staged")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_staged_chain_at_commit ON audit_staged")
        op.execute("DROP FUNCTION IF EXISTS audit_chain_staged()")
    op.drop_table("audit_staged")

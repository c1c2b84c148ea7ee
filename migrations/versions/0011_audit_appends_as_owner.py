"""The publish log is appended only by functions that run as its owner (issue #20).

Before: the application's database role kept INSERT on ``audit_entries``, ``audit_facets`` and
``log_checkpoints`` and UPDATE on ``audit_head`` (the commit-time trigger of migration 0008 ran
as that role, and large transactions were chained in Python), so whoever had the application's
credentials could insert a correctly chained false entry, move the head, or store a checkpoint
of a history that is not the log's.

Now, on PostgreSQL, two ``SECURITY DEFINER`` functions owned by the tables' owner, with a fixed
``search_path``, are the only way in, and the README's grants revoke the rest:

- ``audit_append(leaf_heads, facets, at)`` chains entries onto the head: it locks the head, adds
  ``prev``, ``seq`` and ``time`` to each leaf, hashes it, and writes the entry with its indexed
  columns read from the leaf itself (never from the caller), its facets, and the head's move. The
  commit-time trigger (``audit_chain_staged``, now ``SECURITY DEFINER`` too) calls it for each
  staged entry; the writer calls it directly for a transaction of more than 50 entries.
- ``audit_add_checkpoint(...)`` stores a signed checkpoint only if it covers no more than the
  log, does not shrink the newest stored one, its size, root and compact range are those of the
  log's entries (hashed here, from the previous checkpoint's range), its last entry hash is the
  entry's, and its note says that size and root.

``post_contents`` gets a trigger that refuses a content stored under a key that is not its
SHA-256 (rows stored from now on; old rows are ``gateway audit verify``'s), so a false content
cannot be planted under the hash a later entry will name.

Both dialects: an index on ``audit_facets.seq``, so ``gateway audit verify`` reads the facets of
each batch of entries in one range query.

SQLite has no roles: there the chain, the signed checkpoints and the copies of them kept outside
the database (docs/audit.md) are the protection.

Revision ID: 0011
Revises: 0010
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

APPEND = """
CREATE FUNCTION audit_append(leaf_heads bytea[], facets text[], at timestamptz)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp
AS $$
DECLARE
    head_seq bigint;
    head_hash text;
    head_time timestamptz;
    stamp timestamptz;
    leaf bytea;
    docs json[] := '{}';
    doc json;
    cut integer;
    digest text;
    i integer;
BEGIN
    IF coalesce(cardinality(leaf_heads), 0) = 0 THEN
        RETURN NULL;
    END IF;
    IF cardinality(facets) IS DISTINCT FROM cardinality(leaf_heads) THEN
        RAISE EXCEPTION 'audit_append: one facet list an entry';
    END IF;
    -- Before the head is locked: the fields each entry's indexed columns come from. A leaf's
    -- head is its canonical JSON up to "prev": (the keys that sort before it); those columns
    -- are all in the fields before "payload", which is the only one holding free text, so
    -- only that part is parsed (PostgreSQL's JSON cannot read a \\u0000, which text may hold).
    FOR i IN 1 .. cardinality(leaf_heads) LOOP
        cut := position('\\x2c227061796c6f6164223a'::bytea IN leaf_heads[i]);  -- ,"payload":
        IF cut = 0 OR substring(leaf_heads[i] FROM octet_length(leaf_heads[i]) - 7)
                      IS DISTINCT FROM '\\x2c2270726576223a'::bytea THEN  -- ,"prev":
            RAISE EXCEPTION 'audit_append: entry % is not a leaf up to its "prev"', i;
        END IF;
        doc := (convert_from(substring(leaf_heads[i] FROM 1 FOR cut - 1), 'UTF8') || '}')::json;
        IF (SELECT array_agg(k ORDER BY k) FROM json_object_keys(doc) AS k)
           IS DISTINCT FROM ARRAY['action', 'actor', 'content_sha256', 'object'] THEN
            RAISE EXCEPTION 'audit_append: entry % does not have a leaf''s fields', i;
        END IF;
        docs := array_append(docs, doc);
    END LOOP;
    SELECT last_seq, last_hash, last_time INTO head_seq, head_hash, head_time
        FROM audit_head WHERE id = 1 FOR UPDATE;
    -- The writer's clock; the log never goes backwards, whatever the clocks of several hosts do.
    stamp := greatest(at, coalesce(head_time, '-infinity'::timestamptz));
    FOR i IN 1 .. cardinality(leaf_heads) LOOP
        head_seq := head_seq + 1;
        leaf := leaf_heads[i] || convert_to(
            '"' || head_hash || '","seq":' || head_seq::text || ',"time":"'
                || to_char(stamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '"}',
            'UTF8');
        doc := docs[i];
        digest := encode(sha256(leaf), 'hex');
        -- The indexed columns say what the hashed leaf says: they are read from it.
        INSERT INTO audit_entries (seq, time, actor_id, action, object_type, object_id,
                                   content_sha256, prev_hash, entry_hash, leaf)
            VALUES (head_seq, stamp, (doc #>> '{actor,id}')::integer, doc ->> 'action',
                    doc #>> '{object,type}', doc #>> '{object,id}',
                    doc ->> 'content_sha256', head_hash, digest, leaf);
        INSERT INTO audit_facets (name, value, seq)
            SELECT DISTINCT pair ->> 0, pair ->> 1, head_seq
            FROM jsonb_array_elements(facets[i]::jsonb) AS pair;
        head_hash := digest;
    END LOOP;
    UPDATE audit_head SET last_seq = head_seq, last_hash = head_hash, last_time = stamp
        WHERE id = 1;
    RETURN head_seq;
END;
$$
"""

CHAIN_STAGED = """
CREATE OR REPLACE FUNCTION audit_chain_staged() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp
AS $$
BEGIN
    PERFORM audit_append(ARRAY[NEW.leaf_head], ARRAY[NEW.facets], NEW.at);
    DELETE FROM audit_staged WHERE id = NEW.id;
    RETURN NULL;
END;
$$
"""

ADD_CHECKPOINT = """
CREATE FUNCTION audit_add_checkpoint(
    p_size bigint, p_root_hash text, p_origin text, p_note bytea, p_signed_at timestamptz,
    p_frontier text, p_last_entry_hash text
) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp
AS $$
DECLARE
    head_seq bigint;
    latest log_checkpoints%ROWTYPE;
    stack bytea[] := '{}';
    n bigint := 0;
    m bigint;
    h bytea;
    leaf bytea;
    root bytea;
    last_hash text := repeat('0', 64);
    body text[];
    new_id integer;
BEGIN
    SELECT last_seq INTO head_seq FROM audit_head WHERE id = 1;
    IF p_size < 0 OR p_size > head_seq + 1 THEN
        RAISE EXCEPTION 'checkpoint refused: size % but the log has % entries',
            p_size, head_seq + 1;
    END IF;
    SELECT * INTO latest FROM log_checkpoints c ORDER BY c.size DESC, c.id DESC LIMIT 1;
    IF FOUND AND p_size < latest.size THEN
        RAISE EXCEPTION 'checkpoint refused: size % is smaller than the stored %',
            p_size, latest.size;
    END IF;
    IF FOUND AND latest.origin = p_origin THEN
        -- Resume the tree from the newest checkpoint's compact range, as the signer does.
        SELECT coalesce(array_agg(decode(x, 'hex') ORDER BY o), '{}') INTO stack
            FROM json_array_elements_text(latest.frontier::json) WITH ORDINALITY AS t(x, o);
        n := latest.size;
        last_hash := latest.last_entry_hash;
    END IF;
    FOR leaf IN SELECT e.leaf FROM audit_entries e WHERE e.seq >= n AND e.seq < p_size
                ORDER BY e.seq LOOP
        h := sha256('\\x00'::bytea || leaf);
        n := n + 1;
        m := n;
        WHILE m % 2 = 0 LOOP
            h := sha256('\\x01'::bytea || stack[cardinality(stack)] || h);
            stack := stack[1:cardinality(stack) - 1];
            m := m / 2;
        END LOOP;
        stack := array_append(stack, h);
        last_hash := encode(sha256(leaf), 'hex');
    END LOOP;
    IF n <> p_size THEN
        RAISE EXCEPTION 'checkpoint refused: % entries found for a size of %', n, p_size;
    END IF;
    IF n = 0 THEN
        root := sha256(''::bytea);
    ELSE
        root := stack[cardinality(stack)];
        FOR i IN REVERSE cardinality(stack) - 1 .. 1 LOOP
            root := sha256('\\x01'::bytea || stack[i] || root);
        END LOOP;
    END IF;
    IF encode(root, 'hex') <> p_root_hash THEN
        RAISE EXCEPTION 'checkpoint refused: its root is not the root of the log''s % entries',
            p_size;
    END IF;
    IF p_frontier::jsonb <> coalesce(
           (SELECT jsonb_agg(encode(s, 'hex') ORDER BY o)
              FROM unnest(stack) WITH ORDINALITY AS t(s, o)), '[]'::jsonb) THEN
        RAISE EXCEPTION 'checkpoint refused: its compact range is not the log''s';
    END IF;
    IF p_last_entry_hash <> last_hash THEN
        RAISE EXCEPTION 'checkpoint refused: its last entry hash is not entry %''s', p_size - 1;
    END IF;
    body := string_to_array(convert_from(p_note, 'UTF8'), E'\\n');
    IF body[1] IS DISTINCT FROM p_origin OR body[2] IS DISTINCT FROM p_size::text
       OR body[3] IS DISTINCT FROM encode(root, 'base64') THEN
        RAISE EXCEPTION 'checkpoint refused: its note does not say this origin, size and root';
    END IF;
    INSERT INTO log_checkpoints (size, root_hash, origin, note, signed_at, frontier,
                                 last_entry_hash)
        VALUES (p_size, p_root_hash, p_origin, p_note, p_signed_at, p_frontier, p_last_entry_hash)
        RETURNING id INTO new_id;
    RETURN new_id;
END;
$$
"""

CONTENT_HASH = """
CREATE FUNCTION post_contents_key_is_its_hash() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.sha256 IS DISTINCT FROM encode(sha256(NEW.content), 'hex') THEN
        RAISE EXCEPTION 'a post content is stored under its own SHA-256, not %', NEW.sha256;
    END IF;
    RETURN NEW;
END;
$$
"""
CONTENT_HASH_TRIGGER = """
CREATE TRIGGER post_contents_key_is_its_hash BEFORE INSERT OR UPDATE ON post_contents
FOR EACH ROW EXECUTE FUNCTION post_contents_key_is_its_hash()
"""

FUNCTIONS = (
    "audit_append(bytea[], text[], timestamptz)",
    "audit_add_checkpoint(bigint, text, text, bytea, timestamptz, text, text)",
)


def _migration_0008():
    path = Path(__file__).with_name("0008_audit_chained_at_commit.py")
    spec = importlib.util.spec_from_file_location("migration_0008", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade():
    op.create_index("ix_audit_facets_seq", "audit_facets", ["seq"])
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.execute(sa.text("SELECT quote_ident(current_schema())")).scalar_one()
    op.execute(APPEND.replace("{schema}", schema))
    op.execute(ADD_CHECKPOINT.replace("{schema}", schema))
    op.execute(CHAIN_STAGED.replace("{schema}", schema))
    for function in FUNCTIONS:
        # Functions are executable by PUBLIC by default: only the roles the README's grants
        # name may call these.
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
    op.execute(CONTENT_HASH)
    op.execute(CONTENT_HASH_TRIGGER)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS post_contents_key_is_its_hash ON post_contents")
        op.execute("DROP FUNCTION IF EXISTS post_contents_key_is_its_hash()")
        op.execute("DROP TRIGGER IF EXISTS audit_staged_chain_at_commit ON audit_staged")
        op.execute("DROP FUNCTION IF EXISTS audit_chain_staged()")
        migration_0008 = _migration_0008()
        op.execute(migration_0008.PG_FUNCTION)
        op.execute(migration_0008.PG_TRIGGER)
        for function in FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.drop_index("ix_audit_facets_seq", "audit_facets")

"""The hash-chained audit log (issue 3) that the publish log (issue 8) builds its tree on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db
from gateway.models.base import UTCDateTime


class AuditEntry(db.Model):
    """One leaf of the log. ``leaf`` holds the exact canonical bytes that were hashed."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    time: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(60))
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)
    leaf: Mapped[bytes] = mapped_column(LargeBinary)


class AuditHead(db.Model):
    """One row: the last sequence number and hash. Updating it first serialises writers."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    last_hash: Mapped[str] = mapped_column(String(64))
    last_time: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PostContent(db.Model):
    """Post contents by hash: leaves hold the hash, auditors get the content beside them."""

    __tablename__ = "post_contents"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class AuditStaged(db.Model):
    """An entry asked for in a transaction on PostgreSQL, waiting for that transaction's commit.

    Rows live only inside their own transaction: a deferred trigger (migration 0008) chains
    each one onto the log at commit, inserting its ``audit_entries`` and ``audit_facets`` rows
    and moving the head, then deletes it. ``leaf_head`` is the leaf's canonical JSON up to
    ``"prev":`` (every field that sorts before the head's three); ``facets`` is a JSON array
    of [name, value] pairs; ``at`` the writer's clock (the entry's time, unless the previous
    entry's is later).
    """

    __tablename__ = "audit_staged"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    actor_id: Mapped[int | None] = mapped_column()
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(60))
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    leaf_head: Mapped[bytes] = mapped_column(LargeBinary)
    facets: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())

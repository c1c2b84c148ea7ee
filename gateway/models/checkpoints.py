"""Signed checkpoints of the publish log and the filter index beside it (issue #8)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db
from gateway.models.audit import AuditEntry
from gateway.models.base import UTCDateTime, utcnow

_SEQ = BigInteger().with_variant(Integer, "sqlite")


class LogCheckpoint(db.Model):
    """One signed tree head. ``note`` is the exact C2SP signed note that was handed out.

    Only the public half of the key is ever derivable from a row: the private key lives in the
    file GATEWAY_LOG_SIGNING_KEY names, so someone who can only write to the database cannot
    sign a checkpoint over a history they rewrote.
    """

    __tablename__ = "log_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(_SEQ, index=True)
    root_hash: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(200))
    note: Mapped[bytes] = mapped_column(LargeBinary)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The RFC 9162 compact range of the tree at ``size`` (hex hashes of its perfect subtrees,
    #: left to right), so the next checkpoint hashes only the entries written since.
    frontier: Mapped[str] = mapped_column(Text)
    #: The hash of entry ``size - 1``, which entry ``size`` must link to.
    last_entry_hash: Mapped[str] = mapped_column(String(64))


class AuditFacet(db.Model):
    """One filter value of one entry (see :mod:`gateway.audit.facets`)."""

    __tablename__ = "audit_facets"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(120), primary_key=True)
    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=False)


# Keyset pages filtered by action or officer walk these backwards from a seq (the audit
# pages order by seq, newest first), instead of sorting every matching row.
Index("ix_audit_entries_action_seq", AuditEntry.action, AuditEntry.seq)
Index("ix_audit_entries_actor_id_seq", AuditEntry.actor_id, AuditEntry.seq)
# ``gateway audit verify`` reads the facet rows of each batch of entries by a range of seq.
Index("ix_audit_facets_seq", AuditFacet.seq)

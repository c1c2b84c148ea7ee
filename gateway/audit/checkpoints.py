"""Signing checkpoints of the publish log in the database, and the sweep that does it.

A checkpoint is a C2SP tlog-checkpoint (origin, tree size, RFC 9162 root) in a C2SP signed
note, Ed25519 (issue #8). Signing is incremental: each stored checkpoint keeps the tree's
compact range at its size, so the next one hashes only the entries written since. That also
means a checkpoint never re-blesses history rewritten under an older one: the new root is built
on the old, signed state, and the rewritten rows then fail ``gateway audit verify``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask, current_app
from sqlalchemy import func, select, text

from gateway import settings
from gateway.extensions import db
from gateway.models import AuditEntry, AuditHead, LogCheckpoint
from gateway.models.base import utcnow
from gateway.settings import EMBEDDED, PRODUCTION, SettingsError
from gateway.transparency.checkpoint import (
    Checkpoint,
    CheckpointError,
    SigningKeyError,
    generate_signing_key,
    load_signing_key,
    open_checkpoint,
    sign_checkpoint,
    verifier_for,
)
from gateway.transparency.leaf import GENESIS_PREV, entry_hash
from gateway.transparency.merkle import RootBuilder
from gateway.transparency.note import NoteVerifier

log = logging.getLogger(__name__)

#: GATEWAY_CHECKPOINT_MINUTES and GATEWAY_CHECKPOINT_DIR are read in gateway.settings.
DEFAULT_CHECKPOINT_MINUTES = settings.DEFAULT_CHECKPOINT_MINUTES
#: Leaves are read in batches by seq, so a million-entry log never sits in memory at once.
LEAF_BATCH = 5000
#: Checkpoints written to GATEWAY_CHECKPOINT_DIR are named by size, zero-padded so they sort.
CHECKPOINT_FILE_FORMAT = "checkpoint-{size:012d}"


class CheckpointSigningError(RuntimeError):
    """The log cannot be signed: its entries do not chain on from the last checkpoint."""


def init_app(app: Flask) -> None:
    """In production, refuse to start without a usable signing key."""
    if app.config.get("GATEWAY_ENV") == PRODUCTION:
        try:
            load_signing_key(app.config["LOG_SIGNING_KEY_PATH"])
        except SigningKeyError as exc:
            # One line naming the setting (the CLI prints SettingsError without a traceback).
            raise SettingsError(
                f"GATEWAY_LOG_SIGNING_KEY: {exc} (make one with: gateway audit keygen --out PATH)."
            ) from None


def signing_key(app: Flask | None = None) -> Ed25519PrivateKey:
    """The log's private key. The embedded default makes one in the instance folder the first
    time (mode 0600); elsewhere a missing file is an error, never a silent new key."""
    app = app or current_app
    path = Path(app.config["LOG_SIGNING_KEY_PATH"])
    if not path.exists() and app.config.get("GATEWAY_ENV", EMBEDDED) == EMBEDDED:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            return generate_signing_key(path)
        except SigningKeyError:
            pass  # another process made it first: read theirs
    return load_signing_key(path)


def log_verifier(app: Flask | None = None) -> NoteVerifier:
    """The signed-note verifier key auditors are given (public half only)."""
    app = app or current_app
    return verifier_for(signing_key(app), app.config["LOG_ORIGIN"])


def latest_checkpoint() -> LogCheckpoint | None:
    """The stored checkpoint of the largest tree (the newest of equals)."""
    return db.session.scalars(
        select(LogCheckpoint).order_by(LogCheckpoint.size.desc(), LogCheckpoint.id.desc()).limit(1)
    ).first()


def log_size() -> int:
    """How many entries the log holds, from the head row writers update."""
    head = db.session.get(AuditHead, 1)
    return 0 if head is None else head.last_seq + 1


def iter_leaves(start: int = 0, stop: int | None = None) -> Iterator[bytes]:
    """The leaf bytes of entries ``start <= seq < stop`` in order, read in batches."""
    last = start - 1
    while True:
        stmt = select(AuditEntry.seq, AuditEntry.leaf).where(AuditEntry.seq > last)
        if stop is not None:
            stmt = stmt.where(AuditEntry.seq < stop)
        rows = db.session.execute(stmt.order_by(AuditEntry.seq).limit(LEAF_BATCH)).all()
        if not rows:
            return
        for _, leaf in rows:
            yield bytes(leaf)
        last = rows[-1][0]


def _builder_from(row: LogCheckpoint | None) -> tuple[RootBuilder, str]:
    builder = RootBuilder()
    if row is None:
        return builder, GENESIS_PREV
    # RootBuilder keeps the compact range in ``_stack`` (one hash per set bit of the size);
    # restoring it resumes the tree exactly where the stored checkpoint left it.
    builder._stack = [bytes.fromhex(h) for h in json.loads(row.frontier)]
    builder.size = row.size
    return builder, row.last_entry_hash


@dataclass(frozen=True)
class Signed:
    """A checkpoint just signed and stored."""

    row: LogCheckpoint
    checkpoint: Checkpoint
    note: bytes
    new: bool


def sign_now(app: Flask | None = None) -> Signed:
    """Sign a checkpoint of every committed entry and store it (the caller commits).

    When nothing was written since the latest checkpoint it is returned unchanged (``new`` is
    False): a second identical note adds nothing.
    """
    app = app or current_app
    key = signing_key(app)
    origin = app.config["LOG_ORIGIN"]
    latest = latest_checkpoint()
    head = db.session.get(AuditHead, 1)
    size, head_hash = (0, GENESIS_PREV) if head is None else (head.last_seq + 1, head.last_hash)
    if latest is not None and latest.size >= size and latest.origin == origin:
        cp = Checkpoint(origin, latest.size, bytes.fromhex(latest.root_hash))
        return Signed(latest, cp, bytes(latest.note), False)
    if latest is not None and latest.origin != origin:
        latest = None  # a new origin is a new log: its tree is built from entry 0
    builder, prev = _builder_from(latest)
    for leaf in iter_leaves(builder.size, size):
        # Never sign over a broken chain: that would bless an edit made in the database.
        if json.loads(leaf).get("prev") != prev:
            raise CheckpointSigningError(
                f"entry {builder.size} does not link to the entry before it: run "
                "`gateway audit verify`; no checkpoint was signed"
            )
        builder.append_leaf(leaf)
        prev = entry_hash(leaf)
    if builder.size == size and prev != head_hash:
        # The last entry has no successor whose "prev" vouches for it: the head row does.
        raise CheckpointSigningError(
            f"entry {size - 1} does not hash to what the head row recorded when it was "
            "written: run `gateway audit verify`; no checkpoint was signed"
        )
    if builder.size != size:
        raise CheckpointSigningError(
            f"the log's head says {size} entries but {builder.size} were found; no checkpoint "
            "was signed"
        )
    cp = Checkpoint(origin, size, builder.root())
    note = sign_checkpoint(cp, key)
    columns = {
        "size": size,
        "root_hash": cp.root_hash.hex(),
        "origin": origin,
        "note": note,
        "signed_at": utcnow(),
        "frontier": json.dumps([h.hex() for h in builder._stack]),
        "last_entry_hash": prev,
    }
    if db.session.get_bind().dialect.name == "postgresql":
        # The application's role may not insert checkpoints (README, "grants"): this function,
        # run as the log's owner, stores one only if its size, root and compact range are the
        # log's own (migration 0011).
        db.session.flush()
        row_id = db.session.execute(_ADD_CHECKPOINT, columns).scalar_one()
        row = db.session.get_one(LogCheckpoint, row_id)
    else:
        row = LogCheckpoint(**columns)
        db.session.add(row)
        db.session.flush()
    return Signed(row, cp, note, True)


_ADD_CHECKPOINT = text(
    "SELECT audit_add_checkpoint(:size, :root_hash, :origin, :note, :signed_at, :frontier, "
    ":last_entry_hash)"
)


def open_stored(row: LogCheckpoint, verifier: NoteVerifier) -> Checkpoint:
    """Check a stored checkpoint's signature and that its columns say what it signs."""
    checkpoint = open_checkpoint(bytes(row.note), verifier)
    if checkpoint.size != row.size or checkpoint.root_hash.hex() != row.root_hash:
        raise CheckpointError("its size or root column differs from the note it stores")
    return checkpoint


def due(now: datetime | None = None, app: Flask | None = None) -> bool:
    """Whether the log grew since the latest checkpoint and it is older than the interval."""
    app = app or current_app
    latest = latest_checkpoint()
    if log_size() == (latest.size if latest else 0):
        return False
    if latest is None:
        return True
    interval = timedelta(minutes=app.config.get("CHECKPOINT_MINUTES", DEFAULT_CHECKPOINT_MINUTES))
    return (now or utcnow()) - latest.signed_at >= interval


def publish_checkpoint(signed: Signed, app: Flask | None = None) -> None:
    """Hand a new checkpoint to places the server's operators do not control (issue #8): a
    folder an auditor keeps (GATEWAY_CHECKPOINT_DIR) and the monitoring officers' email."""
    app = app or current_app
    folder = app.config.get("CHECKPOINT_DIR")
    if folder:
        path = Path(folder) / CHECKPOINT_FILE_FORMAT.format(size=signed.checkpoint.size)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(signed.note)
        except OSError as exc:
            log.warning("could not write checkpoint to %s: %s", path, exc.strerror)
    _email_monitoring_officers(signed)


def _email_monitoring_officers(signed: Signed) -> int:
    try:
        from gateway.notifications.mail import Email, send
    except ImportError:  # pragma: no cover - the mail module is optional
        return 0
    from gateway.domain.roles import Role
    from gateway.models import User, UserRole

    to = tuple(
        db.session.scalars(
            select(User.email)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.MONITORING_OFFICER.value, User.active.is_(True))
            .distinct()
        )
    )
    body = (
        "The publishing gateway signed a new checkpoint of its publish log. Keep this email: "
        "an auditor can check a later export against it with\n"
        "  gateway-verify EXPORT_DIR --previous SAVED_CHECKPOINT\n\n"
        "Save everything between the lines below, exactly, as SAVED_CHECKPOINT.\n"
        "-----\n" + signed.note.decode("utf-8") + "-----\n"
    )
    return send(Email(to, f"Publish log checkpoint: {signed.checkpoint.size} entries", body))


def checkpoint_sweep(app: Flask) -> str | None:
    """The scheduler's sweep (in its app context): sign, store and hand out a checkpoint when
    the log grew and the latest is older than GATEWAY_CHECKPOINT_MINUTES."""
    try:
        if not due(app=app):
            return None
        signed = sign_now(app)
        db.session.commit()
    except CheckpointSigningError as exc:
        db.session.rollback()
        log.error("publish log checkpoint not signed: %s", exc)
        return f"not signed: {exc}"
    if signed.new:
        publish_checkpoint(signed, app)
    return f"signed checkpoint of {signed.checkpoint.size} entries"


def count_checkpoints() -> int:
    return db.session.scalar(select(func.count()).select_from(LogCheckpoint)) or 0

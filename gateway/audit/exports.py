"""Exports of the publish log from the database, against a stored, signed checkpoint.

An export is written against a checkpoint the gateway already signed and stored: Ed25519 is
deterministic, so re-signing the same checkpoint text gives byte for byte the note that was
stored (and perhaps emailed to the monitoring officer), and the export needs no new signature.
If the database's leaves no longer hash to that checkpoint's root, the export is refused: the
log was changed under a signed checkpoint (``gateway audit verify`` says where).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select

from gateway.audit.checkpoints import iter_leaves, signing_key
from gateway.audit.query import AuditFilter, matching_seqs
from gateway.extensions import db
from gateway.models import LogCheckpoint, PostContent
from gateway.transparency.export import (
    ExportError,
    ExportSummary,
    write_csv,
    write_export,
    write_filtered_export,
)

#: Older tree sizes a filtered export proves consistency from (the latest checkpoints an
#: auditor may hold); more add little, each is a few hundred bytes.
CONSISTENCY_CHECKPOINTS = 20


def content_lookup(digest: str) -> Any:
    """A post content by hash, as stored (its canonical JSON parsed)."""
    row = db.session.get(PostContent, digest)
    return None if row is None else json.loads(bytes(row.content))


def _check_root(summary: ExportSummary, row: LogCheckpoint) -> ExportSummary:
    if summary.checkpoint.root_hash.hex() != row.root_hash:
        raise ExportError(
            f"the first {row.size} entries in the database do not hash to the signed "
            "checkpoint's root: the log was changed under it (run `gateway audit verify`)"
        )
    return summary


def export_whole(
    out_dir: str | os.PathLike[str], row: LogCheckpoint, app: Flask | None = None
) -> ExportSummary:
    """The whole log up to ``row``'s size: entries.jsonl, checkpoint, verifier-key and
    contents.jsonl, exactly the files issue #8 lists."""
    app = app or current_app
    summary = write_export(
        out_dir,
        iter_leaves(0, row.size),
        content_lookup,
        private_key=signing_key(app),
        origin=row.origin,
    )
    return _check_root(summary, row)


def export_filtered(
    out_dir: str | os.PathLike[str],
    f: AuditFilter,
    row: LogCheckpoint,
    app: Flask | None = None,
) -> ExportSummary:
    """The entries matching ``f`` (up to ``row``'s size) with their RFC 9162 inclusion proofs
    against ``row``, consistency proofs from older stored checkpoints, and entries.csv."""
    app = app or current_app
    older = db.session.scalars(
        select(LogCheckpoint.size)
        .where(LogCheckpoint.size < row.size, LogCheckpoint.origin == row.origin)
        .order_by(LogCheckpoint.size.desc())
        .limit(CONSISTENCY_CHECKPOINTS)
    ).all()
    summary = write_filtered_export(
        out_dir,
        iter_leaves(0, row.size),
        matching_seqs(f, row.size),
        content_lookup,
        private_key=signing_key(app),
        origin=row.origin,
        consistency_from=older,
    )
    return _check_root(summary, row)


def zip_folder(folder: Path, stream: io.BufferedIOBase, *, prefix: str) -> None:
    """Write every file of ``folder`` into a zip under ``prefix/`` (what the browser saves)."""
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"{prefix}/{path.name}")


def export_zip(f: AuditFilter, row: LogCheckpoint, app: Flask | None = None) -> io.BytesIO:
    """The zip of a whole or filtered export, in memory.

    In memory rather than a spooled file: a response nobody reads to the end must not leave an
    open file behind. Deflate shrinks leaves about fivefold; exports of millions of entries are
    the CLI's job (``gateway audit export``), which writes straight to a folder.
    """
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="gateway-export-") as tmp:
        folder = Path(tmp) / "export"
        if f.is_empty():
            export_whole(folder, row, app)
        else:
            export_filtered(folder, f, row, app)
        zip_folder(folder, buffer, prefix=f"publish-log-{row.size}")
    buffer.seek(0)
    return buffer


def signed_export(f: AuditFilter, app: Flask | None = None) -> tuple[io.BytesIO, LogCheckpoint]:
    """The zip of what the auditors' page lists now, for the page and the API (issue 17).

    Written against a checkpoint signed now, not the last one the sweep signed (issue 22: a
    zip held 47 of the page's 87 entries). Signing adds a tree head and changes no entry; when
    nothing was written since the latest checkpoint, that one is used as it is. Refused with
    an ExportError when no checkpoint can be signed or the log does not hash to it."""
    from gateway.audit import checkpoints

    try:
        signed = checkpoints.sign_now(app)
        db.session.commit()
    except checkpoints.CheckpointSigningError as exc:
        db.session.rollback()
        raise ExportError(str(exc)) from None
    if signed.new:
        checkpoints.publish_checkpoint(signed, app)
    return export_zip(f, signed.row, app), signed.row


def export_name(f: AuditFilter, row: LogCheckpoint, today: str) -> str:
    kind = "whole" if f.is_empty() else "filtered"
    return f"publish-log-{kind}-{row.size}-{today}.zip"


def csv_of(f: AuditFilter, stop: int) -> str:
    """The CSV of the matching entries below ``stop`` (formula cells neutralised)."""
    from gateway.models import AuditEntry

    out = io.StringIO(newline="")

    def leaves() -> Any:
        seqs = list(matching_seqs(f, stop))
        for start in range(0, len(seqs), 1000):
            chunk = seqs[start : start + 1000]
            rows = db.session.scalars(
                select(AuditEntry.leaf).where(AuditEntry.seq.in_(chunk)).order_by(AuditEntry.seq)
            )
            yield from (bytes(leaf) for leaf in rows)

    write_csv(out, leaves())
    return out.getvalue()

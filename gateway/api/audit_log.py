"""The publish log's signed checkpoints and exports in the JSON API (issue 17), as the
auditors' pages give them (gateway.auditor.views): for auditors and monitoring officers, with
the same functions (gateway.audit.checkpoints, gateway.audit.exports.signed_export), so an
export from here is the page's zip, and ``gateway-verify`` checks it offline."""

from __future__ import annotations

from datetime import date, datetime

from flask import abort, current_app, request, url_for
from pydantic import BaseModel, Field
from sqlalchemy import select

from gateway.api import problems, schemas
from gateway.api.auth import reads_only
from gateway.api.scopes import needs
from gateway.api.spec import api, responses
from gateway.api.views import AUDIT, Idempotent, audit_filter, bp
from gateway.audit import checkpoints
from gateway.audit.exports import export_name, signed_export
from gateway.auditor.views import READERS
from gateway.extensions import db
from gateway.models import LogCheckpoint
from gateway.security import requires
from gateway.transparency.export import ExportError

#: Checkpoints per page, by default and at most.
CHECKPOINT_PAGE = 20
MAX_CHECKPOINT_PAGE = 100


class CheckpointQuery(schemas._In):
    cursor: str | None = Field(
        None, pattern=r"^[0-9]{1,10}$", description="next_cursor of the last page"
    )
    limit: int = Field(CHECKPOINT_PAGE, ge=1, le=MAX_CHECKPOINT_PAGE)


class CheckpointOut(BaseModel):
    id: int
    size: int = Field(description="How many entries it covers (entries 0 to size - 1).")
    origin: str
    root_hash: str = Field(description="The RFC 9162 Merkle tree head, hex.")
    signed_at: datetime
    note: str = Field(
        description="The C2SP signed note, exactly as handed out: give it to gateway-verify "
        "with --previous to check that a later export extends it."
    )
    verifier_key: str = Field(description="The key that checks its signature (public half).")


class CheckpointPage(BaseModel):
    items: list[CheckpointOut]
    log_size: int = Field(description="How many entries the log holds now.")
    next_cursor: str | None = Field(description="Pass as cursor for older checkpoints.")


def _out(row: LogCheckpoint, key: str) -> CheckpointOut:
    return CheckpointOut(
        id=row.id,
        size=row.size,
        origin=row.origin,
        root_hash=row.root_hash,
        signed_at=row.signed_at,
        note=bytes(row.note).decode("utf-8"),
        verifier_key=key,
    )


def _key() -> str:
    return checkpoints.log_verifier().key_string()


@bp.get("/audit/checkpoints")
@needs("audit:read")
@requires(*READERS)
@api.validate(
    query=CheckpointQuery,
    resp=responses(200, CheckpointPage),
    tags=[AUDIT],
    operation_id="listCheckpoints",
)
def checkpoint_list():
    """The signed checkpoints, newest first."""
    query: CheckpointQuery = request.context.query
    statement = select(LogCheckpoint).order_by(LogCheckpoint.id.desc()).limit(query.limit + 1)
    before = schemas.id_cursor(query.cursor)
    if before is not None:
        statement = statement.where(LogCheckpoint.id < before)
    rows = list(db.session.scalars(statement))
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    key = _key()
    return CheckpointPage(
        items=[_out(r, key) for r in rows],
        log_size=checkpoints.log_size(),
        next_cursor=str(rows[-1].id) if more and rows else None,
    )


@bp.get("/audit/checkpoints/latest")
@needs("audit:read")
@requires(*READERS)
@api.validate(
    resp=responses(200, CheckpointOut, 404), tags=[AUDIT], operation_id="readLatestCheckpoint"
)
def checkpoint_latest():
    """The checkpoint of the largest tree, as the checkpoint page shows it."""
    row = checkpoints.latest_checkpoint()
    if row is None:
        return problems.problem(404, "No checkpoint has been signed yet.")
    return _out(row, _key())


@bp.get("/audit/checkpoints/<int:checkpoint_id>")
@needs("audit:read")
@requires(*READERS)
@api.validate(resp=responses(200, CheckpointOut, 404), tags=[AUDIT], operation_id="readCheckpoint")
def checkpoint_read(checkpoint_id: int):
    """One signed checkpoint."""
    row = db.session.get(LogCheckpoint, checkpoint_id) if checkpoint_id <= schemas.MAX_ID else None
    if row is None:
        abort(problems.problem(404, f"There is no checkpoint {checkpoint_id}."))
    return _out(row, _key())


@bp.post("/audit/checkpoints")
@needs("audit:read")
@reads_only
@requires(*READERS)
@api.validate(
    headers=Idempotent,
    resp=responses(201, CheckpointOut, 409, also=(200,)),
    tags=[AUDIT],
    operation_id="signCheckpoint",
)
def checkpoint_sign():
    """Sign a checkpoint of every entry now, as "Sign a checkpoint now" on the checkpoint page:
    it adds a tree head and changes no entry, so a read-only token may ask. When nothing was
    written since the latest checkpoint, that one is the answer (200), not a new one (201)."""
    try:
        signed = checkpoints.sign_now()
        db.session.commit()
    except checkpoints.CheckpointSigningError as exc:
        db.session.rollback()
        return problems.problem(409, f"No checkpoint was signed: {exc}", slug="log-check")
    if not signed.new:
        return _out(signed.row, _key()), 200, {}
    checkpoints.publish_checkpoint(signed)
    location = url_for("api.checkpoint_read", checkpoint_id=signed.row.id)
    return _out(signed.row, _key()), 201, {"Location": location}


@bp.get("/audit/export")
@needs("audit:read")
@requires(*READERS)
@api.validate(
    query=schemas.AuditFilterQuery,
    resp=responses(200, None, 409),
    tags=[AUDIT],
    operation_id="downloadAuditExport",
)
def audit_export():
    """A zip of the log, as the auditors' page's "Export" gives it: with no filter, the whole
    log (entries.jsonl, checkpoint, verifier-key, contents.jsonl); with filters, the matching
    entries with their inclusion proofs (inclusion.jsonl, entries.csv). It is written against
    a checkpoint signed now, and ``gateway-verify`` checks it offline once unzipped."""
    f = audit_filter(request.context.query)
    try:
        archive, row = signed_export(f)
    except ExportError as exc:
        return problems.problem(409, f"No export was made: {exc}", slug="log-check")
    # Bytes, not send_file: spectree reads the answer to check it, which a passthrough file
    # does not allow; the zip is in memory already (gateway.audit.exports.export_zip).
    name = export_name(f, row, date.today().isoformat())
    return current_app.response_class(
        archive.getvalue(),
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )

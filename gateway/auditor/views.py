"""The auditors' pages: filter and page through the log, a post's whole history, one entry,
the latest checkpoint, the whole check, and exports (issue #8).

Every page is a GET that changes nothing, except signing a checkpoint now (a POST with its
CSRF token), which adds a signed tree head and never touches an entry.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy import select

from gateway.audit import checkpoints
from gateway.audit.check import check_database
from gateway.audit.exports import csv_of, export_name, signed_export
from gateway.audit.query import AuditFilter, page, post_history
from gateway.auditor.forms import AuditFilterForm
from gateway.converters import MAX_BIG_ID
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import AuditEntry, Channel, User
from gateway.security import requires
from gateway.transparency.export import ExportError

bp = Blueprint("auditor", __name__, url_prefix="/audit")

#: The auditor and the monitoring officer read the log; nobody changes it here (issue #8).
READERS = (Role.AUDITOR, Role.MONITORING_OFFICER)
CURSOR_ARGS = ("before", "after")


def _filter_form() -> AuditFilterForm:
    form = AuditFilterForm(request.args)
    channels = db.session.execute(
        select(Channel.id, Channel.display_name, Channel.platform).order_by(Channel.display_name)
    ).all()
    officers = db.session.execute(select(User.id, User.email).order_by(User.email)).all()
    form.set_choices(
        [(c.id, f"{c.display_name} ({c.platform})") for c in channels],
        [(u.id, u.email) for u in officers],
    )
    return form


def _filter_args() -> dict[str, list[str]]:
    """The filter's query arguments as they came (without the page cursor), for links."""
    args = request.args.to_dict(flat=False)
    for name in CURSOR_ARGS:
        args.pop(name, None)
    return args


def _cursor(name: str) -> int | None:
    raw = request.args.get(name, "")
    if not raw:
        return None
    # A sequence number fits PostgreSQL's bigint: a longer one is no entry (issue #20).
    if not raw.isdigit() or len(raw) > len(str(MAX_BIG_ID)) or int(raw) > MAX_BIG_ID:
        abort(400)
    return int(raw)


@bp.get("/")
@requires(*READERS)
def entries() -> Any:
    form = _filter_form()
    if not form.validate():
        return render_template("audit/entries.html", form=form, page=None, args={}), 400
    result = page(form.to_filter(), before=_cursor("before"), after=_cursor("after"))
    return render_template("audit/entries.html", form=form, page=result, args=_filter_args())


@bp.get("/posts/<int:post_id>")
@requires(*READERS)
def post(post_id: int) -> Any:
    return render_template(
        "audit/post.html", post_id=post_id, entries=post_history(post_id), args={}
    )


@bp.get("/entries/<bigint:seq>")
@requires(*READERS)
def entry(seq: int) -> Any:
    row = db.session.get(AuditEntry, seq)
    if row is None:
        abort(404)
    return render_template(
        "audit/entry.html",
        seq=seq,
        leaf=bytes(row.leaf).decode("utf-8", errors="replace"),
        entry_hash=row.entry_hash,
        pretty=json.dumps(json.loads(bytes(row.leaf)), indent=2, ensure_ascii=False),
    )


@bp.get("/checkpoint")
@requires(*READERS)
def checkpoint() -> Any:
    latest = checkpoints.latest_checkpoint()
    return render_template(
        "audit/checkpoint.html",
        latest=latest,
        note=bytes(latest.note).decode("utf-8") if latest else None,
        verifier_key=checkpoints.log_verifier().key_string(),
        size=checkpoints.log_size(),
        count=checkpoints.count_checkpoints(),
    )


@bp.post("/checkpoint")
@requires(*READERS)
def sign_checkpoint() -> Any:
    # Signing adds a tree head; it changes no entry, so the read-only roles may ask for it.
    try:
        signed = checkpoints.sign_now()
        db.session.commit()
    except checkpoints.CheckpointSigningError as exc:
        db.session.rollback()
        flash(f"No checkpoint was signed: {exc}")
        return redirect(url_for("auditor.checkpoint"))
    if signed.new:
        checkpoints.publish_checkpoint(signed)
        flash(f"Signed a checkpoint of {signed.checkpoint.size} entries.")
    else:
        flash("Nothing was written since the latest checkpoint: it still covers the whole log.")
    return redirect(url_for("auditor.checkpoint"))


@bp.get("/verify")
@requires(*READERS)
def verify() -> Any:
    # The whole check reads every entry (seconds for a million): it runs only when asked.
    result = check_database()
    return render_template("audit/verify.html", result=result), 200 if result.ok else 409


def _export_filter() -> AuditFilter | None:
    form = _filter_form()
    return form.to_filter() if form.validate() else None


@bp.get("/export.zip")
@requires(*READERS)
def export() -> Any:
    f = _export_filter()
    if f is None:
        abort(400)
    try:
        archive, latest = signed_export(f)
    except ExportError as exc:
        return render_template("audit/export_failed.html", reason=str(exc)), 409
    return send_file(
        archive,
        mimetype="application/zip",
        as_attachment=True,
        download_name=export_name(f, latest, date.today().isoformat()),
    )


@bp.get("/export.csv")
@requires(*READERS)
def export_csv() -> Any:
    f = _export_filter()
    if f is None:
        abort(400)
    body = csv_of(f, checkpoints.log_size())
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="publish-log-{date.today()}.csv"'},
    )


#: Payload values longer than this are cut on the list pages (the entry page shows them all).
DETAIL_CHARS = 200


@bp.app_template_global("audit_details")
def audit_details(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """A payload as (name, text) pairs for the tables; verdicts list their rules."""
    details: list[tuple[str, str]] = []
    for name, value in sorted(payload.items()):
        if name == "findings":
            items = value.values() if isinstance(value, dict) else [value]
            rules = sorted(
                {
                    f"{f.get('rule')} ({f.get('outcome')})"
                    for group in items
                    if isinstance(group, list)
                    for f in group
                    if isinstance(f, dict)
                }
            )
            details.append(("rules", ", ".join(rules) or "none"))
            continue
        if value is None or value == "" or value == [] or value == {}:
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if len(text) > DETAIL_CHARS:
            text = text[: DETAIL_CHARS - 1] + "…"
        details.append((name.replace("_", " "), text))
    return details

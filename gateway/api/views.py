"""The posts resource of the JSON API (issue 17): create, read, list, edit, submit, approve,
reject and cancel, and the guardrail check of a text that is not saved.

Each operation calls the same post service functions as the officers' pages, behind the same
role decorator with the same roles (gateway.posts.permissions), so the two cannot disagree;
this module only turns their answers and their PostErrors into JSON and problem details.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy import select

from gateway import notifications as notify
from gateway.api import idempotency, problems, schemas
from gateway.api.auth import reads_only
from gateway.api.scopes import needs
from gateway.api.spec import api, document, responses
from gateway.audit.query import AuditFilter
from gateway.audit.query import page as audit_page
from gateway.auditor.views import READERS as AUDIT_READERS
from gateway.converters import MAX_BIG_ID
from gateway.domain.guardrails import Finding, Outcome
from gateway.domain.guardrails.engine import shown_once
from gateway.extensions import db
from gateway.models import Post
from gateway.models.base import utcnow
from gateway.posts import emergency, live, permissions, service
from gateway.posts.service import PostError
from gateway.security import public, requires, signed_in

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(idempotency.begin)
bp.after_request(idempotency.finish)

#: Service fields (the form's names) as pointers into the API's bodies.
POINTERS = {
    "alt_text": "/alt_text",
    "alt_text_cy": "/alt_text_cy",
    "text": "/text",
    "text_cy": "/text_cy",
    "channels": "/channel_ids",
    "scheduled_at": "/scheduled_at",
    "reason": "/reason",
    "images": "/images",
}
POSTS = "Posts"
AUDIT = "Publish log"
EMERGENCY = "Emergency posts"
GUARDRAILS = "Guardrails"


class IfMatch(BaseModel):
    if_match: str | None = Field(
        None,
        alias="If-Match",
        max_length=200,
        description="The post's ETag as read: a change is refused with 412 if it has changed.",
    )


class Idempotent(BaseModel):
    idempotency_key: str | None = Field(
        None,
        alias="Idempotency-Key",
        max_length=255,
        description="Any unique value, such as a UUID: sent again with the same request within "
        "24 hours, it gets the first answer again and nothing is done twice.",
    )


class IdempotentIfMatch(IfMatch, Idempotent):
    pass


# --- The document and its page --------------------------------------------------------------


@bp.get("/openapi.json")
@public
def openapi():
    return document()


@bp.get("/docs")
@public
def docs():
    """The API reference as a page of this site (no script: the pages' CSP allows none from
    elsewhere), read from the same document."""
    return render_template("api/docs.html", spec=document(), problem_titles=problems.TITLES)


# --- Shapes out -------------------------------------------------------------------------------


def etag_of(post: Post) -> str:
    return f'"post-{post.id}-v{post.version}"'


def _finding(f: Finding, channels: list[int] | None = None) -> dict:
    out = f.as_dict()
    out["channel_ids"] = sorted(channels or [])
    return out


def _findings(post: Post) -> list[dict]:
    try:
        findings, channels = live.findings_shown(post)
    except PostError:
        return []
    return [_finding(f, channels.get(f)) for f in findings]


def post_out(post: Post) -> schemas.PostOut:
    try:
        shown, channels = live.findings_shown(post)
    except PostError:
        shown, channels = [], {}
    return schemas.PostOut(
        id=post.id,
        status=post.status,
        text=post.text,
        text_cy=post.text_cy,
        author_id=post.author_id,
        holder_id=post.current_holder_id,
        scheduled_at=post.scheduled_at,
        emergency_category=post.emergency_category,
        emergency_release=post.emergency_release,
        version=post.version,
        created_at=post.created_at,
        updated_at=post.updated_at,
        deliveries=[
            schemas.DeliveryOut(
                id=d.id,
                channel_id=d.channel_id,
                channel_name=d.channel.display_name,
                platform=d.channel.platform,
                language=d.language or "",
                status=d.status,
                due_at=d.due_at,
                published_at=d.published_at,
                platform_url=d.platform_url,
                held_reason=d.held_reason,
            )
            for d in sorted(post.deliveries, key=lambda d: (d.channel_id, d.language or ""))
        ],
        images=[image_out(post, i) for i in post.images],
        findings=[schemas.FindingOut(**_finding(f, channels.get(f))) for f in shown],
        actions=schemas.Actions(**permissions.actions_for(post, current_user, shown)),
    )


def image_out(post: Post, image) -> schemas.ImageOut:  # noqa: ANN001
    return schemas.ImageOut(
        id=image.id,
        position=image.position,
        filename=image.filename,
        content_type=image.content_type,
        size_bytes=image.size_bytes,
        width=image.width,
        height=image.height,
        sha256=image.sha256,
        alt_text=image.alt_text,
        alt_text_cy=image.alt_text_cy,
        url=url_for("api.post_image", post_id=post.id, image_id=image.id),
    )


def answer(post: Post, status: int = 200, location: str | None = None):
    headers = {"ETag": etag_of(post)}
    if status == 201:
        headers["Location"] = location or url_for("api.post_read", post_id=post.id)
    return post_out(post), status, headers


_answer = answer


# --- Errors -----------------------------------------------------------------------------------


def post_or_404(post_id: int) -> Post:
    post = db.session.get(Post, post_id) if post_id <= schemas.MAX_ID else None
    if post is None:
        abort(problems.problem(404, f"There is no post {post_id}."))
    return post


def refuse(exc: PostError, post: Post | None = None):
    """A PostError as a problem: a field's error is a 422 naming the field; a refusal by the
    guardrails carries their findings; anything else is the post's state (409)."""
    if exc.field:
        findings = None
        if post is not None and post.id is not None and exc.field == "text":
            found = _findings(post)
            if any(f["outcome"] == Outcome.BLOCK.value for f in found):
                findings = found
        return problems.problem(
            422,
            exc.message,
            slug="guardrails" if findings else "validation",
            errors=[{"pointer": POINTERS.get(exc.field, ""), "detail": exc.message}],
            findings=findings,
        )
    return problems.problem(409, exc.message, slug="post-state")


def forbidden(message: str):
    return problems.problem(403, message, slug="not-allowed")


def check_if_match(post: Post, *, required: bool):
    """None when the request may go on; a 428 or 412 problem otherwise (RFC 9110 13.1.1)."""
    if not request.headers.get("If-Match"):
        if required:
            return problems.problem(
                428,
                "Send the post's ETag as If-Match (read the post first), so a change made by "
                "someone else in between is not overwritten.",
                slug="precondition-required",
            )
        return None
    condition = request.if_match
    if condition.star_tag or condition.contains(etag_of(post).strip('"')):
        return None
    return problems.problem(
        412,
        "The post has changed since you read it (its ETag is now "
        f"{etag_of(post)}). Nothing was saved: read it again, and make your change again if "
        "it is still needed.",
        slug="changed",
        headers={"ETag": etag_of(post)},
    )


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def _future(when: datetime | None):
    if when is not None and when <= utcnow():
        return problems.problem(
            422,
            "The date and time must be in the future: choose a later time.",
            slug="validation",
            errors=[
                {
                    "pointer": "/scheduled_at",
                    "detail": "The date and time must be in the future: choose a later time.",
                }
            ],
        )
    return None


# --- Posts ------------------------------------------------------------------------------------


@bp.post("/posts")
@needs("posts:write")
@requires(*permissions.WRITE)
@api.validate(
    json=schemas.PostCreate,
    headers=Idempotent,
    resp=responses(201, schemas.PostOut, 409),
    tags=[POSTS],
    operation_id="createPost",
)
def post_create():
    """Create a draft post. Submit it for approval with /posts/{post_id}/submit."""
    body: schemas.PostCreate = request.context.json
    when = _utc(body.scheduled_at)
    refused = _future(when)
    if refused is not None:
        return refused
    try:
        post = service.create_draft(
            current_user,
            text=body.text,
            text_cy=body.text_cy,
            channel_ids=body.channel_ids,
            scheduled_at=when,
        )
        db.session.commit()
    except PostError as exc:
        db.session.rollback()
        return refuse(exc)
    return _answer(post, 201)


def _cursor(value: str | None) -> int | None:
    if not value:
        return None
    try:
        decoded = base64.urlsafe_b64decode(value.encode("ascii") + b"==").decode("ascii")
        kind, _, number = decoded.partition(":")
        if kind != "before" or not number.isdigit():
            raise ValueError(value)
        return int(number)
    except (ValueError, UnicodeError, binascii.Error):
        abort(
            problems.problem(
                422,
                "The cursor is not one this API gave: pass next_cursor from the last page.",
                slug="validation",
                errors=[{"pointer": "", "parameter": "cursor", "detail": "Not a cursor."}],
            )
        )


def _next_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"before:{last_id}".encode()).decode("ascii").rstrip("=")


@bp.get("/posts")
@needs("posts:read")
@signed_in
@api.validate(
    query=schemas.PostListQuery,
    resp=responses(200, schemas.PostPage),
    tags=[POSTS],
    operation_id="listPosts",
)
def post_list():
    """Posts, newest first, a page at a time: follow next_cursor until it is null."""
    query: schemas.PostListQuery = request.context.query
    before = _cursor(query.cursor)
    statement = select(Post).order_by(Post.id.desc()).limit(query.limit + 1)
    if query.status:
        statement = statement.where(Post.status == query.status)
    if before is not None:
        statement = statement.where(Post.id < before)
    rows = list(db.session.scalars(statement))
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return schemas.PostPage(
        items=[
            schemas.PostSummary(
                id=p.id,
                status=p.status,
                text=p.text,
                author_id=p.author_id,
                scheduled_at=p.scheduled_at,
                emergency_category=p.emergency_category,
                version=p.version,
                updated_at=p.updated_at,
            )
            for p in rows
        ],
        next_cursor=_next_cursor(rows[-1].id) if more and rows else None,
    )


@bp.get("/posts/<int:post_id>")
@needs("posts:read")
@signed_in
@api.validate(resp=responses(200, schemas.PostOut, 404), tags=[POSTS], operation_id="readPost")
def post_read(post_id: int):
    """A post with its deliveries (and their links on the platforms), its guardrail findings
    and what you may do to it now. Its ETag goes back as If-Match on a change."""
    return _answer(post_or_404(post_id))


@bp.patch("/posts/<int:post_id>")
@needs("posts:write")
@requires(*permissions.WRITE)
@api.validate(
    json=schemas.PostEdit,
    headers=IfMatch,
    resp=responses(200, schemas.PostOut, 404, 409, 412, 428),
    tags=[POSTS],
    operation_id="editPost",
)
def post_edit(post_id: int):
    """Change a post (If-Match required). A submitted or approved post goes back to draft and
    loses its approvals, as on the edit page; the editor then cannot approve it."""
    post = post_or_404(post_id)
    refused = check_if_match(post, required=True)
    if refused is not None:
        return refused
    try:
        service.check_holder(post, current_user, "edit")
    except PostError as exc:
        return forbidden(exc.message)
    body: schemas.PostEdit = request.context.json
    given = body.model_fields_set
    when = _utc(body.scheduled_at) if "scheduled_at" in given else post.scheduled_at
    if "scheduled_at" in given:
        refused = _future(when)
        if refused is not None:
            return refused
    try:
        service.update_post(
            post,
            current_user,
            text=body.text if body.text is not None else post.text,
            text_cy=body.text_cy if body.text_cy is not None else post.text_cy,
            channel_ids=body.channel_ids
            if body.channel_ids is not None
            else list(dict.fromkeys(d.channel_id for d in post.deliveries)),
            scheduled_at=when,
            expected_version=post.version,
        )
        db.session.commit()
    except PostError as exc:
        db.session.rollback()
        return refuse(exc)
    return _answer(post)


def _action_responses(*extra: int):
    return responses(200, schemas.PostOut, 404, 409, 412, *extra)


@bp.post("/posts/<int:post_id>/submit")
@needs("posts:write")
@requires(*permissions.WRITE)
@api.validate(
    headers=IdempotentIfMatch, resp=_action_responses(), tags=[POSTS], operation_id="submitPost"
)
def post_submit(post_id: int):
    """Send a draft for approval by another officer. Refused (422, with the findings) while a
    guardrail blocks it."""
    post = post_or_404(post_id)
    refused = check_if_match(post, required=False)
    if refused is not None:
        return refused
    try:
        service.check_holder(post, current_user, "submit")
    except PostError as exc:
        return forbidden(exc.message)
    try:
        service.submit(post, current_user)
        db.session.commit()
    except PostError as exc:
        db.session.commit()  # keep the guardrails' verdict the service recorded, as the page does
        db.session.refresh(post)
        return refuse(exc, post)
    notify.post_awaits_approval(post)
    return _answer(post)


@bp.post("/posts/<int:post_id>/approve")
@needs("posts:approve")
@requires(*permissions.APPROVE)
@api.validate(
    headers=IdempotentIfMatch, resp=_action_responses(), tags=[POSTS], operation_id="approvePost"
)
def post_approve(post_id: int):
    """Approve another officer's post: it is scheduled. Nobody approves a post they wrote or
    changed (403)."""
    post = post_or_404(post_id)
    refused = check_if_match(post, required=False)
    if refused is not None:
        return refused
    why = service.writers_refusal(post, current_user)
    if why:
        return forbidden(why)
    try:
        service.approve(post, current_user)
        db.session.commit()
    except PostError as exc:
        db.session.rollback()
        return refuse(exc, post_or_404(post_id))
    notify.post_decided(post, approved=True)
    return _answer(post)


@bp.post("/posts/<int:post_id>/reject")
@needs("posts:approve")
@requires(*permissions.APPROVE)
@api.validate(
    json=schemas.Reason,
    headers=IdempotentIfMatch,
    resp=_action_responses(),
    tags=[POSTS],
    operation_id="rejectPost",
)
def post_reject(post_id: int):
    """Reject another officer's post, with the reason its author will read."""
    post = post_or_404(post_id)
    refused = check_if_match(post, required=False)
    if refused is not None:
        return refused
    if service.writers_refusal(post, current_user):
        return forbidden("You cannot reject a post you wrote or changed: edit it or cancel it.")
    body: schemas.Reason = request.context.json
    try:
        service.reject(post, current_user, body.reason)
        db.session.commit()
    except PostError as exc:
        db.session.rollback()
        return refuse(exc)
    notify.post_decided(post, approved=False, reason=body.reason)
    return _answer(post)


@bp.post("/posts/<int:post_id>/cancel")
@needs("posts:write")
@requires(*permissions.WRITE)
@api.validate(
    headers=IdempotentIfMatch, resp=_action_responses(), tags=[POSTS], operation_id="cancelPost"
)
def post_cancel(post_id: int):
    """Cancel a post before it goes out: nothing of it is published. It cannot be undone."""
    post = post_or_404(post_id)
    refused = check_if_match(post, required=False)
    if refused is not None:
        return refused
    try:
        service.cancel(post, current_user)
        db.session.commit()
    except PostError as exc:
        db.session.rollback()
        return refuse(exc)
    return _answer(post)


# --- Emergency posts ---------------------------------------------------------------------


@bp.post("/emergency-posts")
@needs("emergency:send")
@requires(*permissions.EMERGENCY)
@api.validate(
    json=schemas.EmergencyCreate,
    headers=Idempotent,
    resp=responses(201, schemas.PostOut, 409),
    tags=[EMERGENCY],
    operation_id="sendEmergencyPost",
)
def emergency_send():
    """A duty officer's emergency post, as the emergency form sends it: out at once out of
    office hours (no second approval; reviewed the next working day), or in office hours to
    another officer's fast-track approval (see emergency_release). The guardrails that still
    apply (personal data, offensive content, pre-election rules) refuse it with a 422 and
    their findings. Send an Idempotency-Key: a retry must never post a flood warning twice."""
    body: schemas.EmergencyCreate = request.context.json
    args = {"text": body.text, "channel_ids": body.channel_ids, "category": body.category}
    try:
        post = emergency.send(current_user, **args)
        db.session.commit()
    except emergency.EmergencyRefused as exc:
        db.session.rollback()
        return problems.problem(
            422,
            exc.message,
            slug="validation",
            errors=[
                {"pointer": "/channel_ids", "detail": f"Channel {channel_id}: {why}"}
                for channel_id, why in sorted(exc.left_out.items())
            ],
        )
    except emergency.GuardrailsRefused as exc:
        db.session.rollback()
        try:
            found, _skipped = emergency.check(current_user, **args)
        except PostError:
            db.session.rollback()
            found = []
        return problems.problem(
            422,
            exc.message,
            slug="guardrails",
            errors=[{"pointer": "/text", "detail": exc.message}],
            findings=[_finding(f) for f in shown_once(found)],
        )
    except PostError as exc:
        db.session.rollback()
        if exc.field:
            return refuse(exc)
        # The duty officer's hourly limit (gateway.domain.emergency.check_rate).
        return problems.problem(429, exc.message, slug="emergency-limit")
    emergency.announce(post)
    return _answer(post, 201)


# --- The publish log -----------------------------------------------------------------------


def audit_filter(query: schemas.AuditFilterQuery) -> AuditFilter:
    """The auditors' page's filter from the API's query parameters (422 when the dates are
    the wrong way round, as the page refuses them)."""
    if query.date_from and query.date_to and query.date_to < query.date_from:
        abort(
            problems.problem(
                422,
                "date_to must be the same as or after date_from.",
                slug="validation",
                errors=[
                    {
                        "pointer": "",
                        "parameter": "date_to",
                        "detail": "To must be the same as or after From",
                    }
                ],
            )
        )
    return AuditFilter(
        date_from=query.date_from,
        date_to=query.date_to,
        channel_id=query.channel_id,
        officer_id=query.officer_id,
        action=query.action,
        outcome=query.outcome,
        rule=query.rule,
        emergency=query.emergency,
        post_id=query.post_id,
    )


@bp.get("/audit/entries")
@needs("audit:read")
@requires(*AUDIT_READERS)
@api.validate(
    query=schemas.AuditQuery,
    resp=responses(200, schemas.AuditPage),
    tags=[AUDIT],
    operation_id="listAuditEntries",
)
def audit_entries():
    """The publish log, newest first, with the auditors' page's filters (the same query,
    gateway.audit.query): follow next_cursor for older entries. For auditors and monitoring
    officers, as the page is."""
    query: schemas.AuditQuery = request.context.query
    wanted = audit_filter(query)
    before = int(query.cursor) if query.cursor else None
    if before is not None and before > MAX_BIG_ID:
        before = MAX_BIG_ID
    found = audit_page(wanted, before=before, size=query.limit)
    return schemas.AuditPage(
        items=[
            schemas.AuditEntryOut(
                seq=e.seq,
                time=e.time,
                action=e.action,
                actor=e.actor,
                object=e.object,
                payload=e.payload,
                content_sha256=e.content_sha256,
                entry_hash=e.entry_hash,
            )
            for e in found.entries
        ],
        next_cursor=str(found.older) if found.older is not None else None,
    )


# --- The guardrails -------------------------------------------------------------------------


@bp.post("/guardrails/check")
@needs("posts:write")
@requires(*permissions.WRITE)
@reads_only
@api.validate(
    json=schemas.GuardrailCheck,
    headers=Idempotent,
    resp=responses(200, schemas.CheckResult, 409),
    tags=[GUARDRAILS],
    operation_id="checkText",
)
def guardrails_check():
    """What the guardrails find in a text on the given channels at the given time (now if
    none), as the post page would show it. Nothing is saved or logged."""
    body: schemas.GuardrailCheck = request.context.json
    try:
        result = live.check_unsaved(
            current_user,
            text=body.text,
            channel_ids=body.channel_ids,
            scheduled_at=_utc(body.scheduled_at),
        )
    except PostError as exc:
        return refuse(exc)
    finally:
        # Nothing was written: end the read transaction at once (on SQLite it holds the lock).
        db.session.rollback()
    return schemas.CheckResult(
        blocked=result.blocked,
        checked_at=result.at,
        findings=[
            schemas.FindingOut(**_finding(f, result.finding_channels.get(f)))
            for f in result.findings
        ],
    )

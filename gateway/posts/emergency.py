"""Emergency out-of-hours posts: out in seconds from a duty officer, reviewed afterwards.

No second approval and no office-hours rule (issue 7; Swale customer use policy, "Service
standards"). Everything else still applies at once: personal data, offensive content, platform
limits, and inside a pre-election period party-political content and councillor or candidate
publicity. The publish job checks them all again at publish time, as for any post.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select

from gateway.audit import Actor, content_of, record
from gateway.domain import emergency as rules
from gateway.domain.guardrails import Finding, Outcome
from gateway.domain.roles import Role
from gateway.domain.statuses import PostStatus, transition
from gateway.extensions import db
from gateway.models import EmergencyReview, Post, User
from gateway.models.base import utcnow
from gateway.posts import service
from gateway.posts.service import NewImage, PostError

CONCERN = "concern"
REVIEWED = "reviewed"


def posts_in_last_hour(officer: User) -> int:
    since = utcnow() - timedelta(hours=1)
    return db.session.scalar(
        select(func.count())
        .select_from(Post)
        .where(
            Post.author_id == officer.id,
            Post.emergency_category.is_not(None),
            Post.created_at >= since,
        )
    )


def check(
    officer: User,
    *,
    text: str,
    channel_ids: Iterable[int],
    category: str | None,
    images: Sequence[NewImage] = (),
) -> list[Finding]:
    """The findings the form shows at once (without saving anything)."""
    draft = _draft(officer, text, channel_ids, category, images)
    try:
        found = service.findings_for(draft, at=utcnow())
    finally:
        db.session.rollback()
    return service.distinct_findings(found)


def _draft(officer, text, channel_ids, category, images) -> Post:  # noqa: ANN001
    if not officer.has_role(Role.DUTY_OFFICER):
        raise PostError("Only a duty officer can send an emergency post.")
    try:
        rules.check_category(category)
    except rules.EmergencyError as exc:
        raise PostError(exc.message, exc.field) from None
    return service.create_draft(
        officer,
        text=text,
        channel_ids=channel_ids,
        scheduled_at=None,
        images=images,
        emergency_category=category,
    )


def publish_now(
    officer: User,
    *,
    text: str,
    channel_ids: Iterable[int],
    category: str | None,
    images: Sequence[NewImage] = (),
) -> Post:
    """Create and release an emergency post now. The caller commits; the job is queued on the
    emergency queue after the commit."""
    limit = current_app.config.get("EMERGENCY_POSTS_PER_HOUR", rules.DEFAULT_POSTS_PER_HOUR)
    try:
        rules.check_rate(posts_in_last_hour(officer), limit)
    except rules.EmergencyError as exc:
        raise PostError(exc.message) from None
    post = _draft(officer, text, channel_ids, category, images)
    service.check_channels(post)
    now = utcnow()
    post.scheduled_at = now
    found = service.findings_for(post, at=now)
    service.record_verdict(post, officer, "emergency", found)
    stops = [
        f for f in service.distinct_findings(found) if f.outcome in (Outcome.BLOCK, Outcome.REFER)
    ]
    if stops:
        raise PostError(
            "The emergency post cannot go out: " + " ".join(f.reason for f in stops), "text"
        )
    post.status = transition(post.status_enum, PostStatus.APPROVED, emergency=True).value
    record(
        "emergency.published",
        actor=Actor.of(officer),
        obj=("post", post.id),
        payload={"post_id": post.id, "author_id": officer.id, "category": category},
        content=content_of(post),
    )
    service.schedule_deliveries(post, officer)
    db.session.flush()
    return post


def review(post: Post, reviewer: User, *, concern: bool, note: str) -> EmergencyReview:
    if not post.emergency_category:
        raise PostError("Only emergency posts are reviewed afterwards.")
    if post.author_id == reviewer.id:
        raise PostError("An officer other than its author must review an emergency post.")
    if not reviewer.has_role(Role.OFFICER, Role.DUTY_OFFICER, Role.MONITORING_OFFICER):
        raise PostError("Only an officer can review emergency posts.")
    note = (note or "").strip()
    if concern and len(note) < 10:
        raise PostError("Describe the concern (at least 10 characters).", "note")
    existing = db.session.scalar(select(EmergencyReview).where(EmergencyReview.post_id == post.id))
    if existing is not None:
        raise PostError("This emergency post has already been reviewed.")
    row = EmergencyReview(
        post_id=post.id,
        reviewer_id=reviewer.id,
        outcome=CONCERN if concern else REVIEWED,
        note=note,
    )
    db.session.add(row)
    record(
        "emergency.reviewed",
        actor=Actor.of(reviewer),
        obj=("post", post.id),
        payload={"post_id": post.id, "outcome": row.outcome, "note": note},
    )
    db.session.flush()
    return row


def awaiting_review(today: date | None = None) -> list[tuple[Post, date, bool]]:
    """Emergency posts with no review yet: (post, due date, overdue?)."""
    from gateway.policy import current_context

    hours = current_context().office_hours
    today = today or utcnow().astimezone(rules.LONDON).date()
    reviewed = select(EmergencyReview.post_id)
    posts = db.session.scalars(
        select(Post)
        .where(Post.emergency_category.is_not(None), Post.id.not_in(reviewed))
        .order_by(Post.created_at)
    ).all()
    out = []
    for post in posts:
        due = rules.review_due(post.created_at, hours)
        out.append((post, due, today > due))
    return out

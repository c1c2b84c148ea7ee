"""Emergency out-of-hours posts: out in seconds from a duty officer, reviewed afterwards.

Out of office hours: no second approval and no office-hours rule (issue 7; Swale customer use
policy, "Service standards"). In office hours another officer is at work, so the post goes to a
fast-track approval first: every available approver is told at once, it heads their queue, and
their approval (gateway.posts.service.approve) sends it out at once on the emergency queue
(issue 20). An admin may choose instead that emergency posts in office hours publish at once
(:data:`IN_HOURS_SETTING`). Everything else still applies at once: personal data, offensive
content, platform limits, and inside a pre-election period party-political content and
councillor or candidate publicity. The publish job checks them all again at publish time, as
for any post, and lets only a post sent at once skip the approval check
(gateway.domain.emergency.needs_approval).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, or_, select

from gateway.audit import Actor, content_of, record
from gateway.domain import emergency as rules
from gateway.domain.guardrails import Finding, Outcome
from gateway.domain.roles import Role
from gateway.domain.statuses import DeliveryStatus, PostStatus, transition, transition_delivery
from gateway.extensions import db
from gateway.models import EmergencyReview, PolicySetting, Post, User
from gateway.models.base import utcnow
from gateway.posts import service
from gateway.posts.service import NewImage, PostError

CONCERN = "concern"
REVIEWED = "reviewed"
#: The admin's choice for emergency posts in office hours (policy_settings.key).
IN_HOURS_SETTING = "emergency_in_hours"
#: Emergency posts reviewed the next working day: those sent at once. One sent to fast-track
#: approval had its second officer before it went out (issue 20).
REVIEWED_AFTERWARDS = or_(
    Post.emergency_release.is_(None), Post.emergency_release != rules.Release.FAST_TRACK.value
)


def in_hours_setting() -> str:
    """How emergency posts are sent in office hours: fast-track approval unless an admin chose
    "publish at once" (gateway.domain.emergency.IN_HOURS_CHOICES)."""
    value = db.session.scalar(
        select(PolicySetting.value).where(PolicySetting.key == IN_HOURS_SETTING)
    )
    return value if value in rules.IN_HOURS_CHOICES else rules.DEFAULT_IN_HOURS


def change_in_hours_setting(admin: User, value: str) -> bool:
    """An admin's change of :func:`in_hours_setting`, with its audit entry; False when it was
    already so. The caller commits."""
    if not admin.has_role(Role.ADMIN):
        raise PostError("Only an admin can change how emergency posts are sent.")
    if value not in rules.IN_HOURS_CHOICES:
        raise PostError(f"{value!r} is not a choice for emergency posts in office hours.")
    row = db.session.get(PolicySetting, IN_HOURS_SETTING, with_for_update=True)
    previous = row.value if row is not None else rules.DEFAULT_IN_HOURS
    if row is not None and row.value == value:
        return False
    if row is None:
        row = PolicySetting(key=IN_HOURS_SETTING)
        db.session.add(row)
    row.value = value
    row.changed_at = utcnow()
    row.changed_by_id = admin.id
    record(
        "setting.changed",
        actor=Actor.of(admin),
        obj=("setting", IN_HOURS_SETTING),
        payload={"key": IN_HOURS_SETTING, "value": value, "previous": previous},
    )
    db.session.flush()
    return True


def fast_track_approvers(post: Post) -> list[User]:
    """Who can approve an emergency post now (gateway.posts.service.approvers), each alerted at
    once by email."""
    return service.approvers(post)


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


class GuardrailsRefused(PostError):
    """The guardrails stop the post's content on every channel: the form lists their
    findings, so its message does not repeat them (issue 22)."""


class EmergencyRefused(PostError):
    """No chosen channel can take the post: ``left_out`` says why, channel by channel."""

    def __init__(self, message: str, left_out: dict[int, str]) -> None:
        super().__init__(message, "channels")
        self.left_out = left_out


#: Findings that concern one platform only (its limits: length, images): that channel can be
#: left out of an emergency post and the others still reached (issue 22). Any other finding
#: that stops the post is about its content, and stops it everywhere.
CHANNEL_RULE_PREFIX = "platform."


def _stops(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.outcome in (Outcome.BLOCK, Outcome.REFER)]


def left_out(post: Post, found: dict[int, list[Finding]]) -> dict[int, str]:
    """The channels that cannot take this post, each with why: one that needs reconnecting,
    or whose own platform limits the post does not meet (issue 22)."""
    out: dict[int, str] = {}
    for delivery in post.deliveries:
        problem = service.channel_problem(delivery)
        stops = _stops(found.get(delivery.channel_id, ()))
        if problem is None and stops and all(f.rule.startswith(CHANNEL_RULE_PREFIX) for f in stops):
            problem = " ".join(dict.fromkeys(f.reason for f in stops))
        if problem:
            out[delivery.channel_id] = problem
    return out


def _content_stops(found: dict[int, list[Finding]]) -> dict[int, list[Finding]]:
    """The findings that stop the post whichever channel it goes on."""
    return {
        channel_id: [f for f in items if not f.rule.startswith(CHANNEL_RULE_PREFIX)]
        for channel_id, items in found.items()
    }


def check(
    officer: User,
    *,
    text: str,
    channel_ids: Iterable[int],
    category: str | None,
    images: Sequence[NewImage] = (),
) -> tuple[list[Finding], dict[int, str]]:
    """The findings the form shows at once, and the channels that would be left out, each
    with why (without saving anything)."""
    draft = _draft(officer, text, channel_ids, category, images)
    try:
        found = service.findings_for(draft, at=utcnow())
        skipped = left_out(draft, found)
    finally:
        db.session.rollback()
    return service.distinct_findings(found), skipped


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


def send(
    officer: User,
    *,
    text: str,
    channel_ids: Iterable[int],
    category: str | None,
    images: Sequence[NewImage] = (),
) -> Post:
    """The duty officer's "Post now": out at once out of office hours (or in them, when an admin
    chose so), otherwise to another officer's fast-track approval. The caller commits; the job
    is queued on the emergency queue after the commit.

    Which way it goes is decided by the time the post is made and recorded on it
    (``emergency_release``) and in its audit entry: ``emergency.published`` or
    ``emergency.fast_track``."""
    from gateway.policy import current_context

    limit = current_app.config.get("EMERGENCY_POSTS_PER_HOUR", rules.DEFAULT_POSTS_PER_HOUR)
    try:
        rules.check_rate(posts_in_last_hour(officer), limit)
    except rules.EmergencyError as exc:
        raise PostError(exc.message) from None
    post = _draft(officer, text, channel_ids, category, images)
    setting = in_hours_setting()
    release = rules.release_for(post.created_at, current_context().office_hours, setting)
    post.emergency_release = release.value
    if release is rules.Release.FAST_TRACK:
        return _to_fast_track(post, officer)
    return _publish_now(post, officer, release, setting)


def announce(post: Post) -> None:
    """After the commit: tell whoever must know that an emergency post was sent (the
    communications leads, or the fast-track approvers). The form and the API both call it."""
    from gateway.events import post_event

    fast_track = post.emergency_release == rules.Release.FAST_TRACK
    post_event.send(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        event="emergency_fast_track" if fast_track else "emergency",
        post_id=post.id,
    )


def _refusal(found) -> PostError | None:  # noqa: ANN001
    """Why an emergency post cannot go out: a guardrail blocks or refers it (there is no
    referral decision before an emergency goes)."""
    stops = _stops(service.distinct_findings(found))
    if not stops:
        return None
    return GuardrailsRefused(
        "The emergency post cannot go out: " + " ".join(f.reason for f in stops), "text"
    )


def _leave_out(post: Post, officer: User, found: dict[int, list[Finding]]) -> dict[int, str]:
    """Refuse the post when its content stops it, or when no chosen channel can take it;
    otherwise mark each channel that cannot take it skipped, with why, on the record (issue
    22: one channel's limits no longer stop a flood warning everywhere)."""
    refused = _refusal(_content_stops(found))
    if refused:
        raise refused
    skipped = left_out(post, found)
    if len(skipped) == len(post.deliveries):
        raise EmergencyRefused(
            "None of the chosen channels can take this post: "
            + " ".join(
                f"{d.channel.display_name}: {skipped[d.channel_id]}" for d in post.deliveries
            ),
            skipped,
        )
    for delivery in post.deliveries:
        reason = skipped.get(delivery.channel_id)
        if reason is None:
            continue
        delivery.status = transition_delivery(delivery.status_enum, DeliveryStatus.SKIPPED).value
        delivery.last_error = reason
        record(
            "delivery.skipped",
            actor=Actor.of(officer),
            obj=("delivery", delivery.id),
            payload={
                "post_id": post.id,
                "delivery_id": delivery.id,
                "channel_id": delivery.channel_id,
                "reason": reason,
            },
        )
    db.session.flush()
    return skipped


def _publish_now(post: Post, officer: User, release: rules.Release, setting: str) -> Post:
    now = utcnow()
    post.scheduled_at = now
    found = service.findings_for(post, at=now)
    service.record_verdict(post, officer, "emergency", found)
    _leave_out(post, officer, found)
    post.status = transition(post.status_enum, PostStatus.APPROVED, emergency=True).value
    record(
        "emergency.published",
        actor=Actor.of(officer),
        obj=("post", post.id),
        payload={
            "post_id": post.id,
            "author_id": officer.id,
            "category": post.emergency_category,
            "release": release.value,
            "in_hours_setting": setting,
        },
        content=content_of(post),
    )
    service.schedule_deliveries(post, officer)
    db.session.flush()
    return post


def _to_fast_track(post: Post, officer: User) -> Post:
    """In office hours: submitted for approval like any post (gateway.posts.service.submit),
    with no time of its own, so another officer's approval sends it at once; refused, as out
    of hours, when a guardrail would block or refer it."""
    found = service.findings_for(post, at=utcnow())
    try:
        _leave_out(post, officer, found)
    except PostError:
        service.record_verdict(post, officer, "emergency", found)
        raise
    service.submit(post, officer)
    alerted = fast_track_approvers(post)
    record(
        "emergency.fast_track",
        actor=Actor.of(officer),
        obj=("post", post.id),
        payload={
            "post_id": post.id,
            "author_id": officer.id,
            "category": post.emergency_category,
            "release": rules.Release.FAST_TRACK.value,
            "alerted_ids": [u.id for u in alerted],
        },
        content=content_of(post),
    )
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
    """Emergency posts sent at once with no review yet: (post, due date, overdue?). One sent
    to fast-track approval had its second officer before it went out (issue 20)."""
    from gateway.policy import current_context

    hours = current_context().office_hours
    today = today or utcnow().astimezone(rules.LONDON).date()
    reviewed = select(EmergencyReview.post_id)
    posts = db.session.scalars(
        select(Post)
        .where(
            Post.emergency_category.is_not(None),
            REVIEWED_AFTERWARDS,
            Post.id.not_in(reviewed),
        )
        .order_by(Post.created_at)
    ).all()
    out = []
    for post in posts:
        due = rules.review_due(post.created_at, hours)
        out.append((post, due, today > due))
    return out

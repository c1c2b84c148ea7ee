"""The reads behind the officers' pages: a fixed number of queries a page, never one a row.

Each section is one COUNT and one LIMITed SELECT on indexed columns (posts.status,
posts.scheduled_at, posts.author_id), so the pages stay fast with 100,000 posts (issue 6,
"Speed"); the post's author is joined in the same SELECT (Post.author is lazy="joined").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload, selectinload

from gateway.domain.guardrails.clock import LONDON, local_to_utc
from gateway.domain.roles import Role
from gateway.domain.statuses import DeliveryStatus, PostStatus
from gateway.extensions import db
from gateway.models import Delivery, Post, User
from gateway.models.base import utcnow

#: Rows listed in each dashboard section; the count above it gives the whole number.
SECTION_ROWS = 10
#: The approval queue lists the oldest first; a longer queue pages.
QUEUE_PAGE_ROWS = 50

SCHEDULED_STATUSES = (
    PostStatus.APPROVED.value,
    PostStatus.PUBLISHING.value,
    PostStatus.PUBLISHED.value,
    PostStatus.PARTLY_PUBLISHED.value,
)
PROBLEM_STATUSES = (
    PostStatus.FAILED.value,
    PostStatus.PARTLY_PUBLISHED.value,
    PostStatus.BLOCKED.value,
)


@dataclass
class Section:
    key: str
    title: str
    count: int
    posts: list[Post] = field(default_factory=list)
    empty: str = "None."


def _sections(specs: list[tuple[str, str, Select[Any], str]]) -> list[Section]:
    """Every section's count in one statement (one scalar subquery each, so each still uses
    its index), then one LIMITed SELECT for each section that has rows."""
    counts = db.session.execute(
        select(
            *(
                select(func.count()).select_from(q.order_by(None).subquery()).scalar_subquery()
                for _, _, q, _ in specs
            )
        )
    ).one()
    sections = []
    for (key, title, query, empty), count in zip(specs, counts, strict=True):
        posts = []
        if count:
            # The author is shown, so it is joined in; their roles are not needed here.
            posts = list(
                db.session.scalars(
                    query.options(joinedload(Post.author).lazyload(User.role_rows)).limit(
                        SECTION_ROWS
                    )
                ).unique()
            )
        sections.append(Section(key, title, count or 0, posts, empty))
    return sections


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a Europe/London calendar day in UTC (23 or 25 hours at the clock
    changes). Midnight never falls in a DST gap or fold in the UK, which changes at 1am/2am."""
    return local_to_utc(day, time(0)), local_to_utc(day + timedelta(days=1), time(0))


def today_local(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(LONDON).date()


def dashboard(user: User, now: datetime | None = None) -> list[Section]:
    now = now or utcnow()
    today = today_local(now)
    day_start, day_end = local_day_bounds(today)
    week_start = today - timedelta(days=today.weekday())
    week_from, _ = local_day_bounds(week_start)
    _, week_to = local_day_bounds(week_start + timedelta(days=6))
    by_time = (Post.scheduled_at, Post.id)
    specs = [
        (
            "drafts",
            "My drafts",
            select(Post)
            .where(Post.author_id == user.id, Post.status == PostStatus.DRAFT.value)
            .order_by(Post.updated_at.desc(), Post.id.desc()),
            "You have no drafts.",
        ),
        (
            "mine-awaiting",
            "My posts awaiting approval",
            select(Post)
            .where(Post.author_id == user.id, Post.status == PostStatus.AWAITING_APPROVAL.value)
            .order_by(*by_time),
            "None of your posts is waiting for approval.",
        ),
    ]
    if user.has_role(Role.OFFICER):
        specs.append(
            (
                "to-approve",
                "Waiting for you to approve",
                approval_queue_query(user),
                "Nothing is waiting for you.",
            )
        )
    specs += [
        (
            "today",
            "Going out today",
            select(Post)
            .where(
                Post.status.in_(SCHEDULED_STATUSES),
                Post.scheduled_at >= day_start,
                Post.scheduled_at < day_end,
            )
            .order_by(*by_time),
            "Nothing is scheduled for today.",
        ),
        (
            "week",
            "This week",
            select(Post)
            .where(
                Post.status.in_(SCHEDULED_STATUSES),
                Post.scheduled_at >= week_from,
                Post.scheduled_at < week_to,
            )
            .order_by(*by_time),
            "Nothing is scheduled this week.",
        ),
        (
            "problems",
            "Failed or blocked",
            select(Post)
            .where(Post.status.in_(PROBLEM_STATUSES))
            .order_by(Post.updated_at.desc(), Post.id.desc()),
            "No failures.",
        ),
        (
            "held",
            "Held for a person",
            select(Post)
            .where(
                Post.id.in_(
                    select(Delivery.post_id).where(Delivery.status == DeliveryStatus.HELD.value)
                )
            )
            .order_by(*by_time),
            "Nothing is held.",
        ),
    ]
    return _sections(specs)


def approval_queue_query(user: User) -> Select[Any]:
    """Posts from other officers awaiting approval, oldest due first (never the user's own:
    the service refuses that anyway, the queue just does not offer it)."""
    return (
        select(Post)
        .where(Post.status == PostStatus.AWAITING_APPROVAL.value, Post.author_id != user.id)
        .order_by(Post.scheduled_at, Post.id)
    )


def approval_queue(user: User, page: int = 1) -> tuple[int, list[Post]]:
    query = approval_queue_query(user)
    count = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(
        query.options(
            selectinload(Post.deliveries), joinedload(Post.author).lazyload(User.role_rows)
        )
        .limit(QUEUE_PAGE_ROWS)
        .offset((max(page, 1) - 1) * QUEUE_PAGE_ROWS)
    ).unique()
    return count or 0, list(rows)


def scheduled_between(start: datetime, end: datetime) -> list[Delivery]:
    """Every delivery of a live post due in [start, end), with its post and channel, in two
    queries (the deliveries with their channel joined, then their posts in one IN query)."""
    return list(
        db.session.scalars(
            select(Delivery)
            .join(Post, Post.id == Delivery.post_id)
            .where(
                Post.scheduled_at >= start,
                Post.scheduled_at < end,
                Post.status.notin_((PostStatus.CANCELLED.value, PostStatus.REJECTED.value)),
            )
            # The calendar shows no author: skip the joined load of each post's author.
            .options(selectinload(Delivery.post).lazyload(Post.author))
            .order_by(Post.scheduled_at, Delivery.id)
        ).unique()
    )

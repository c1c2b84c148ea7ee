"""The reads behind the officers' pages: a fixed number of queries a page, never one a row.

Each section is one COUNT and one LIMITed SELECT on indexed columns (posts.status,
posts.scheduled_at, posts.author_id), so the pages stay fast with 100,000 posts (issue 6,
"Speed"); the post's author is joined in the same SELECT (Post.author is lazy="joined").
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import Integer, Select, bindparam, case, exists, func, literal, select, union_all

from gateway.domain import emergency as emergency_rules
from gateway.domain.guardrails.clock import LONDON, OfficeHours, local_to_utc
from gateway.domain.roles import Role
from gateway.domain.statuses import DeliveryStatus, PostStatus
from gateway.extensions import db
from gateway.models import Channel, ClosureDay, Delivery, EmergencyReview, Post, PostEditor, User
from gateway.models.base import utcnow
from gateway.posts.emergency import REVIEWED_AFTERWARDS

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
#: Index ix_posts_problems_updated (migration 0006) is for exactly these statuses: change both.
PROBLEM_STATUSES = (
    PostStatus.FAILED.value,
    PostStatus.PARTLY_PUBLISHED.value,
    PostStatus.BLOCKED.value,
)


@dataclass(frozen=True, slots=True)
class PostRow:
    """A post as a list shows it: plain values from one row, no ORM object (issue 6, "Speed")."""

    id: int
    text: str
    author_email: str
    scheduled_at: datetime | None
    status: PostStatus
    #: The Welsh text of a bilingual post (issue 18): lists show both languages.
    text_cy: str | None = None


@dataclass
class Section:
    key: str
    title: str
    count: int
    posts: list[PostRow] = field(default_factory=list)
    empty: str = "None."


@dataclass(frozen=True)
class SectionSpec:
    key: str
    title: str
    #: ``select(Post).where(...)``: which posts belong in the section.
    query: Select[Any]
    #: The first ``SECTION_ROWS`` in this order are listed.
    order_by: tuple[Any, ...]
    empty: str


#: Lists show the first 80 characters of a post (Jinja's truncate(80) keeps up to 85 whole):
#: fetching 100 gives the same words without carrying a long post per row.
LIST_TEXT_CHARS = 100


def _listed(query: Select[Any], order_by: tuple[Any, ...]) -> Select[Any]:
    """The columns a list shows, the author's email joined in, each row's place in order."""
    return (
        query.order_by(None)
        .with_only_columns(
            Post.id,
            func.substr(Post.text, 1, LIST_TEXT_CHARS).label("text"),
            func.substr(Post.text_cy, 1, LIST_TEXT_CHARS).label("text_cy"),
            User.email.label("author_email"),
            Post.author_id,
            Post.scheduled_at,
            Post.status,
            func.row_number().over(order_by=order_by).label("place"),
        )
        .join_from(Post, User, User.id == Post.author_id)
        .order_by(*order_by)
    )


def _post_row(row: Any) -> PostRow:
    return PostRow(
        row.id, row.text, row.author_email, row.scheduled_at, PostStatus(row.status), row.text_cy
    )


BY_TIME = (Post.scheduled_at, Post.id)
#: The approval queue: emergency posts waiting for their fast-track approval first (issue 20:
#: made in office hours, they go out as soon as another officer approves), then by time.
EMERGENCY_FIRST = (case((Post.emergency_category.is_not(None), 0), else_=1), *BY_TIME)
LATEST_FIRST = (Post.updated_at.desc(), Post.id.desc())


@dataclass(frozen=True)
class BoardStatements:
    """Some of the dashboard's sections and their two statements, built once (for each shape
    of board a user's roles give) with the user and the day as bound parameters: building the
    UNION of sections cost more CPU than PostgreSQL spent running it (issue 6, "Speed")."""

    specs: tuple[SectionSpec, ...]
    #: Every section's count (one scalar subquery each, so each still uses its index), then
    #: any extra counts.
    counts: Select[Any]
    #: The first ``SECTION_ROWS`` of every section, in one UNION ALL.
    rows: Select[Any]


def _count_of(query: Select[Any]) -> Select[Any]:
    """How many rows ``query`` selects (its order dropped: a count needs none)."""
    return select(func.count()).select_from(query.order_by(None).subquery())


def _board_statements(specs: list[SectionSpec], extra_counts: tuple[Any, ...]) -> BoardStatements:
    counts = select(
        *(_count_of(spec.query).scalar_subquery() for spec in specs),
        *extra_counts,
    )
    listed = union_all(
        *(
            select(literal(i).label("section"), member)
            for i, spec in enumerate(specs)
            for member in [_listed(spec.query, spec.order_by).limit(SECTION_ROWS).subquery()]
        )
    ).subquery()
    rows = select(listed).order_by(listed.c.section, listed.c.place)
    return BoardStatements(tuple(specs), counts, rows)


def _sections(
    board: BoardStatements, params: dict[str, Any]
) -> tuple[list[Section], tuple[int, ...]]:
    """Two statements for the whole board: the counts, then the first rows of every section
    (only when some section has any)."""
    counts = db.session.execute(board.counts, params).one()
    n = len(board.specs)
    rows: dict[int, list[PostRow]] = {i: [] for i in range(n)}
    if any(counts[:n]):
        for row in db.session.execute(board.rows, params):
            rows[row.section].append(_post_row(row))
    sections = [
        Section(spec.key, spec.title, count or 0, rows[i], spec.empty)
        for i, (spec, count) in enumerate(zip(board.specs, counts, strict=False))
    ]
    return sections, tuple(counts[n:])


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a Europe/London calendar day in UTC (23 or 25 hours at the clock
    changes). Midnight never falls in a DST gap or fold in the UK, which changes at 1am/2am."""
    return local_to_utc(day, time(0)), local_to_utc(day + timedelta(days=1), time(0))


def today_local(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(LONDON).date()


#: Who can review an emergency post afterwards (gateway.posts.emergency.review): the
#: dashboard shows them the overdue reviews (issue 7).
EMERGENCY_REVIEWERS = (Role.OFFICER, Role.DUTY_OFFICER, Role.MONITORING_OFFICER)


@dataclass
class Board:
    sections: list[Section]
    #: Emergency posts whose review is past due; None for a user who cannot review them.
    overdue_reviews: int | None = None
    #: Channels that need reconnecting and what waits for each (CommonBoard.reconnect).
    reconnect: tuple[tuple[int, str, int], ...] = ()


@dataclass(frozen=True)
class CommonBoard:
    """The part of the dashboard that is the same for every reader: what goes out today and
    this week, failures, held posts and overdue emergency reviews. The page cache shares it
    between readers (gateway.web.page_cache.shared)."""

    sections: list[Section]
    overdue_reviews: int
    #: Channels that need reconnecting, each with how many posts wait for it (issue 15).
    reconnect: tuple[tuple[int, str, int], ...] = ()


def channels_to_reconnect() -> tuple[tuple[int, str, int], ...]:
    """(id, name, waiting posts) of each enabled channel that needs reconnecting."""
    waiting = (
        select(func.count(func.distinct(Delivery.post_id)))
        .where(
            Delivery.channel_id == Channel.id,
            Delivery.status.in_(
                (
                    DeliveryStatus.PENDING.value,
                    DeliveryStatus.SCHEDULED.value,
                    DeliveryStatus.RETRY.value,
                    DeliveryStatus.HELD.value,
                )
            ),
        )
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Channel.id, Channel.display_name, waiting)
        .where(Channel.enabled.is_(True), Channel.needs_reauthorisation.is_(True))
        .order_by(Channel.display_name, Channel.id)
    ).all()
    return tuple((r[0], r[1], int(r[2] or 0)) for r in rows)


def common_board(today: date) -> CommonBoard:
    day_start, day_end = local_day_bounds(today)
    week_start = today - timedelta(days=today.weekday())
    week_from, _ = local_day_bounds(week_start)
    _, week_to = local_day_bounds(week_start + timedelta(days=6))
    overdue_before = local_day_bounds(today - timedelta(days=1))[0]
    sections, extra = _sections(
        _common_statements(),
        {
            "day_start": day_start,
            "day_end": day_end,
            "week_from": week_from,
            "week_to": week_to,
            "overdue_before": overdue_before,
        },
    )
    return CommonBoard(
        sections,
        overdue_reviews(today, overdue_before) if extra[0] else 0,
        channels_to_reconnect(),
    )


def dashboard(user: User, common: CommonBoard) -> Board:
    """The reader's own sections (two statements) above ``common``."""
    mine, _ = _sections(_personal_statements(user.has_role(Role.OFFICER)), {"user_id": user.id})
    reviewer = user.has_role(*EMERGENCY_REVIEWERS)
    return Board(
        mine + common.sections, common.overdue_reviews if reviewer else None, common.reconnect
    )


@cache
def _personal_statements(officer: bool) -> BoardStatements:
    """The reader's drafts, their posts awaiting approval and, for a user who can approve
    (``officer``), other officers' posts waiting for them; the user comes as a parameter."""
    user_id = bindparam("user_id")
    specs = [
        SectionSpec(
            "drafts",
            "My drafts",
            select(Post).where(Post.author_id == user_id, Post.status == PostStatus.DRAFT.value),
            LATEST_FIRST,
            "You have no drafts.",
        ),
        SectionSpec(
            "mine-awaiting",
            "My posts awaiting approval",
            select(Post).where(
                Post.author_id == user_id, Post.status == PostStatus.AWAITING_APPROVAL.value
            ),
            BY_TIME,
            "None of your posts is waiting for approval.",
        ),
    ]
    if officer:
        specs.append(
            SectionSpec(
                "to-approve",
                "Waiting for you to approve",
                approval_queue_query(user_id),
                EMERGENCY_FIRST,
                "Nothing is waiting for you.",
            )
        )
    return _board_statements(specs, ())


@cache
def _common_statements() -> BoardStatements:
    """The sections every reader sees, and the count of emergency posts that could be overdue
    for review; the day's bounds come as parameters."""
    specs = [
        SectionSpec(
            "today",
            "Going out today",
            select(Post).where(
                Post.status.in_(SCHEDULED_STATUSES),
                Post.scheduled_at >= bindparam("day_start"),
                Post.scheduled_at < bindparam("day_end"),
            ),
            BY_TIME,
            "Nothing is scheduled for today.",
        ),
        SectionSpec(
            "week",
            "This week",
            select(Post).where(
                Post.status.in_(SCHEDULED_STATUSES),
                Post.scheduled_at >= bindparam("week_from"),
                Post.scheduled_at < bindparam("week_to"),
            ),
            BY_TIME,
            "Nothing is scheduled this week.",
        ),
        SectionSpec(
            "problems",
            "Failed or blocked",
            # The statuses go into the SQL as literals, not parameters: PostgreSQL uses a
            # partial index only when it can see that the query matches its predicate, which
            # it cannot in a prepared statement's generic plan.
            select(Post).where(
                Post.status.in_(
                    bindparam(
                        "problem_statuses",
                        PROBLEM_STATUSES,
                        expanding=True,
                        literal_execute=True,
                    )
                )
            ),
            LATEST_FIRST,
            "No failures.",
        ),
        SectionSpec(
            "held",
            "Held for a person",
            select(Post).where(
                Post.id.in_(
                    select(Delivery.post_id).where(Delivery.status == DeliveryStatus.HELD.value)
                )
            ),
            BY_TIME,
            "Nothing is held.",
        ),
    ]
    return _board_statements(
        specs, (_review_candidates(bindparam("overdue_before")).scalar_subquery(),)
    )


def _unreviewed_emergency_posts(created_before: Any) -> tuple[Any, ...]:
    """Emergency posts with no review yet that could be overdue: one made on day D is due on
    the next working day after D at the earliest, so it can be overdue only from D + 2 on
    (index ix_posts_emergency_created). Not one sent to fast-track approval: a second officer
    approved it before it went out (issue 20)."""
    return (
        Post.emergency_category.is_not(None),
        REVIEWED_AFTERWARDS,
        Post.created_at < created_before,
        Post.id.not_in(select(EmergencyReview.post_id)),
    )


def _review_candidates(created_before: Any) -> Select[Any]:
    return select(func.count()).where(*_unreviewed_emergency_posts(created_before))


def overdue_reviews(today: date, created_before: datetime) -> int:
    """Emergency posts past their review day, by the rule of the review list
    (gateway.posts.emergency.awaiting_review): due the next working day after the post."""
    created = db.session.scalars(
        select(Post.created_at).where(*_unreviewed_emergency_posts(created_before))
    ).all()
    if not created:
        return 0
    hours = OfficeHours(
        current_app.config.get("HOLIDAY_NATION", "ENG"),
        frozenset(db.session.scalars(select(ClosureDay.day))),
    )
    return sum(1 for at in created if today > emergency_rules.review_due(at, hours))


@dataclass(frozen=True, slots=True)
class QueueRow:
    """A post in the approval queue: plain values, no ORM objects (issue 6, "Speed")."""

    id: int
    text: str
    author_id: int
    author_email: str
    scheduled_at: datetime | None
    #: The platform of each of its deliveries, in the order they were added.
    platforms: tuple[str, ...]
    #: An emergency post waiting for its fast-track approval (issue 20): listed first.
    emergency: bool = False
    #: Who changed it since its last approval: like its author, they cannot approve it.
    editor_ids: frozenset[int] = frozenset()
    #: The Welsh text of a bilingual post (issue 18): the queue shows both languages.
    text_cy: str | None = None

    def approvable_by(self, user_id: int) -> bool:
        return user_id != self.author_id and user_id not in self.editor_ids


#: Up to this many posts awaiting approval are read once and shared by every approver's queue
#: (gateway.web.page_cache.shared); when more wait, each queue reads its own page.
SHARED_QUEUE_LIMIT = 1000


@dataclass(frozen=True)
class AwaitingApproval:
    """Every post awaiting approval, oldest due first, for approvers to share."""

    rows: tuple[QueueRow, ...]
    #: False when more than SHARED_QUEUE_LIMIT wait: ``rows`` is then not the whole queue.
    complete: bool


def _awaiting_query() -> Select[Any]:
    return select(Post).where(Post.status == PostStatus.AWAITING_APPROVAL.value)


def approval_queue_query(user_id: Any) -> Select[Any]:
    """Posts from other officers awaiting approval, emergency posts first, then oldest due
    first (never the user's own: the service refuses that anyway, the queue just does not offer
    it), nor those the user changed since their last approval (issue 20: they cannot approve
    them either). ``user_id`` is the approver's id or a bound parameter for it."""
    edited = exists().where(
        PostEditor.post_id == Post.id,
        PostEditor.user_id == user_id,
        PostEditor.round == Post.approval_round,
    )
    return _awaiting_query().where(Post.author_id != user_id, ~edited).order_by(*EMERGENCY_FIRST)


class QueueStatements(NamedTuple):
    """The approval queue's statements, built once with bound parameters."""

    #: How many posts await one approver (``user_id``).
    count: Select[Any]
    #: One approver's page (``user_id``, ``limit``, ``offset``).
    page: Select[Any]
    #: Every awaiting post, up to ``limit``.
    every: Select[Any]
    #: The delivery platforms of the posts ``post_ids``.
    platforms: Select[Any]


@cache
def _queue_statements() -> QueueStatements:
    query = approval_queue_query(bindparam("user_id"))
    return QueueStatements(
        count=_count_of(query),
        page=_listed(query, EMERGENCY_FIRST)
        .add_columns(Post.emergency_category)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer)),
        every=_listed(_awaiting_query(), EMERGENCY_FIRST)
        .add_columns(Post.emergency_category)
        .limit(bindparam("limit", type_=Integer)),
        platforms=select(Delivery.post_id, Channel.platform)
        .join(Channel, Channel.id == Delivery.channel_id)
        .where(Delivery.post_id.in_(bindparam("post_ids", expanding=True)))
        .order_by(Delivery.post_id, Delivery.id),
    )


def _queue_rows(rows: list[Any]) -> list[QueueRow]:
    platforms: dict[int, list[str]] = {row.id: [] for row in rows}
    if rows:
        for post_id, platform in db.session.execute(
            _queue_statements().platforms, {"post_ids": list(platforms)}
        ):
            platforms[post_id].append(platform)
    return [
        QueueRow(
            row.id,
            row.text,
            row.author_id,
            row.author_email,
            row.scheduled_at,
            tuple(platforms[row.id]),
            row.emergency_category is not None,
            text_cy=row.text_cy,
        )
        for row in rows
    ]


def awaiting_approval() -> AwaitingApproval:
    """Every post awaiting approval (three statements: the posts, their platforms, their open
    round's editors), or the first SHARED_QUEUE_LIMIT."""
    rows = db.session.execute(_queue_statements().every, {"limit": SHARED_QUEUE_LIMIT + 1}).all()
    complete = len(rows) <= SHARED_QUEUE_LIMIT
    queue = _queue_rows(rows[:SHARED_QUEUE_LIMIT])
    editors: dict[int, set[int]] = {}
    if queue:
        for post_id, user_id in db.session.execute(
            select(PostEditor.post_id, PostEditor.user_id)
            .join(Post, Post.id == PostEditor.post_id)
            .where(
                PostEditor.post_id.in_([row.id for row in queue]),
                PostEditor.round == Post.approval_round,
            )
        ):
            editors.setdefault(post_id, set()).add(user_id)
    shared = tuple(
        replace(row, editor_ids=frozenset(editors[row.id])) if row.id in editors else row
        for row in queue
    )
    return AwaitingApproval(shared, complete)


def approval_queue(
    user: User, page: int = 1, awaiting: AwaitingApproval | None = None
) -> tuple[int, list[QueueRow]]:
    """How many posts await the user's approval, and page ``page`` of them: taken from
    ``awaiting`` when it holds the whole queue, else read (three statements)."""
    start = (max(page, 1) - 1) * QUEUE_PAGE_ROWS
    if awaiting is not None and awaiting.complete:
        others = [row for row in awaiting.rows if row.approvable_by(user.id)]
        return len(others), others[start : start + QUEUE_PAGE_ROWS]
    statements = _queue_statements()
    count = db.session.execute(statements.count, {"user_id": user.id}).scalar() or 0
    rows = db.session.execute(
        statements.page, {"user_id": user.id, "limit": QUEUE_PAGE_ROWS, "offset": start}
    ).all()
    return count, _queue_rows(rows)


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """One delivery in the schedule: a post going to a channel. Plain values from one row, not
    ORM objects: a month holds a couple of thousand, and building Post and Delivery objects
    for each cost more than the rest of the page together (issue 6, "Speed")."""

    post_id: int
    channel_id: int
    scheduled_at: datetime
    status: PostStatus
    text: str
    #: What this delivery of a bilingual post sends (issue 18): "cy", "en", "cy+en", "en+cy";
    #: "" in one language. ``text_cy`` is the Welsh text's start, or None.
    language: str = ""
    text_cy: str | None = None


#: The calendar shows the first 40 characters of a post (Jinja's truncate(40) keeps up to 45
#: whole): fetching 60 gives the same words without carrying a long Facebook post per cell.
CALENDAR_TEXT_CHARS = 60


def calendar(
    days: list[date], per_day: int | None = None
) -> tuple[dict[date, list[CalendarEntry]], dict[date, int]]:
    """Every delivery of a live post due on each Europe/London day in ``days`` (consecutive),
    at most ``per_day`` a day (the first by time), and each day's whole number: one query.

    The local day is a CASE over the days' UTC bounds, so PostgreSQL and SQLite agree on it
    without time-zone support in the database; a window function ranks and counts each day.
    """
    bounds = [local_day_bounds(d) for d in days]
    start, end = bounds[0][0], bounds[-1][1]
    day_index = case(*((Post.scheduled_at < day_end, i) for i, (_, day_end) in enumerate(bounds)))
    due = (
        select(
            Post.id.label("post_id"),
            Delivery.channel_id,
            Post.scheduled_at,
            Post.status,
            func.substr(Post.text, 1, CALENDAR_TEXT_CHARS).label("text"),
            func.substr(Post.text_cy, 1, CALENDAR_TEXT_CHARS).label("text_cy"),
            Delivery.language,
            day_index.label("day"),
        )
        .join(Delivery, Delivery.post_id == Post.id)
        .where(
            Post.scheduled_at >= start,
            Post.scheduled_at < end,
            Post.status.notin_((PostStatus.CANCELLED.value, PostStatus.REJECTED.value)),
        )
        .subquery()
    )
    ranked = select(
        due,
        func.row_number()
        .over(
            partition_by=due.c.day, order_by=(due.c.scheduled_at, due.c.post_id, due.c.channel_id)
        )
        .label("rank"),
        func.count().over(partition_by=due.c.day).label("day_total"),
    ).subquery()
    query = select(ranked).order_by(ranked.c.day, ranked.c.rank)
    if per_day is not None:
        query = query.where(ranked.c.rank <= per_day)
    entries: dict[date, list[CalendarEntry]] = {d: [] for d in days}
    totals: dict[date, int] = dict.fromkeys(days, 0)
    for row in db.session.execute(query):
        day = days[row.day]
        totals[day] = row.day_total
        entries[day].append(
            CalendarEntry(
                row.post_id,
                row.channel_id,
                row.scheduled_at,
                PostStatus(row.status),
                row.text,
                row.language or "",
                row.text_cy,
            )
        )
    return entries, totals

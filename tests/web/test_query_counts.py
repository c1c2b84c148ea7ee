"""No N+1 queries: the dashboard, the approval queue and the schedule run the same number of
queries for 6 posts as for 41 (issue 6, "Speed": query counts per page)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from gateway.domain.statuses import DeliveryStatus, PostStatus
from gateway.extensions import db
from gateway.models import Delivery, Post
from gateway.web import page_cache
from tests.web.helpers import get

PAGES = ["/", "/approvals", "/schedule?start=2027-03-08", "/schedule/month?month=2027-03"]


@contextmanager
def counting(app):
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _add_posts(app, author_id, channel_ids, count, start):
    """Posts straight into the tables: this test is about reads, not the post service."""
    with app.app_context():
        for i in range(count):
            status = [PostStatus.AWAITING_APPROVAL, PostStatus.APPROVED, PostStatus.FAILED][i % 3]
            at = start + timedelta(hours=(i * 7) % 120)  # Monday to Friday, today included
            post = Post(
                text=f"Post number {start.isoformat()} {i}",
                author_id=author_id,
                status=status.value,
                scheduled_at=at,
            )
            for channel_id in channel_ids:
                post.deliveries.append(
                    Delivery(
                        channel_id=channel_id,
                        due_at=at,
                        status=(
                            DeliveryStatus.HELD if i % 5 == 0 else DeliveryStatus.SCHEDULED
                        ).value,
                    )
                )
            db.session.add(post)
        db.session.commit()


def _queries(app, client) -> dict[str, int]:
    """Each page's statements when it is built (the page cache emptied first: a kept page
    makes only the sign-in checks' and the log head's, tests/web/test_page_cache.py)."""
    counts = {}
    for path in PAGES:
        page_cache.cache_of(app).clear()
        with counting(app) as statements:
            get(client, path)
        counts[path] = len([s for s in statements if not s.startswith("BEGIN")])
    return counts


def test_page_query_counts_do_not_grow_with_the_number_of_posts(app, people, channels):
    a = people["a"]
    people["b"]  # signs B in, so B exists
    b_id = people.ids["b"]
    ids = [channels["x"], channels["facebook"]]
    start = datetime(2027, 3, 8, 9, 0, tzinfo=UTC)
    _add_posts(app, b_id, ids, 6, start)
    _queries(app, a)  # once first: the policy context is read on first use, then cached
    few = _queries(app, a)
    _add_posts(app, b_id, ids, 35, start + timedelta(minutes=5))
    many = _queries(app, a)
    assert many == few, (few, many)
    # And the numbers stay small: the signed-in user and their roles, the log's head (the page
    # cache's key), then the dashboard's counts and lists in one statement each for the
    # reader's own sections and for the common ones (with the overdue reviews' look-up), the
    # calendar in one (issue 6, "Speed").
    assert many["/"] <= 9, many
    assert many["/approvals"] <= 10, many
    assert many["/schedule?start=2027-03-08"] <= 10, many
    assert many["/schedule/month?month=2027-03"] <= 10, many

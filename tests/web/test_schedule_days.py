"""The schedule puts each post on its Europe/London day, and the month shows the first posts of
a busy day with a link to the rest (issue 6). The database works the day out (one query for
the whole calendar), so these run on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.domain.statuses import DeliveryStatus, PostStatus
from gateway.extensions import db
from gateway.models import Delivery, Post
from tests.web.helpers import get


def _post(app, author_id, channel_ids, at, text, status=PostStatus.APPROVED):
    with app.app_context():
        post = Post(text=text, author_id=author_id, status=status.value, scheduled_at=at)
        for channel_id in channel_ids:
            post.deliveries.append(
                Delivery(channel_id=channel_id, due_at=at, status=DeliveryStatus.SCHEDULED.value)
            )
        db.session.add(post)
        db.session.commit()
        return post.id


def _cell_links(page, day_index: int, channel: str = "Council on X") -> list[str]:
    """The post links in one day's cell of the week view (Monday is 0) for a channel."""
    row = next(
        tr for tr in page.soup.select("table.app-calendar tbody tr") if channel in tr.th.get_text()
    )
    cell = row.find_all("td")[day_index]
    return [a["href"] for a in cell.select("a.govuk-link")]


def test_posts_fall_on_their_london_day_across_the_clock_change(app, people, channels):
    a = people["a"]
    author = people.ids["a"]
    x = [channels["x"]]
    # Saturday 27 March 2027 23:30 GMT; the clocks go forward at 1am on Sunday 28 March, so
    # 23:30 UTC on Sunday is 00:30 on Monday 29 March in London: next week's first post.
    saturday = _post(app, author, x, datetime(2027, 3, 27, 23, 30, tzinfo=UTC), "Saturday")
    monday = _post(app, author, x, datetime(2027, 3, 28, 23, 30, tzinfo=UTC), "Monday")
    sunday = _post(app, author, x, datetime(2027, 3, 28, 0, 30, tzinfo=UTC), "Sunday")
    _post(app, author, x, datetime(2027, 3, 27, 9, 0, tzinfo=UTC), "Gone", PostStatus.CANCELLED)

    week = get(a, "/schedule?start=2027-03-22")
    assert _cell_links(week, 5) == [f"/posts/{saturday}"]
    assert _cell_links(week, 6) == [f"/posts/{sunday}"]
    assert f"/posts/{monday}" not in week.html
    assert "Gone" not in week.text()
    assert "11:30pm" in week.text() and "12:30am" in week.text()

    next_week = get(a, "/schedule?start=2027-03-29")
    assert _cell_links(next_week, 0) == [f"/posts/{monday}"]
    assert "12:30am" in next_week.text()


def test_a_busy_day_in_the_month_shows_its_first_posts_and_links_to_the_rest(app, people, channels):
    a = people["a"]
    author = people.ids["a"]
    both = [channels["x"], channels["facebook"]]
    start = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
    # 5 posts on two channels: 10 deliveries on Wednesday 10 March, added latest first.
    ids = [
        _post(app, author, both, start + timedelta(minutes=10 * i), f"Busy {i}")
        for i in reversed(range(5))
    ]
    quiet = _post(app, author, both[:1], datetime(2027, 3, 11, 9, 0, tzinfo=UTC), "Quiet")

    month = get(a, "/schedule/month?month=2027-03")
    busy_cell = next(
        td for td in month.soup.select("table.app-calendar td") if "10 Mar" in td.get_text()
    )
    shown = [p.get_text(" ", strip=True) for p in busy_cell.select("p.app-calendar__post")]
    assert len(shown) == 8
    # The first by time: 9:00 on both channels, then 9:10, ... 9:30 on both.
    assert [s.split(":", 2)[0] + ":" + s.split(":", 2)[1][:4] for s in shown[:2]] == [
        "9:00am",
        "9:00am",
    ]
    assert not any("9:40am" in s for s in shown)
    more = busy_cell.select_one('a[href="/schedule?start=2027-03-10"]')
    assert more is not None
    assert " ".join(more.get_text().split()) == "2 more on 10 March"
    assert f"/posts/{ids[0]}" not in str(busy_cell)  # the 9:40 post, the latest
    assert f"/posts/{ids[-1]}" in str(busy_cell)  # the 9:00 post, the first
    quiet_cell = next(
        td for td in month.soup.select("table.app-calendar td") if "11 Mar" in td.get_text()
    )
    assert quiet_cell.select_one("a[href^='/schedule?start=']") is None
    assert f"/posts/{quiet}" in str(quiet_cell)
    assert "Council on X" in quiet_cell.get_text()

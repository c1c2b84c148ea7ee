"""The schedule: a week by channel and a month by day, with bank holidays, closure days and
pre-election periods marked, so an officer can see gaps and clashes (issue 6)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app, render_template, request
from markupsafe import Markup
from sqlalchemy import select

from gateway.domain.guardrails import is_bank_holiday, pre_election_period
from gateway.extensions import db
from gateway.models import Channel, ClosureDay
from gateway.policy import current_context
from gateway.security import signed_in
from gateway.web import page_cache, queries
from gateway.web.page_cache import kept_until_changed
from gateway.web.posts import PLATFORM_NAMES
from gateway.web.views import bp

#: Posts listed in one day of the month view; the rest are a link to that day's week.
MONTH_CELL_ROWS = 8
#: Nobody plans further than this; a typed-in year 9999 must not build a huge page.
MAX_YEARS_AWAY = 5


@dataclass
class Day:
    day: date
    bank_holiday: bool = False
    closure: str | None = None
    periods: list[str] = field(default_factory=list)
    entries: list[queries.CalendarEntry] = field(default_factory=list)
    #: Every delivery that day, though ``entries`` may hold only the first few.
    total: int = 0

    @property
    def closed(self) -> bool:
        return self.bank_holiday or self.closure is not None or self.day.weekday() >= 5

    @property
    def notes(self) -> list[str]:
        notes = []
        if self.bank_holiday:
            notes.append("Bank holiday")
        if self.closure is not None:
            notes.append(f"Closed: {self.closure}" if self.closure else "Closed")
        notes += [f"Pre-election period: {p}" for p in self.periods]
        return notes


def _parse_day(raw: str | None, today: date) -> date:
    try:
        day = date.fromisoformat(raw) if raw else today
    except ValueError:
        return today
    if abs(day.year - today.year) > MAX_YEARS_AWAY:
        return today
    return day


def _days(first: date, last: date) -> dict[date, Day]:
    nation = current_app.config.get("HOLIDAY_NATION", "ENG")
    days = {}
    d = first
    while d <= last:
        days[d] = Day(d, bank_holiday=is_bank_holiday(d, nation))
        d += timedelta(days=1)
    for closure in db.session.scalars(
        select(ClosureDay).where(ClosureDay.day >= first, ClosureDay.day <= last)
    ):
        days[closure.day].closure = closure.reason or ""
    context = current_context()
    start_utc, _ = queries.local_day_bounds(first)
    _, end_utc = queries.local_day_bounds(last)
    for election in context.elections:
        start, end, assumed = pre_election_period(election, context.holiday_nation)
        if end <= start_utc or start >= end_utc:
            continue
        label = (election.name or election.kind.value) + (" (assumed start)" if assumed else "")
        for d, entry in days.items():
            day_start, day_end = queries.local_day_bounds(d)
            if start < day_end and end > day_start:
                entry.periods.append(label)
    return days


def _fill(days: dict[date, Day], per_day: int | None = None) -> None:
    entries, totals = queries.calendar(list(days), per_day)
    for day, entry in days.items():
        entry.entries = entries[day]
        entry.total = totals[day]


def schedule_days(first: date, last: date, per_day: int | None = None) -> list[Day]:
    """The days from ``first`` to ``last`` with their marks and what is due on each: what the
    schedule pages show, for the JSON API's schedule (issue 17)."""
    days = _days(first, last)
    _fill(days, per_day)
    return list(days.values())


def _channels() -> dict[int, Channel]:
    return {
        c.id: c
        for c in db.session.scalars(select(Channel).order_by(Channel.display_name, Channel.id))
    }


@bp.get("/schedule")
@signed_in
@kept_until_changed
def schedule_week():
    today = queries.today_local()
    chosen = _parse_day(request.args.get("start"), today)
    monday = chosen - timedelta(days=chosen.weekday())
    body = page_cache.shared(("schedule-week", monday), lambda: _week(monday, today))
    return render_template("web/schedule_week.html", body=body, monday=monday)


def _week(monday: date, today: date) -> Markup:
    days = _days(monday, monday + timedelta(days=6))
    _fill(days)
    grid: dict[int, dict[date, list[queries.CalendarEntry]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for day in days.values():
        for entry in day.entries:
            grid[entry.channel_id][day.day].append(entry)
    shown = [c for c in _channels().values() if c.enabled or c.id in grid]
    # render_template's output is HTML with every value escaped.
    return Markup(  # noqa: S704  # nosec B704
        render_template(
            "web/_schedule_week.html",
            days=list(days.values()),
            channels=shown,
            grid=grid,
            monday=monday,
            previous=monday - timedelta(days=7),
            next=monday + timedelta(days=7),
            today=today,
            platform_names=PLATFORM_NAMES,
        )
    )


@bp.get("/schedule/month")
@signed_in
@kept_until_changed
def schedule_month():
    today = queries.today_local()
    raw = request.args.get("month")
    chosen = _parse_day(f"{raw}-01" if raw else None, today)
    first = chosen.replace(day=1)
    body = page_cache.shared(("schedule-month", first), lambda: _month(first, today))
    return render_template("web/schedule_month.html", body=body, first=first)


def _month(first: date, today: date) -> Markup:
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    grid_start = first - timedelta(days=first.weekday())
    grid_end = last + timedelta(days=6 - last.weekday())
    days = _days(grid_start, grid_end)
    _fill(days, per_day=MONTH_CELL_ROWS)
    ordered = list(days.values())
    weeks = [ordered[i : i + 7] for i in range(0, len(ordered), 7)]
    return Markup(  # noqa: S704 (escaped HTML, as above)  # nosec B704
        render_template(
            "web/_schedule_month.html",
            weeks=weeks,
            first=first,
            previous=(first - timedelta(days=1)).replace(day=1),
            next=last + timedelta(days=1),
            today=today,
            month_cell_rows=MONTH_CELL_ROWS,
            channel_names={c.id: c.display_name for c in _channels().values()},
            platform_names=PLATFORM_NAMES,
        )
    )

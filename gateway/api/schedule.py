"""The schedule in the JSON API (issue 17): what the officers' schedule pages show (each
day's deliveries, bank holidays, closure days and pre-election periods), for a range of dates
and optionally one channel, from the same function as the pages
(gateway.web.schedule.schedule_days)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import request
from pydantic import BaseModel, Field

from gateway.api import problems, schemas
from gateway.api.scopes import needs
from gateway.api.spec import api, responses
from gateway.api.views import bp
from gateway.security import signed_in
from gateway.web import queries
from gateway.web.schedule import MAX_YEARS_AWAY, schedule_days

SCHEDULE = "Schedule"
#: The longest range one call reads: two months, the month page's grid and more; a range of
#: years would be one huge answer.
MAX_SCHEDULE_DAYS = 62


class ScheduleQuery(schemas._In):
    date_from: date | None = Field(
        None, description="The first London date (YYYY-MM-DD); this week's Monday if left out."
    )
    date_to: date | None = Field(
        None,
        description=f"The last London date, inclusive; at most {MAX_SCHEDULE_DAYS} days after "
        "date_from. Six days after date_from if left out.",
    )
    channel_id: schemas.Id | None = Field(None, description="Only this channel's deliveries.")


class ScheduleEntry(BaseModel):
    post_id: int
    channel_id: int
    scheduled_at: datetime
    status: schemas.PostStatusName  # type: ignore[valid-type]
    text: str = Field(description="The start of the post's text, as the calendar shows it.")


class ScheduleDay(BaseModel):
    date: date
    closed: bool = Field(description="A weekend, a bank holiday or a closure day.")
    bank_holiday: bool
    closure: str | None = Field(description="The closure day's reason; null on an open day.")
    pre_election_periods: list[str]
    total: int = Field(description="How many deliveries are due that day.")
    entries: list[ScheduleEntry]


class SchedulePage(BaseModel):
    date_from: date
    date_to: date
    channel_id: int | None
    days: list[ScheduleDay]


def _invalid(parameter: str, detail: str):
    return problems.problem(
        422,
        detail,
        slug="validation",
        errors=[{"pointer": "", "parameter": parameter, "detail": detail}],
    )


@bp.get("/schedule")
@needs("posts:read")
@signed_in
@api.validate(
    query=ScheduleQuery,
    resp=responses(200, SchedulePage),
    tags=[SCHEDULE],
    operation_id="readSchedule",
)
def schedule():
    """Every delivery of a live post (not cancelled or rejected) due on each day of the range,
    in time order, with the day's marks, as the schedule pages show them."""
    query: ScheduleQuery = request.context.query
    today = queries.today_local()
    first = query.date_from or today - timedelta(days=today.weekday())
    for name, day in (("date_from", first), ("date_to", query.date_to)):
        # Checked before any arithmetic: 9999-12-31 plus a day is no date.
        if day is not None and abs(day.year - today.year) > MAX_YEARS_AWAY:
            return _invalid(name, f"Choose a date within {MAX_YEARS_AWAY} years of today.")
    last = query.date_to or first + timedelta(days=6)
    if last < first:
        return _invalid("date_to", "date_to must be the same as or after date_from.")
    if (last - first).days >= MAX_SCHEDULE_DAYS:
        return _invalid(
            "date_to", f"Ask for at most {MAX_SCHEDULE_DAYS} days at a time: page by date."
        )
    days = []
    for day in schedule_days(first, last):
        entries = [e for e in day.entries if query.channel_id in (None, e.channel_id)]
        days.append(
            ScheduleDay(
                date=day.day,
                closed=day.closed,
                bank_holiday=day.bank_holiday,
                closure=day.closure,
                pre_election_periods=day.periods,
                total=len(entries),
                entries=[
                    ScheduleEntry(
                        post_id=e.post_id,
                        channel_id=e.channel_id,
                        scheduled_at=e.scheduled_at,
                        status=e.status.value,
                        text=e.text,
                    )
                    for e in entries
                ],
            )
        )
    return SchedulePage(date_from=first, date_to=last, channel_id=query.channel_id, days=days)

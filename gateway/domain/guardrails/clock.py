"""Time rules: office hours, bank holidays, local time at DST edges, pre-election periods."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from gateway.domain.guardrails.model import Election, ElectionKind, GuardrailInputError

LONDON = ZoneInfo("Europe/London")

# Swale customer use policy, "Service standards": "active Monday - Thursday 9am to 5pm,
# Friday 9am to 4.30pm (except Bank holidays and public holidays)". Weekday() -> (open, close).
OPENING_HOURS: dict[int, tuple[time, time]] = {
    0: (time(9, 0), time(17, 0)),
    1: (time(9, 0), time(17, 0)),
    2: (time(9, 0), time(17, 0)),
    3: (time(9, 0), time(17, 0)),
    4: (time(9, 0), time(16, 30)),
}
# The poll closes at 10pm (Representation of the People Act 1983, Sch. 1 r. 1); the period
# ends then.
CLOSE_OF_POLL = time(22, 0)
# Until the notice of election is published, assume the earlier of these (issue #4), so a
# period never starts late.
ASSUMED_PERIOD_WEEKS = 6
ASSUMED_PERIOD_WORKING_DAYS = 25
# A referendum's publicity restriction covers the 28 days before the poll (Local Government
# Act 1986 s.2 and the referendum regulations; issue #4 "A referendum's 28 days").
REFERENDUM_RESTRICTED_DAYS = 28
# How far next_opening looks ahead before deciding the configuration is wrong (a year of
# closure days would be a data-entry mistake).
NEXT_OPENING_HORIZON_DAYS = 400


class NonexistentLocalTime(GuardrailInputError):
    """The clocks go forward past this time in Europe/London (e.g. 01:30 on the last Sunday
    of March)."""


class AmbiguousLocalTime(GuardrailInputError):
    """This time happens twice in Europe/London (e.g. 01:30 on the last Sunday of October)."""


def local_to_utc(day: date, at: time) -> datetime:
    """Europe/London wall-clock time to an aware UTC datetime, refusing DST gaps and folds.

    The gateway's rule for the nights the clocks change (README, "How a post goes out"): a
    wall-clock time names one instant or is refused. 01:00-01:59 on the last Sunday of March
    never happens (refused: choose 02:00 or later, or before 01:00); 01:00-01:59 on the last
    Sunday of October happens twice (refused: only a time with its UTC offset, as the API
    takes, names one of the two). Never guessed, so a post cannot go out an hour early.
    """
    # A time carrying fold=1 would skip the check below: what is typed has no fold.
    first = datetime.combine(day, at.replace(fold=0), tzinfo=LONDON)
    second = first.replace(fold=1)
    if first.utcoffset() != second.utcoffset():
        # zoneinfo gives the two offsets of a repeated hour, and also the two sides of a
        # skipped hour: a round trip tells them apart.
        back = first.astimezone(UTC).astimezone(LONDON)
        if back.replace(tzinfo=None) != first.replace(tzinfo=None):
            raise NonexistentLocalTime(
                f"{day} {at:%H:%M} does not exist in Europe/London: the clocks go forward "
                "that night. Choose a time after 02:00."
            )
        raise AmbiguousLocalTime(
            f"{day} {at:%H:%M} happens twice in Europe/London: the clocks go back that "
            "night. Choose a time before 01:00 or after 02:00."
        )
    return first.astimezone(UTC)


def require_aware(at: datetime, what: str = "time") -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise GuardrailInputError(
            f"The {what} {at.isoformat()} has no time zone: give an aware datetime "
            "(use local_to_utc for Europe/London wall-clock times)."
        )


@lru_cache(maxsize=64)
def bank_holidays(nation: str, year: int) -> frozenset[date]:
    """Bank holidays of one UK nation in one year, from the ``holidays`` package."""
    return frozenset(holidays.UK(subdiv=nation, years=year).keys())


def is_bank_holiday(day: date, nation: str = "ENG") -> bool:
    return day in bank_holidays(nation, day.year)


class OfficeHours:
    """When the council's accounts are staffed (Swale customer use policy, "Service
    standards"), less bank holidays of the chosen nation and an admin's closure days."""

    def __init__(self, nation: str = "ENG", closure_days: frozenset[date] = frozenset()) -> None:
        self.nation = nation
        self.closure_days = closure_days

    def hours_on(self, day: date) -> tuple[time, time] | None:
        if day in self.closure_days or is_bank_holiday(day, self.nation):
            return None
        return OPENING_HOURS.get(day.weekday())

    def is_open(self, at: datetime) -> bool:
        require_aware(at)
        local = at.astimezone(LONDON)
        hours = self.hours_on(local.date())
        return hours is not None and hours[0] <= local.time() < hours[1]

    def next_opening(self, at: datetime) -> datetime:
        """``at`` itself when open, otherwise the next opening time (UTC)."""
        if self.is_open(at):
            return at
        local = at.astimezone(LONDON)
        day = local.date()
        for _ in range(NEXT_OPENING_HORIZON_DAYS):
            hours = self.hours_on(day)
            if hours is not None:
                opening = local_to_utc(day, hours[0])
                if opening > at:
                    return opening
            day += timedelta(days=1)
        raise GuardrailInputError(
            f"No opening time within {NEXT_OPENING_HORIZON_DAYS} days of {at:%Y-%m-%d}: "
            "check the closure days."
        )


def is_election_working_day(day: date, nation: str = "ENG") -> bool:
    """Working days as the election timetable counts them: not a Saturday or Sunday,
    Christmas Eve, Christmas Day, Good Friday or a bank holiday (Representation of the
    People Act 1983, Sch. 1 r. 2; the same in the local elections rules)."""
    if day.weekday() >= 5 or (day.month, day.day) in ((12, 24), (12, 25)):
        return False
    # Good Friday is a bank holiday in every nation the holidays package knows.
    return not is_bank_holiday(day, nation)


def working_days_before(day: date, count: int, nation: str = "ENG") -> date:
    """The day ``count`` election working days before ``day``."""
    current = day
    remaining = count
    while remaining:
        current -= timedelta(days=1)
        if is_election_working_day(current, nation):
            remaining -= 1
    return current


def pre_election_period(election: Election, nation: str = "ENG") -> tuple[datetime, datetime, bool]:
    """(start, end, assumed) in UTC. The period starts when the notice of election is
    published and ends at the close of poll (Code of Recommended Practice on Local Authority
    Publicity, para. 34). Without a notice date, assume the earlier of six weeks and 25
    working days before polling day, and say so."""
    end = local_to_utc(election.polling_day, CLOSE_OF_POLL)
    if election.notice_date is not None:
        start_day, assumed = election.notice_date, False
    else:
        six_weeks = election.polling_day - timedelta(weeks=ASSUMED_PERIOD_WEEKS)
        working = working_days_before(election.polling_day, ASSUMED_PERIOD_WORKING_DAYS, nation)
        start_day, assumed = min(six_weeks, working), True
    return local_to_utc(start_day, time(0, 0)), end, assumed


def referendum_restriction(election: Election) -> tuple[datetime, datetime] | None:
    """The 28 days before a referendum in which nothing may be published about its subject."""
    if election.kind is not ElectionKind.REFERENDUM:
        return None
    start_day = election.polling_day - timedelta(days=REFERENDUM_RESTRICTED_DAYS)
    return local_to_utc(start_day, time(0, 0)), local_to_utc(election.polling_day, CLOSE_OF_POLL)


def validate_schedule(at: datetime, now: datetime) -> None:
    """Refuse a publish time in the past (the caller's scheduling concern, issue #4)."""
    require_aware(at, "publish time")
    require_aware(now, "current time")
    if at < now:
        raise GuardrailInputError(
            f"The publish time {at.astimezone(LONDON):%Y-%m-%d %H:%M} is in the past."
        )

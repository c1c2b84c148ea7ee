"""Rule 3 (office hours, bank holidays, DST) and the pre-election period's dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from gateway.domain.guardrails import (
    AmbiguousLocalTime,
    Election,
    ElectionKind,
    GuardrailInputError,
    NonexistentLocalTime,
    OfficeHours,
    is_bank_holiday,
    is_election_working_day,
    local_to_utc,
    pre_election_period,
    validate_schedule,
)
from gateway.domain.guardrails.clock import working_days_before


def london(day: date, at: time) -> datetime:
    return local_to_utc(day, at)


def test_local_to_utc_in_winter_and_summer() -> None:
    assert local_to_utc(date(2027, 1, 12), time(9, 0)) == datetime(2027, 1, 12, 9, 0, tzinfo=UTC)
    assert local_to_utc(date(2027, 7, 12), time(9, 0)) == datetime(2027, 7, 12, 8, 0, tzinfo=UTC)


def test_a_time_skipped_when_the_clocks_go_forward_is_refused() -> None:
    # 28 March 2027: 01:00 GMT jumps to 02:00 BST.
    with pytest.raises(NonexistentLocalTime, match="does not exist"):
        local_to_utc(date(2027, 3, 28), time(1, 30))


def test_a_time_repeated_when_the_clocks_go_back_is_refused() -> None:
    # 31 October 2027: 02:00 BST falls back to 01:00 GMT, so 01:30 happens twice.
    with pytest.raises(AmbiguousLocalTime, match="twice"):
        local_to_utc(date(2027, 10, 31), time(1, 30))


def test_a_repeated_time_carrying_a_fold_is_refused_all_the_same() -> None:
    # What is typed has no fold; one that arrives with fold=1 must not pick the second 01:30.
    with pytest.raises(AmbiguousLocalTime):
        local_to_utc(date(2027, 10, 31), time(1, 30, fold=1))


#: (the night, the UTC offset in minutes before the change, after it, the refusal between)
NIGHTS = [
    (date(2027, 3, 28), 0, 60, NonexistentLocalTime),  # 01:00 GMT becomes 02:00 BST
    (date(2027, 10, 31), 60, 0, AmbiguousLocalTime),  # 02:00 BST becomes 01:00 GMT
]


@pytest.mark.parametrize(("day", "before", "after", "refusal"), NIGHTS)
def test_every_minute_of_the_nights_the_clocks_change(day, before, after, refusal) -> None:
    # Every minute from 00:00 to 03:00: refused exactly in the hour the clocks skip or
    # repeat, otherwise the one instant the wall clock names (the rule in local_to_utc).
    midnight_utc = datetime.combine(day, time(0), tzinfo=UTC)
    for minute in range(0, 181):
        at = time(minute // 60, minute % 60)
        if 60 <= minute < 120:
            with pytest.raises(refusal):
                local_to_utc(day, at)
            continue
        offset = before if minute < 60 else after
        expected = midnight_utc + timedelta(minutes=minute - offset)
        assert local_to_utc(day, at) == expected, at


def test_times_either_side_of_the_dst_edges_are_fine() -> None:
    assert local_to_utc(date(2027, 3, 28), time(2, 0)) == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert local_to_utc(date(2027, 10, 31), time(2, 0)) == datetime(2027, 10, 31, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "at", "is_open"),
    [
        (date(2027, 4, 20), time(9, 0), True),  # Tuesday opening
        (date(2027, 4, 20), time(8, 59), False),
        (date(2027, 4, 20), time(16, 59), True),
        (date(2027, 4, 20), time(17, 0), False),  # Mon-Thu close at 17:00
        (date(2027, 4, 23), time(16, 29), True),  # Friday
        (date(2027, 4, 23), time(16, 30), False),  # Friday closes at 16:30
        (date(2027, 4, 24), time(11, 0), False),  # Saturday
        (date(2027, 4, 25), time(11, 0), False),  # Sunday
        (date(2027, 7, 13), time(9, 30), True),  # summer time: 08:30 UTC is 09:30 local
    ],
)
def test_office_hours(day: date, at: time, is_open: bool) -> None:
    assert OfficeHours().is_open(london(day, at)) is is_open


@pytest.mark.parametrize(
    ("nation", "day", "holiday"),
    [
        ("ENG", date(2027, 3, 29), True),  # Easter Monday
        ("SCT", date(2027, 3, 29), False),  # not a bank holiday in Scotland
        ("NIR", date(2027, 3, 29), True),
        ("ENG", date(2027, 1, 4), False),
        ("SCT", date(2027, 1, 4), True),  # 2 January, observed on the Monday
        ("ENG", date(2027, 3, 17), False),
        ("NIR", date(2027, 3, 17), True),  # St Patrick's Day
        ("NIR", date(2027, 7, 12), True),  # Battle of the Boyne
        ("ENG", date(2027, 7, 12), False),
        ("SCT", date(2027, 8, 2), True),  # Scotland's summer bank holiday is in early August
        ("ENG", date(2027, 8, 2), False),
        ("ENG", date(2027, 8, 30), True),
        ("SCT", date(2027, 11, 30), True),  # St Andrew's Day
        ("ENG", date(2027, 12, 27), True),  # Christmas Day observed
    ],
)
def test_bank_holidays_of_each_nation(nation: str, day: date, holiday: bool) -> None:
    assert is_bank_holiday(day, nation) is holiday
    assert OfficeHours(nation).is_open(london(day, time(10))) is (not holiday)


def test_closure_days_close_the_office() -> None:
    closed = OfficeHours(closure_days=frozenset({date(2027, 4, 20)}))
    assert not closed.is_open(london(date(2027, 4, 20), time(10)))
    assert closed.next_opening(london(date(2027, 4, 20), time(10))) == london(
        date(2027, 4, 21), time(9)
    )


def test_next_opening_skips_the_weekend_and_easter_monday() -> None:
    friday_evening = london(date(2027, 3, 25), time(18))  # Thursday before Good Friday
    assert OfficeHours().next_opening(friday_evening) == london(date(2027, 3, 30), time(9))
    # In Scotland Easter Monday is a working day.
    assert OfficeHours("SCT").next_opening(friday_evening) == london(date(2027, 3, 29), time(9))


def test_next_opening_is_now_when_open() -> None:
    at = london(date(2027, 4, 20), time(10))
    assert OfficeHours().next_opening(at) == at


def test_office_hours_refuse_a_naive_time() -> None:
    with pytest.raises(GuardrailInputError, match="time zone"):
        OfficeHours().is_open(datetime(2027, 4, 20, 10, 0))


def test_election_working_days_skip_weekends_bank_holidays_and_christmas_eve() -> None:
    assert not is_election_working_day(date(2027, 3, 26))  # Good Friday
    assert not is_election_working_day(date(2026, 12, 24))  # Christmas Eve (a Thursday)
    assert not is_election_working_day(date(2027, 5, 1))  # Saturday
    assert is_election_working_day(date(2027, 4, 20))
    # Counting back 25 working days from Thursday 6 May 2027 skips the May Day bank holiday,
    # Easter Monday and Good Friday: it lands on Wednesday 31 March.
    assert working_days_before(date(2027, 5, 6), 25) == date(2027, 3, 31)


def test_period_from_the_notice_of_election_to_the_close_of_poll() -> None:
    election = Election(ElectionKind.LOCAL, date(2027, 5, 6), notice_date=date(2027, 3, 29))
    start, end, assumed = pre_election_period(election)
    assert start == london(date(2027, 3, 29), time(0))
    assert end == london(date(2027, 5, 6), time(22))
    assert assumed is False


def test_period_assumed_from_the_earlier_of_six_weeks_and_25_working_days() -> None:
    election = Election(ElectionKind.LOCAL, date(2027, 5, 6))
    start, _, assumed = pre_election_period(election)
    # Six weeks back is Thursday 25 March, earlier than 25 working days (31 March).
    assert start == london(date(2027, 3, 25), time(0))
    assert assumed is True


def test_election_input_errors() -> None:
    with pytest.raises(GuardrailInputError, match="notice"):
        Election(ElectionKind.LOCAL, date(2027, 5, 6), notice_date=date(2027, 5, 7))
    with pytest.raises(GuardrailInputError, match="ward"):
        Election(ElectionKind.BY_ELECTION, date(2027, 5, 6))


def test_validate_schedule() -> None:
    now = london(date(2027, 4, 20), time(10))
    validate_schedule(london(date(2027, 4, 20), time(11)), now)
    with pytest.raises(GuardrailInputError, match="in the past"):
        validate_schedule(london(date(2027, 4, 20), time(9)), now)
    with pytest.raises(GuardrailInputError, match="time zone"):
        validate_schedule(datetime(2027, 4, 21, 10), now)

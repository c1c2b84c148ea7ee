"""Warming up before a fork: the bank-holiday calendars and platform libraries are loaded."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from gateway.domain.guardrails.clock import bank_holidays
from gateway.warmup import warm_up


def test_warm_up_loads_the_calendars_around_now_and_the_adapters():
    bank_holidays.cache_clear()
    warm_up("SCT", now=datetime(2027, 12, 31, 23, 0, tzinfo=UTC))
    info = bank_holidays.cache_info()
    assert info.currsize == 3 and info.misses == 3
    # New Year's Day 2028 and St Andrew's Day 2027 are Scottish bank holidays: already loaded
    from datetime import date

    assert date(2028, 1, 1) in bank_holidays("SCT", 2028)
    assert date(2027, 11, 30) in bank_holidays("SCT", 2027)
    assert bank_holidays.cache_info().misses == 3
    assert "tweepy" in sys.modules and "facebook" in sys.modules

"""The gateway's clock: the system clock, moved by a fixed offset in training, soaks and tests.

Every process of the gateway (web, workers, scheduler, the CLI) reads the time through
:func:`now` (``gateway.models.base.utcnow``) or :func:`epoch`. In production they are the
system clock. ``GATEWAY_CLOCK_OFFSET_SECONDS`` moves them by a fixed number of seconds, so that
processes started at different moments agree on one moved clock that keeps running at the
system's pace: the soak (``bench/soak.py --dst october``) runs the whole stack from a few
minutes before the clocks change in Europe/London (issue 19). The settings refuse it with
``GATEWAY_ENV=production``: a council's real posts must go out by the real clock.

Libraries keep the system clock. RQ stamps its worker heartbeats and keeps its scheduled jobs
by it, so times handed to RQ or read from it go through :func:`to_system` and
:func:`from_system`. A platform keeps its own clock too: a moved gateway must talk to a
platform moved by the same offset (the soak's fake platform is), or its look-ups, which compare
the platform's timestamps with the attempt's, would be wrong.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def set_offset(seconds: float) -> None:
    """Move this process's clock ``seconds`` from the system clock (0: the system clock)."""
    global _offset
    _offset = timedelta(seconds=seconds)


def offset_seconds() -> float:
    return _offset.total_seconds()


def now() -> datetime:
    """The gateway's time, an aware UTC datetime."""
    return datetime.now(UTC) + _offset


def epoch() -> float:
    """The gateway's time in seconds since the epoch (as ``time.time()``)."""
    return time.time() + _offset.total_seconds()


def to_system(at: datetime) -> datetime:
    """A gateway time as the system clock reads it (for RQ's ``enqueue_at``)."""
    return at - _offset


def from_system(at: datetime) -> datetime:
    """A time stamped by the system clock (an RQ heartbeat) as gateway time."""
    return at + _offset

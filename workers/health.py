"""The daily token check (issue 15): queued by the scheduler's sweep, run by a worker."""

from __future__ import annotations

from gateway.oauth import health


def check_channels() -> dict[str, int]:
    return health.check_due_channels()

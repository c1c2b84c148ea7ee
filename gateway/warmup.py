"""Load once, in a parent process before it forks, what every worker would load on first use.

The first publish in a fresh worker process used to take most of a second more than the next
(sampled with py-spy under bench/bench_publish.py): SQLAlchemy configures its mappers on the
first query, the ``holidays`` package builds its UK calendars lazily (about 0.25 s), and the
platform libraries are imported on first use. The worker pool and gunicorn fork their
processes from a parent that has done this, so each child starts warm (copy-on-write) and the
first emergency post of the night is as quick as the rest.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

#: Imported by every publish: the adapters and their client libraries.
MODULES = ("gateway.platforms.x", "gateway.platforms.graph", "gateway.domain.guardrails.engine")


def warm_up(nation: str, *, now: datetime | None = None) -> None:
    from sqlalchemy.orm import configure_mappers

    import gateway.models  # noqa: F401 - every mapped class, before configuring them
    from gateway.domain.guardrails.clock import bank_holidays

    for name in MODULES:
        importlib.import_module(name)
    # SQLAlchemy configures every mapper on the first query (about 0.3 s); strptime compiles
    # its patterns on first use.
    configure_mappers()
    datetime.strptime("2027-01-01 10:00", "%Y-%m-%d %H:%M")
    year = (now or datetime.now(UTC)).year
    for each in (year - 1, year, year + 1):  # a post may be checked across New Year
        bank_holidays(nation, each)

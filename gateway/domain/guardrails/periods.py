"""Pre-election periods in force: computed once per PolicyContext, asked per check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from gateway.domain.guardrails.clock import LONDON, pre_election_period
from gateway.domain.guardrails.model import Election, ElectionKind, PolicyContext


@dataclass(frozen=True)
class ActivePeriod:
    election: Election
    start: datetime
    end: datetime
    assumed: bool

    @property
    def council_wide(self) -> bool:
        return self.election.kind is not ElectionKind.BY_ELECTION

    @cached_property
    def description(self) -> str:
        """Computed once per period (the context caches its periods)."""
        return self.describe()

    def describe(self) -> str:
        e = self.election
        start = self.start.astimezone(LONDON)
        when = f"from {start.day} {start:%B %Y}" + (
            " (assumed: no notice of election date recorded yet)" if self.assumed else ""
        )
        polling = f"{e.polling_day.day} {e.polling_day:%B %Y}"
        # The default name already gives polling day; a council's own name may not.
        day = "" if polling in e.title else f" (polling day {polling})"
        return f"the pre-election period for {e.title}{day}, {when}"


def active_periods(at: datetime, context: PolicyContext) -> list[ActivePeriod]:
    """Pre-election periods in force at ``at``."""
    return [p for p in context.periods if p.start <= at < p.end]


def all_periods(context: PolicyContext) -> tuple[ActivePeriod, ...]:
    """Every recorded election's period (cached on the context as ``context.periods``)."""
    periods = []
    for election in context.elections:
        start, end, assumed = pre_election_period(election, context.holiday_nation)
        periods.append(ActivePeriod(election, start, end, assumed))
    return tuple(periods)

"""Plain builders shared by the guardrail tests (no pytest fixtures: the engine is pure)."""

from __future__ import annotations

from datetime import date, datetime, time

from gateway.domain.guardrails import (
    AllowedContacts,
    Election,
    ElectionKind,
    Finding,
    PolicyContext,
    PostToCheck,
    Register,
    check,
    local_to_utc,
)

REGISTER_CSV = """name,party,role,ward
Margaret Okafor,Labour Party,councillor,Quayside
Thomas Brennan,Conservative and Unionist Party,councillor,Northgate
Priya Natarajan,Liberal Democrats,councillor,Saltmarsh
Aisha Rahman,Labour Party,candidate,Northgate
Wendy Ashdown,Vale First Residents,councillor,Fenside
"""
CONTACTS = """# departmental
email-domain: example.gov.uk
phone: 01632 960 000
postcode: HB1 1AA
"""
REGISTER = Register.from_csv(REGISTER_CSV)
ALLOWED = AllowedContacts.from_text(CONTACTS)
POLLING_DAY = date(2027, 5, 6)  # a Thursday
LOCAL = Election(ElectionKind.LOCAL, POLLING_DAY, notice_date=date(2027, 3, 29))
# Tuesday 20 April 2027, 10:00 in London: office hours, inside LOCAL's period.
IN_PERIOD = local_to_utc(date(2027, 4, 20), time(10, 0))
# Tuesday 15 June 2027, 10:00: office hours, no election.
NO_PERIOD = local_to_utc(date(2027, 6, 15), time(10, 0))

OUTSIDE = PolicyContext(REGISTER, (), ALLOWED)
INSIDE = PolicyContext(REGISTER, (LOCAL,), ALLOWED)


def run(
    text: str,
    context: PolicyContext = INSIDE,
    at: datetime = IN_PERIOD,
    channel: str = "facebook",
    **post: object,
) -> list[Finding]:
    return check(PostToCheck(text, **post), channel, at, context)


def rules(findings: list[Finding], outcome: str | None = None) -> set[str]:
    return {f.rule for f in findings if outcome is None or f.outcome.value == outcome}

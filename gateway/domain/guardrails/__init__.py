"""Guardrails: the council's social media policy as a pure engine (issue #4).

No Flask, SQLAlchemy or RQ import anywhere in this package: the web form, the approval step
and the worker all call ``check`` with a ``PolicyContext`` built once and reused.
"""

from gateway.domain.guardrails.clock import (
    AmbiguousLocalTime,
    NonexistentLocalTime,
    OfficeHours,
    is_bank_holiday,
    is_election_working_day,
    local_to_utc,
    pre_election_period,
    referendum_restriction,
    validate_schedule,
)
from gateway.domain.guardrails.engine import (
    EMERGENCY_CATEGORIES,
    active_periods,
    check,
    labels,
    validate_post_length,
)
from gateway.domain.guardrails.media import CHANNELS, bluesky_length, x_weighted_length
from gateway.domain.guardrails.model import (
    AllowedContacts,
    Election,
    ElectionKind,
    Finding,
    GuardrailInputError,
    ImageToCheck,
    Outcome,
    PolicyContext,
    PostToCheck,
    blocks,
)
from gateway.domain.guardrails.register import Person, Register

__all__ = [
    "CHANNELS",
    "bluesky_length",
    "EMERGENCY_CATEGORIES",
    "AllowedContacts",
    "AmbiguousLocalTime",
    "Election",
    "ElectionKind",
    "Finding",
    "GuardrailInputError",
    "ImageToCheck",
    "NonexistentLocalTime",
    "OfficeHours",
    "Outcome",
    "Person",
    "PolicyContext",
    "PostToCheck",
    "Register",
    "active_periods",
    "blocks",
    "check",
    "is_bank_holiday",
    "is_election_working_day",
    "labels",
    "local_to_utc",
    "pre_election_period",
    "referendum_restriction",
    "validate_post_length",
    "validate_schedule",
    "x_weighted_length",
]

"""``check``: may this post go out on this channel at this instant? (issue #4)

The web form asks while an officer drafts, the approval step asks again, and the worker asks
once more at publish time with the context as it is then: an election announced after
approval stops a post that was fine when approved.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from gateway.domain.guardrails.citations import Clause, default_text
from gateway.domain.guardrails.clock import LONDON, require_aware
from gateway.domain.guardrails.media import CHANNELS, find_accessibility, find_platform
from gateway.domain.guardrails.model import (
    Finding,
    GuardrailInputError,
    Outcome,
    PolicyContext,
    PostToCheck,
)
from gateway.domain.guardrails.periods import ActivePeriod, active_periods, all_periods
from gateway.domain.guardrails.personal_data import find_personal_data
from gateway.domain.guardrails.plain import plain_words
from gateway.domain.guardrails.political_outcomes import political_findings

__all__ = ["ActivePeriod", "active_periods", "all_periods", "check", "labels", "shown_once"]

# Swale customer use policy, "Service standards": outside office hours the council posts only
# "in cases of emergencies, bad weather, traffic incidents, stray dogs, and at events that the
# Council has an interest in".
EMERGENCY_CATEGORIES = frozenset(
    {"emergency", "bad weather", "traffic incident", "stray dog", "council event"}
)

HOURS_CLAUSE = default_text(Clause.OFFICE_HOURS)
#: The rule of the office-hours finding: the officers' pages link it to the emergency form.
OFFICE_HOURS_RULE = "office_hours"


def check(
    post: PostToCheck,
    channel: str,
    at: datetime,
    context: PolicyContext,
    *,
    limits: Mapping[str, int] | None = None,
) -> list[Finding]:
    """Every finding for one post on one channel at one instant. ``limits``: the channel's own
    platform limits where its server sets them (a Mastodon instance's)."""
    _validate(post, channel, at)
    text = post.text
    plain = plain_words(text)
    periods = active_periods(at, context)
    findings = political_findings(text, plain, context, periods, at)
    findings += find_personal_data(text, context.contacts, plain)
    findings += context.offensive.find(text, plain)
    findings += find_accessibility(text, post.images)
    findings += find_platform(text, post.images, channel, limits)
    findings += _office_hours(post, at, context)
    return context.citations.apply(_dedupe(findings))


def _validate(post: PostToCheck, channel: str, at: datetime) -> None:
    if not isinstance(post.text, str) or not post.text.strip():
        raise GuardrailInputError("The post is empty: write the text of the post.")
    if channel not in CHANNELS:
        raise GuardrailInputError(f"Unknown channel {channel!r}: use one of {', '.join(CHANNELS)}.")
    require_aware(at, "time to check")
    category = post.emergency_category
    if category is not None and category not in EMERGENCY_CATEGORIES:
        raise GuardrailInputError(
            f"Unknown emergency category {category!r}: use one of "
            f"{', '.join(sorted(EMERGENCY_CATEGORIES))}."
        )


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, tuple[int, int] | None, str | None]] = set()
    out = []
    for f in findings:
        key = (f.rule, f.span, f.matched)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


_STRENGTH = {Outcome.BLOCK: 0, Outcome.REFER: 1, Outcome.ADVISE: 2}


def _family(rule: str) -> str:
    """Rules that judge the same thing: every political rule is one family (the
    ``party_political`` label reads them together), the others go by their prefix."""
    if rule.startswith(PARTY_POLITICAL_PREFIXES):
        return "political"
    return rule.split(".", 1)[0]


def shown_once(findings: list[Finding]) -> list[Finding]:
    """The findings a person needs to read, each once (issue 22: "the same finding shown
    twice"), strongest first, in the order found within each outcome.

    Left out: a finding another of its family already says as strongly about the same words,
    or about words around them ("Vote Labour" is campaign phrasing, blocked; that it also asks
    for votes, referred, or names a party, adds nothing the officer must change); and a
    finding repeated word for word (the same number twice in a post). ``check`` itself keeps
    every finding: the publish log records them all, and the corpus labels read them.
    """
    # Strongest first, and within an outcome the longest words first, so the finding that
    # covers the others is the one kept.
    ordered = sorted(
        enumerate(findings),
        key=lambda item: (_STRENGTH[item[1].outcome], -_length(item[1]), item[0]),
    )
    kept: list[tuple[int, Finding]] = []
    said: set[tuple[str, Outcome, str, str | None]] = set()
    for index, f in ordered:
        words = (f.rule, f.outcome, f.reason, f.matched)
        if words in said or _covered(f, [k for _, k in kept]):
            continue
        said.add(words)
        kept.append((index, f))
    kept.sort(key=lambda item: (_STRENGTH[item[1].outcome], item[0]))
    return [f for _, f in kept]


def _length(finding: Finding) -> int:
    return finding.span[1] - finding.span[0] if finding.span else 0


def _covered(finding: Finding, kept: list[Finding]) -> bool:
    if finding.span is None:
        return False
    start, end = finding.span
    family = _family(finding.rule)
    return any(
        k.span is not None
        and k.span[0] <= start
        and end <= k.span[1]
        and _family(k.rule) == family
        and _STRENGTH[k.outcome] <= _STRENGTH[finding.outcome]
        for k in kept
    )


def _office_hours(post: PostToCheck, at: datetime, context: PolicyContext) -> list[Finding]:
    hours = context.office_hours
    if hours.is_open(at):
        return []
    local = at.astimezone(LONDON)
    if post.emergency_category:
        return [
            Finding(
                OFFICE_HOURS_RULE,
                Outcome.ADVISE,
                f"Outside office hours ({local:%A %-d %B %H:%M}), allowed as a "
                f"{post.emergency_category} post.",
                HOURS_CLAUSE,
            )
        ]
    opening = hours.next_opening(at).astimezone(LONDON)
    return [
        Finding(
            OFFICE_HOURS_RULE,
            Outcome.BLOCK,
            f"{local:%A %-d %B %Y %H:%M} is outside office hours (Monday to Thursday "
            "9:00-17:00, Friday 9:00-16:30, not bank holidays or closure days). The accounts "
            f"open next at {opening:%A %-d %B %H:%M}. Only emergencies may be posted out of "
            "hours: if this is one, send it as an emergency post.",
            HOURS_CLAUSE,
        )
    ]


def validate_post_length(post: PostToCheck, channel: str) -> None:
    """Raise GuardrailInputError when the text is over the channel's limit (for callers that
    want an exception rather than a finding, such as an API validating input)."""
    for f in find_platform(post.text, post.images, channel):
        if f.rule.endswith(".length"):
            raise GuardrailInputError(f.reason)


PARTY_POLITICAL_PREFIXES = ("pre_election.", "party_political")


def labels(findings: list[Finding]) -> dict[str, bool]:
    """The three corpus labels from findings: party_political means blocked or referred by a
    political rule (asked inside a pre-election period by ``classify``)."""
    stops = (Outcome.BLOCK, Outcome.REFER)
    return {
        "party_political": any(
            f.rule.startswith(PARTY_POLITICAL_PREFIXES) and f.outcome in stops for f in findings
        ),
        "personal_data": any(
            f.rule.startswith("personal_data.") and f.outcome is Outcome.BLOCK for f in findings
        ),
        "offensive": any(f.rule == "offensive" and f.outcome is Outcome.BLOCK for f in findings),
    }

"""``check``: may this post go out on this channel at this instant? (issue #4)

The web form asks while an officer drafts, the approval step asks again, and the worker asks
once more at publish time with the context as it is then: an election announced after
approval stops a post that was fine when approved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from gateway.domain.guardrails.clock import (
    LONDON,
    pre_election_period,
    referendum_restriction,
    require_aware,
)
from gateway.domain.guardrails.media import CHANNELS, find_accessibility, find_platform
from gateway.domain.guardrails.model import (
    Election,
    ElectionKind,
    Finding,
    GuardrailInputError,
    Outcome,
    PolicyContext,
    PostToCheck,
)
from gateway.domain.guardrails.personal_data import find_personal_data
from gateway.domain.guardrails.plain import plain_words
from gateway.domain.guardrails.political import CIVIC_ROLE, HONORIFIC_AND_SURNAME, PoliticalHit
from gateway.domain.guardrails.register import fold

# Swale customer use policy, "Service standards": outside office hours the council posts only
# "in cases of emergencies, bad weather, traffic incidents, stray dogs, and at events that the
# Council has an interest in".
EMERGENCY_CATEGORIES = frozenset(
    {"emergency", "bad weather", "traffic incident", "stray dog", "council event"}
)

CODE = "Code of Recommended Practice on Local Authority Publicity, paras 33-35"
SWALE_PRE = "Swale customer use policy, 'Pre-election period'"
CROMER_PARTY = "Cromer social media policy 4"
PRE_CLAUSE = f"{CODE}; {SWALE_PRE}"
PARTY_CLAUSE = f"{CROMER_PARTY}; Local Government Act 1986, s.2"
_PRE_WHY = (
    "In a pre-election period the council must not publish anything that could be seen to "
    "support a political party or candidate (Code of Recommended Practice on Local Authority "
    "Publicity, para. 34; Swale policy, 'Pre-election period')"
)
_PARTY_WHY = (
    "Council publicity is never party-political: staff must not publish material for any party "
    "political purposes (Cromer social media policy 4), and a council may not publish material "
    "designed to affect support for a political party, including references to a party or to "
    "people identified with one (Local Government Act 1986, s.2)"
)
HOURS_CLAUSE = "Swale customer use policy, 'Service standards'"


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
        label = e.name or f"{e.kind.value} election"
        start = self.start.astimezone(LONDON)
        when = f"from {start:%d %B %Y}" + (
            " (assumed: no notice of election date recorded yet)" if self.assumed else ""
        )
        return f"the pre-election period for the {label} on {e.polling_day:%d %B %Y}, {when}"


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


def check(post: PostToCheck, channel: str, at: datetime, context: PolicyContext) -> list[Finding]:
    """Every finding for one post on one channel at one instant."""
    _validate(post, channel, at)
    text = post.text
    plain = plain_words(text)
    periods = active_periods(at, context)
    findings = _political(text, plain, context, periods, at)
    findings += find_personal_data(text, context.contacts, plain)
    findings += context.offensive.find(text, plain)
    findings += find_accessibility(text, post.images)
    findings += find_platform(text, post.images, channel)
    findings += _office_hours(post, at, context)
    return _dedupe(findings)


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


def _office_hours(post: PostToCheck, at: datetime, context: PolicyContext) -> list[Finding]:
    hours = context.office_hours
    if hours.is_open(at):
        return []
    local = at.astimezone(LONDON)
    if post.emergency_category:
        return [
            Finding(
                "office_hours",
                Outcome.ADVISE,
                f"Outside office hours ({local:%A %d %B %H:%M}), allowed as a "
                f"{post.emergency_category} post. {HOURS_CLAUSE}: emergencies, bad weather, "
                "traffic incidents, stray dogs and council events may be posted out of hours.",
                HOURS_CLAUSE,
            )
        ]
    opening = hours.next_opening(at).astimezone(LONDON)
    return [
        Finding(
            "office_hours",
            Outcome.BLOCK,
            f"{local:%A %d %B %Y %H:%M} is outside office hours (Monday to Thursday 9:00-17:00, "
            "Friday 9:00-16:30, not bank holidays or closure days). The accounts open next at "
            f"{opening:%A %d %B %H:%M}. {HOURS_CLAUSE}: only emergencies may be posted out of "
            "hours; choose an emergency category if this is one.",
            HOURS_CLAUSE,
        )
    ]


def _political(
    text: str,
    plain: frozenset[str],
    context: PolicyContext,
    periods: list[ActivePeriod],
    at: datetime,
) -> list[Finding]:
    hits = context.political.scan(text, plain)
    council_wide = next((p for p in periods if p.council_wide), None)
    by_elections = [p for p in periods if not p.council_wide]
    findings: list[Finding] = []
    for hit in hits:
        finding = _political_finding(hit, council_wide, by_elections, periods)
        if finding is not None:
            findings.append(finding)
    findings += _referendum(text, context, at)
    return findings


def _pre(
    hit: PoliticalHit, rule: str, outcome: Outcome, what: str, period: ActivePeriod
) -> Finding:
    return Finding(
        rule,
        outcome,
        f"{what}. It is {period.description}. {_PRE_WHY}.",
        PRE_CLAUSE,
        hit.span,
        hit.matched,
    )


def _person_words(hit: PoliticalHit) -> str:
    people = "; ".join(
        f"{p.name}, {p.role} ({p.party}{', ' + p.ward if p.ward else ''})" for p in hit.people
    )
    return f"{hit.matched!r} ({hit.how}) names {people}"


def _political_finding(
    hit: PoliticalHit,
    council_wide: ActivePeriod | None,
    by_elections: list[ActivePeriod],
    periods: list[ActivePeriod],
) -> Finding | None:
    kind = hit.kind
    any_period = council_wide or (by_elections[0] if by_elections else None)
    if hit.how == CIVIC_ROLE and any_period and _civic_allowed(hit, periods):
        return _pre(hit, "pre_election.councillor_publicity", Outcome.ADVISE,
                    f"{hit.matched!r} is named in a civic role (mayor or chair of the "
                    "council), which carries on in the period: keep the post to civic "
                    "duties, with no political content or quotes", any_period)  # fmt: skip
    if kind == "person":
        if hit.how == HONORIFIC_AND_SURNAME:
            if any_period:
                return _pre(hit, "pre_election.councillor_publicity", Outcome.ADVISE,
                            f"{_person_words(hit)}, if this is the same person",
                            any_period)  # fmt: skip
            return None
        if council_wide:
            return _pre(
                hit,
                "pre_election.councillor_publicity",
                Outcome.BLOCK,
                f"{_person_words(hit)}: no publicity for councillors or candidates",
                council_wide,
            )
        for period in by_elections:
            wards = {fold(w) for w in period.election.wards}
            if any(fold(p.ward) in wards for p in hit.people):
                return _pre(
                    hit,
                    "pre_election.councillor_publicity",
                    Outcome.BLOCK,
                    f"{_person_words(hit)}, who stands or serves in a ward with a "
                    "by-election: blocked council-wide",
                    period,
                )
        if by_elections:
            return _pre(
                hit,
                "pre_election.councillor_publicity",
                Outcome.ADVISE,
                f"{_person_words(hit)}: not in a by-election ward, but take care",
                by_elections[0],
            )
        if hit.party:
            return Finding(
                "party_political.party_label",
                Outcome.REFER,
                f"{hit.matched!r} is linked to the {hit.party}. {_PARTY_WHY}.",
                PARTY_CLAUSE,
                hit.span,
                hit.matched,
            )
        return None
    if kind in ("councillor_title", "party_label"):
        what = (
            f"{hit.matched!r} names a councillor"
            if kind == "councillor_title"
            else f"{hit.matched!r} labels a person by party"
        )
        if any_period:
            outcome = Outcome.BLOCK if council_wide or kind == "party_label" else Outcome.REFER
            return _pre(
                hit,
                "pre_election.councillor_publicity",
                outcome,
                f"{what}: no publicity for councillors or candidates",
                any_period,
            )
        if kind == "party_label":
            return Finding(
                "party_political.party_label",
                Outcome.REFER,
                f"{what}. {_PARTY_WHY}.",
                PARTY_CLAUSE,
                hit.span,
                hit.matched,
            )
        return None
    if kind == "quote":
        if any_period:
            return _pre(hit, "pre_election.councillor_quote", Outcome.REFER,
                        f"{hit.matched!r} quotes a councillor's views by their role; publish "
                        "decisions factually, quoting an officer instead", any_period)  # fmt: skip
        return None
    if kind == "politician":
        if any_period:
            return _pre(
                hit,
                "pre_election.politician",
                Outcome.REFER,
                f"{hit.matched!r} names an elected politician, who may be a candidate",
                any_period,
            )
        return None
    if kind == "party":
        if any_period:
            return _pre(
                hit,
                "party_political.party_name",
                Outcome.BLOCK,
                f"{hit.matched!r} names a political party ({hit.party})",
                any_period,
            )
        return Finding(
            "party_political.party_name",
            Outcome.REFER,
            f"{hit.matched!r} names a political party ({hit.party}); crediting or "
            f"attacking a party or group is never allowed. {_PARTY_WHY}.",
            PARTY_CLAUSE,
            hit.span,
            hit.matched,
        )
    if kind in ("campaign", "slogan"):
        what = "campaign phrasing" if kind == "campaign" else "a party or campaign slogan"
        return Finding(
            f"party_political.{kind}",
            Outcome.BLOCK,
            f"{hit.matched!r} is {what}, which seeks to influence voters. {_PARTY_WHY}."
            + (f" It is also {any_period.description}." if any_period else ""),
            PARTY_CLAUSE,
            hit.span,
            hit.matched,
        )
    if kind == "controversial":
        if any_period:
            return _pre(
                hit,
                "pre_election.controversial",
                Outcome.REFER,
                f"{hit.matched!r} takes a side on a politically controversial issue; "
                "refer it to the monitoring officer",
                any_period,
            )
        return Finding(
            "party_political.controversial",
            Outcome.REFER,
            f"{hit.matched!r} attacks a government or party; refer it to the "
            f"monitoring officer. {_PARTY_WHY}.",
            PARTY_CLAUSE,
            hit.span,
            hit.matched,
        )
    if kind == "vote_for":
        if any_period:
            return _pre(
                hit,
                "pre_election.influence",
                Outcome.REFER,
                f"{hit.matched!r} asks for votes; only election administration (how, "
                "when and where to vote) may be published",
                any_period,
            )
        return Finding(
            "party_political.influence",
            Outcome.ADVISE,
            f"{hit.matched!r} asks for votes: fine for an award, not for an election.",
            PARTY_CLAUSE,
            hit.span,
            hit.matched,
        )
    return None


def _civic_allowed(hit: PoliticalHit, periods: list[ActivePeriod]) -> bool:
    """A civic mayor may be named unless standing, or unless a mayoral election is on (then
    "mayor" is a political office)."""
    if any(p.election.kind is ElectionKind.MAYORAL for p in periods):
        return False
    return not any(p.is_candidate for p in hit.people)


def _referendum(text: str, context: PolicyContext, at: datetime) -> list[Finding]:
    findings = []
    lowered = text.casefold()
    for election in context.elections:
        window = referendum_restriction(election)
        if window is None or not window[0] <= at < window[1]:
            continue
        for term in election.subject_terms:
            index = lowered.find(term.casefold())
            if index >= 0:
                span = (index, index + len(term))
                findings.append(
                    Finding(
                        "pre_election.referendum_subject",
                        Outcome.BLOCK,
                        f"{text[span[0] : span[1]]!r} is about the subject of the referendum on "
                        f"{election.polling_day:%d %B %Y}: in the 28 days before it the council "
                        "publishes nothing about its subject, not even general information. "
                        f"{_PRE_WHY}.",
                        PRE_CLAUSE,
                        span,
                        text[span[0] : span[1]],
                    )
                )
    return findings


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

"""Outcomes of political findings: what each kind of hit means at this instant.

``political`` finds names, parties, campaigning and controversy; this module decides, from the
pre-election periods in force, whether each blocks, is referred or is only advised (issue #4,
rules 1 and 2), and words the reason with the clause it comes from.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache

from gateway.domain.guardrails.citations import Clause, default_text
from gateway.domain.guardrails.clock import referendum_restriction
from gateway.domain.guardrails.model import ElectionKind, Finding, Outcome, PolicyContext
from gateway.domain.guardrails.periods import ActivePeriod
from gateway.domain.guardrails.political import CIVIC_ROLE, HONORIFIC_AND_SURNAME, PoliticalHit
from gateway.domain.guardrails.register import fold

PRE_CLAUSE = default_text(Clause.PRE_ELECTION)
PARTY_CLAUSE = default_text(Clause.PARTY_POLITICAL)


def political_findings(
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
        f"{what}. It is {period.description}.",
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
            # "Mrs Okafor" is a register member's surname after an honorific: most often the
            # member (posts about residents rarely give a title and surname), but it may be
            # another Okafor, so the monitoring officer decides rather than a block.
            if any_period:
                return _pre(hit, "pre_election.councillor_publicity", Outcome.REFER,
                            f"{_person_words(hit)}, if this is the same person; if it is "
                            "someone else, the monitoring officer can clear it",
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
                f"{hit.matched!r} is linked to the {hit.party}.",
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
                f"{what}.",
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
            "attacking a party or group is never allowed.",
            PARTY_CLAUSE,
            hit.span,
            hit.matched,
        )
    if kind in ("campaign", "slogan"):
        what = "campaign phrasing" if kind == "campaign" else "a party or campaign slogan"
        return Finding(
            f"party_political.{kind}",
            Outcome.BLOCK,
            f"{hit.matched!r} is {what}, which seeks to influence voters."
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
            f"{hit.matched!r} attacks a government or party; refer it to the monitoring officer.",
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
    for election in context.elections:
        window = referendum_restriction(election)
        if window is None or not window[0] <= at < window[1]:
            continue
        for term in election.subject_terms:
            for match in subject_pattern(term).finditer(text):
                span = match.span()
                findings.append(
                    Finding(
                        "pre_election.referendum_subject",
                        Outcome.BLOCK,
                        f"{match.group()!r} is about the subject of the referendum on "
                        f"{election.polling_day:%d %B %Y}: in the 28 days before it the council "
                        "publishes nothing about its subject, not even general information.",
                        PRE_CLAUSE,
                        span,
                        match.group(),
                    )
                )
                break  # one finding a term is enough to stop the post
    return findings


@cache
def subject_pattern(term: str) -> re.Pattern[str]:
    """A referendum subject as whole words: "parish council" matches "Parish Councils" and
    "parish  council" across a line break, but "pier" not "pierce" nor "cashier" (the term
    used to be found as a substring). A plural -s/-es is allowed on the last word."""
    words = re.findall(r"[^\W_]+", term)
    if not words:
        return re.compile(r"(?!)")  # a term of punctuation only names nothing
    body = r"[\s\-'’]+".join(re.escape(w) for w in words)
    return re.compile(rf"(?<![^\W_])(?:{body})(?:e?s)?(?![^\W_])", re.IGNORECASE)

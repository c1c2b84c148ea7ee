"""The policy clause each finding cites, in the council's own words (issue 22, item 9).

The rules were drawn from several councils' social media policies (see docs/guardrails.md),
but a finding shown to Harbourside's officers must not cite Swale, Dover or Cromer. Each
finding cites one of the clauses below. By default the citation is the clause's text, naming no
council (the statutes it rests on are named: they bind every council). An installation names
its own policy and clause number for each ("Harbourside social media policy, clause 6.1"), kept
by an admin (gateway.admin.policy) and passed in as :class:`Citations` on the PolicyContext;
the finding then cites "Harbourside social media policy, clause 6.1: <the clause's text>".

The rules' own modules build findings with the default text (``CLAUSES[clause].text``);
``Citations.apply`` swaps it for the council's citation, so no rule needs to know.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.domain.guardrails.model import Finding


class Clause(StrEnum):
    PRE_ELECTION = "pre_election"
    PARTY_POLITICAL = "party_political"
    PERSONAL_DATA = "personal_data"
    OFFENSIVE = "offensive"
    ACCESSIBILITY = "accessibility"
    OFFICE_HOURS = "office_hours"


@dataclass(frozen=True)
class ClauseText:
    #: What the clause is about, as the admin's form labels it.
    title: str
    #: What it says, naming no council: the default citation.
    text: str


CLAUSES: dict[Clause, ClauseText] = {
    Clause.PRE_ELECTION: ClauseText(
        "Pre-election period",
        "In a pre-election period the council publishes nothing that could be seen to support "
        "a political party or candidate (Code of Recommended Practice on Local Authority "
        "Publicity, paras 33-35)",
    ),
    Clause.PARTY_POLITICAL: ClauseText(
        "Party politics",
        "Council publicity is never party-political: nothing is published for party political "
        "purposes, nor anything designed to affect support for a political party, including "
        "references to a party or to people identified with one (Local Government Act 1986, s.2)",
    ),
    Clause.PERSONAL_DATA: ClauseText(
        "Contact details and personal information",
        "Only departmental email addresses and contact telephone numbers are given, and nobody's "
        "personal information is published",
    ),
    Clause.OFFENSIVE: ClauseText(
        "Offensive content",
        "Nothing abusive, threatening, obscene, profane, discriminatory or otherwise offensive is "
        "published, including abbreviations of such words",
    ),
    Clause.ACCESSIBILITY: ClauseText(
        "Accessibility",
        "Information shared on social media should be accessible to the widest possible number "
        "of people",
    ),
    Clause.OFFICE_HOURS: ClauseText(
        "Office hours",
        "Outside office hours the council posts only about emergencies, bad weather, traffic "
        "incidents, stray dogs and events it has an interest in",
    ),
}

#: The longest citation an admin may give one clause.
MAX_CITATION_CHARS = 200


def default_text(clause: Clause) -> str:
    return CLAUSES[clause].text


@dataclass(frozen=True)
class Citations:
    """The council's own citation of each clause it has named; the others cite their text.
    Immutable and hashable, as the PolicyContext that carries it."""

    named: tuple[tuple[Clause, str], ...] = ()
    _by_default: dict[str, str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "_by_default",
            {CLAUSES[clause].text: self.cite(clause) for clause, _ in self.named},
        )

    @classmethod
    def of(cls, names: Mapping[str, str] | Iterable[tuple[str, str]]) -> Citations:
        """From clause keys and the council's citations; unknown keys and empty citations are
        left out (the clause then cites its text)."""
        pairs = names.items() if isinstance(names, Mapping) else names
        known = {c.value: c for c in Clause}
        chosen = {
            known[key]: " ".join(own.split())
            for key, own in pairs
            if key in known and own and own.strip()
        }
        return cls(tuple(sorted(chosen.items())))

    @cached_property
    def _names(self) -> dict[Clause, str]:
        return dict(self.named)

    def own(self, clause: Clause) -> str | None:
        """The council's citation of ``clause``, or None."""
        return self._names.get(clause)

    def cite(self, clause: Clause) -> str:
        """What a finding under ``clause`` cites."""
        text = CLAUSES[clause].text
        own = self._names.get(clause)
        return f"{own}: {text}" if own else text

    def apply(self, findings: list[Finding]) -> list[Finding]:
        """``findings`` citing the council's own clauses (unchanged when it named none)."""
        if not self._by_default:
            return findings
        table = self._by_default
        return [replace(f, clause=table[f.clause]) if f.clause in table else f for f in findings]

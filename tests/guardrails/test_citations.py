"""Findings cite the installation's own policy clauses, or the clause's words naming no council
(issue 22, item 9a)."""

from __future__ import annotations

import dataclasses
from datetime import date, time

import pytest

from gateway.domain.guardrails import ImageToCheck, labels, local_to_utc
from gateway.domain.guardrails.citations import CLAUSES, Citations, Clause
from tests.guardrails.helpers import INSIDE, run

#: A post that trips a rule under every council clause, on a Saturday in the pre-election
#: period, with an image whose alt text is its file name.
EVERYTHING = (
    "Vote Labour! Cllr Okafor says call Mrs Jane Smith on 07700 900461, you muppets "
    "#bincollectionday"
)
SATURDAY_IN_PERIOD = local_to_utc(date(2027, 4, 24), time(11))
IMAGE = ImageToCheck("IMG_2041.jpg", "IMG_2041.jpg", "image/jpeg", 50_000, 800, 600)
OTHER_COUNCILS = ("Swale", "Dover", "Cromer")


def _everything(context=INSIDE):
    return run(EVERYTHING, context, at=SATURDAY_IN_PERIOD, images=(IMAGE,))


def test_by_default_no_finding_names_a_council():
    findings = _everything()
    cited = {f.clause for f in findings}
    # Every council clause is cited by its words; platform limits cite the platform.
    for clause in Clause:
        assert CLAUSES[clause].text in cited, clause
    for finding in findings:
        for council in OTHER_COUNCILS:
            assert council not in finding.reason, finding
            assert council not in finding.clause, finding


def test_the_councils_own_citation_is_cited_before_the_clause_words():
    citations = Citations.of(
        {
            "personal_data": "Harbourside social media policy, clause 6.1",
            "offensive": "  Harbourside   moderation policy 2 ",
            "not_a_clause": "ignored",
            "office_hours": "   ",
        }
    )
    assert citations.own(Clause.PERSONAL_DATA) == "Harbourside social media policy, clause 6.1"
    assert citations.own(Clause.OFFENSIVE) == "Harbourside moderation policy 2"
    assert citations.own(Clause.OFFICE_HOURS) is None
    context = dataclasses.replace(INSIDE, citations=citations)
    by_rule = {f.rule: f.clause for f in _everything(context)}
    assert by_rule["personal_data.phone"] == (
        "Harbourside social media policy, clause 6.1: " + CLAUSES[Clause.PERSONAL_DATA].text
    )
    assert by_rule["offensive"].startswith("Harbourside moderation policy 2: ")
    # A clause the council did not name cites its words.
    assert by_rule["office_hours"] == CLAUSES[Clause.OFFICE_HOURS].text
    # Only the citation changes: the same findings, the same labels.
    plain = _everything()
    named = _everything(context)
    assert [(f.rule, f.outcome, f.span, f.reason) for f in plain] == [
        (f.rule, f.outcome, f.span, f.reason) for f in named
    ]
    assert labels(plain) == labels(named)


def test_citations_are_values_the_cached_context_can_hold():
    one = Citations.of({"pre_election": "Policy 7"})
    assert one == Citations.of([("pre_election", "Policy 7")])
    assert hash(one) == hash(Citations.of({"pre_election": "Policy 7"}))
    assert one != Citations()
    hash(dataclasses.replace(INSIDE, citations=one))
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.named = ()  # type: ignore[misc]

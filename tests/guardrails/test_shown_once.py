"""Each finding shown once (issue 22, item 9b): the engine keeps every finding for the log and
the labels; ``shown_once`` is what a person reads."""

from __future__ import annotations

from gateway.domain.guardrails import Finding, Outcome, labels
from gateway.domain.guardrails.engine import shown_once
from tests.guardrails.helpers import run


def _said(findings: list[Finding]) -> list[tuple[str, str, str | None]]:
    return [(f.rule, f.outcome.value, f.matched) for f in findings]


def test_words_judged_by_two_rules_of_a_family_are_one_finding():
    found = run("Vote Labour on Thursday.")
    # The engine finds three things about the same words...
    assert {f.rule for f in found} >= {
        "party_political.campaign",
        "pre_election.influence",
        "party_political.party_name",
    }
    # ...the officer reads one: the campaign phrasing is blocked, and it covers the rest.
    assert _said(shown_once(found)) == [("party_political.campaign", "block", "Vote Labour")]
    assert labels(shown_once(found)) == labels(found)


def test_a_weaker_finding_about_words_inside_a_stronger_one_goes_stronger_words_stay():
    found = run("The cabinet member for housing, Cllr Priya Natarajan, said the flats are open.")
    shown = shown_once(found)
    # The councillor's name is blocked; the quote around it is referred: both stay, as the
    # stronger finding is the inner one.
    assert ("pre_election.councillor_publicity", "block", "Cllr Priya Natarajan") in _said(shown)
    assert any(rule == "pre_election.councillor_quote" for rule, _, _ in _said(shown))


def test_other_families_are_never_folded_together():
    found = run("Vote Labour, you muppets.")
    shown = _said(shown_once(found))
    assert ("offensive", "block", "muppets") in shown
    assert ("party_political.campaign", "block", "Vote Labour") in shown


def test_the_same_words_twice_are_said_once_strongest_first():
    text = "Call 07700 900461 today. Again, that is 07700 900461."
    found = [f for f in run(text) if f.rule == "personal_data.phone"]
    assert len(found) == 2
    assert len(shown_once(found)) == 1
    advice = Finding("accessibility.emoji", Outcome.ADVISE, "Use words.", "c", (0, 1), None)
    block = Finding("offensive", Outcome.BLOCK, "'x' is offensive.", "c", (5, 6), "x")
    assert shown_once([advice, block]) == [block, advice]
    assert shown_once([]) == []

"""Register people named loosely: initials, titles, misspellings, hyphens (issue #4 rule 1).

A register of its own (names and places found in no corpus), so the rules are seen to work
from the register alone.
"""

from __future__ import annotations

import pytest

from gateway.domain.guardrails import PolicyContext, Register
from gateway.domain.guardrails.register import one_edit_apart
from tests.guardrails.helpers import ALLOWED, LOCAL, NO_PERIOD, rules, run

PUBLICITY = "pre_election.councillor_publicity"
PEOPLE = Register.from_csv(
    """name,party,role,ward
Rosalind Featherstone,Labour Party,councillor,Upper Ditton
Eilidh Macpherson,Scottish National Party,councillor,Kilbride
Bartholomew Quigley,Conservative and Unionist Party,councillor,Ditton
Nia Pryce-Jenkins,Plaid Cymru,candidate,Aberllan
Joseph Wainwright,Green Party,councillor,Ditton
Ada Lin,Liberal Democrats,councillor,Harrowfield
"""
)
INSIDE = PolicyContext(PEOPLE, (LOCAL,), ALLOWED)
OUTSIDE = PolicyContext(PEOPLE, (), ALLOWED)


def _publicity(text: str, outcome: str = "block") -> set[str]:
    return {
        f.matched for f in run(text, INSIDE) if f.rule == PUBLICITY and f.outcome.value == outcome
    }


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("R. Featherstone opened the Ditton food bank.", "R. Featherstone"),
        ("R.A. Featherstone opened the Ditton food bank.", "R.A. Featherstone"),
        ("R Featherstone opened the Ditton food bank.", "R Featherstone"),
        ("Thanks to Cllr R Featherstone for her help.", "Cllr R Featherstone"),
        ("Thanks to Cllr. J. Wainwright for his help.", "Cllr. J. Wainwright"),
        ("N. Pryce-Jenkins met traders in Aberllan.", "N. Pryce-Jenkins"),
        ("N. Pryce Jenkins met traders in Aberllan.", "N. Pryce Jenkins"),
        ("Nia Pryce Jenkins met traders in Aberllan.", "Nia Pryce Jenkins"),
        ("Joe Wainwright planted the first tree.", "Joe Wainwright"),  # known short form
        ("Councillor Quigley planted the first tree.", "Councillor Quigley"),
        ("Leader Quigley planted the first tree.", "Leader Quigley"),
    ],
)
def test_initials_titles_and_hyphens_name_a_member(text: str, named: str) -> None:
    assert _publicity(text) == {named}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Rosalind Fetherstone opened the Ditton food bank.", "Rosalind Fetherstone"),  # dropped
        ("Bartholomew Quiggley judged the show.", "Bartholomew Quiggley"),  # doubled
        ("Eilidh Mcpherson judged the show.", "Eilidh Mcpherson"),
        ("Cllr Macphearson judged the show.", "Cllr Macphearson"),  # added letter
        ("Councillor Wainrwight judged the show.", "Councillor Wainrwight"),  # swapped
        ("R. Featherston judged the show.", "R. Featherston"),  # initial beside it
        ("Rosalnd Featherstone judged the show.", "Rosalnd Featherstone"),  # given name
    ],
)
def test_a_surname_one_edit_away_is_found_beside_a_name_initial_or_title(
    text: str, named: str
) -> None:
    assert _publicity(text) == {named}


@pytest.mark.parametrize(
    "text",
    [
        "Fetherstone Park reopens on Saturday.",  # misspelt surname alone: no
        "The Featherstone Gallery reopens on Saturday.",  # register surname alone: no
        "Emma Fetherstone won the baking prize.",  # given name is not the member's
        "K. Featherstone & Sons will resurface the car park.",  # initial is not hers
        "A Featherstone family photograph is on show.",  # "A" is a word, not an initial
        "Ada Lyn runs the craft stall.",  # short surnames are never matched loosely
        "Thanks, Rosalind. Featherstone Road is open.",  # a full stop ends the name
        "R Featherstone & Co will resurface the car park.",  # a firm, not the member
        "Rosalind Featherstone and Sons Ltd won the contract.",
    ],
)
def test_loose_forms_do_not_overreach(text: str) -> None:
    assert _publicity(text) == set()
    assert _publicity(text, "refer") == set()


def test_an_unknown_councillor_with_initials_is_still_a_councillor() -> None:
    findings = run("Cllr K. Featherstone will open the fete.", INSIDE)
    assert {f.matched for f in findings if f.rule == PUBLICITY} == {"Cllr K. Featherstone"}
    assert PUBLICITY in rules(findings, "block")


@pytest.mark.parametrize(
    "text",
    ["Mrs Featherstone presented the prizes.", "Dr Quigley will hold a drop-in.", "Mr Quigly"],
)
def test_an_honorific_and_register_surname_is_referred(text: str) -> None:
    # "Mrs Featherstone" is most often the member, but may be another Featherstone: the
    # monitoring officer decides (a referral), nothing is stopped outright.
    findings = run(text, INSIDE)
    assert rules(findings) == {PUBLICITY} and rules(findings, "refer") == {PUBLICITY}
    assert run(text, OUTSIDE, NO_PERIOD) == []


def test_an_honorific_with_the_full_name_or_initial_blocks() -> None:
    assert _publicity("Mrs Rosalind Featherstone presented the prizes.") == {
        "Mrs Rosalind Featherstone"
    }
    assert _publicity("Mrs R. Featherstone presented the prizes.") == {"Mrs R. Featherstone"}
    assert _publicity("Mrs K. Featherstone presented the prizes.") == set()


def test_every_misspelt_name_listed_after_a_title() -> None:
    assert _publicity("Councillors Quigley, Macphearson and Wainwright met.") == {
        "Councillors Quigley",
        "Macphearson",
        "Wainwright",
    }


@pytest.mark.parametrize(
    ("a", "b", "near"),
    [
        ("pennington", "penington", True),
        ("macleod", "mcleod", True),
        ("quigley", "quiggley", True),
        ("wainwright", "wainrwight", True),
        ("smith", "smyth", True),
        ("smith", "smith", False),
        ("smith", "smithson", False),
        ("wainwright", "wrainwihgt", False),
    ],
)
def test_one_edit_apart(a: str, b: str, near: bool) -> None:
    assert one_edit_apart(a, b) is near
    assert one_edit_apart(b, a) is near


def test_a_provost_is_a_civic_role_like_a_mayor() -> None:
    findings = run("Provost Quigley will present the prizes.", INSIDE)
    assert rules(findings) == {PUBLICITY} and rules(findings, "advise") == {PUBLICITY}

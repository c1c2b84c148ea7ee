"""Party names in capitals, abbreviations and other nations' parties (issue #4 rule 2)."""

from __future__ import annotations

import pytest

from gateway.domain.guardrails import PolicyContext, Register
from tests.guardrails.helpers import ALLOWED, LOCAL, rules, run

PARTY = "party_political.party_name"
INSIDE = PolicyContext(Register(), (LOCAL,), ALLOWED)


@pytest.mark.parametrize(
    "text",
    [
        "THANKS TO LABOUR, WESTBRIDGE HAS A NEW HEALTH CENTRE.",
        "Only LABOUR can save the Dunmore ferry.",
        "LABOUR HAVE FROZEN COUNCIL TAX AGAIN",
        "Because LABOUR froze council tax, bills are lower.",
        "The GREENS want to scrap free parking.",
        "UNDER REFORM, ASHCOMBE HAS STALLED.",
        "REFORM UK WILL SCRAP THE SCHEME",
        "LIB DEMS WIN HERE AGAIN",
        "THE GREEN PARTY HAS WON THE VOTE",
        "PLAID CYMRU DELIVERS FOR LLANWERN",
        "VOTE GREEN ON THURSDAY",
        "The Lab-run council has frozen tax.",
        "Con councillors walked out of the meeting.",
        "LD councillors backed the plan.",
        "Thanks to the Lab group, the pool is open.",
        "Llafur Cymru has promised a new footbridge.",
        "Y Ceidwadwyr Cymreig say no to the plan.",
        "Democratiaid Rhyddfrydol Cymru backed it.",
        "Plaid Werdd Cymru backed it.",
        "Alba candidates are standing in every ward.",
    ],
)
def test_party_names_in_capitals_abbreviated_or_in_welsh(text: str) -> None:
    assert PARTY in rules(run(text, INSIDE), "block")


@pytest.mark.parametrize(
    "text",
    [
        "LABOUR MARKET BRIEFING ON TUESDAY AT THE CIVIC CENTRE",
        "GREEN BIN COLLECTIONS RESUME ON MONDAY",
        "Put your GREEN BIN out by 7am.",
        "Go GREEN this spring: recycle your garden waste.",
        "Recycle more GREEN waste this spring.",
        "We are consulting on the REFORM of taxi licensing fees.",
        "REFORM OF TAXI LICENSING: HAVE YOUR SAY",
        "INDEPENDENT LIVING SERVICES ARE OPEN",
        "THE BOWLING GREENS ARE OPEN FROM SATURDAY",
        "LABOUR CLUB QUIZ NIGHT ON FRIDAY",
        "GREEN PARTY IN THE PARK THIS SUNDAY",
        "The PLAID pattern blankets sold out at the craft fair.",
        "The Lab's results are in.",
        "The science lab at Ashcombe High has reopened.",
        "Con artists are targeting older residents: never give your bank details.",
        "Ind. Estate: Unit 4 is to let.",
        "Failte gu Alba: welcome to Scotland.",
        "Watch the shinty final on BBC Alba.",
    ],
)
def test_ordinary_words_in_capitals_and_look_alike_abbreviations_pass(text: str) -> None:
    assert rules(run(text, INSIDE)) == set()

"""Rule 5: profanity, abuse, insults and slurs, without the Scunthorpe problem."""

from __future__ import annotations

import pytest

from gateway.domain.guardrails import PolicyContext
from gateway.domain.guardrails.citations import CLAUSES, Clause
from tests.guardrails.helpers import ALLOWED, REGISTER, rules, run


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        ("Whoever dumped this crap is a complete idiot.", "crap"),
        ("The bloody machines are broken again.", "bloody"),
        ("What the f**k is going on with the bins?", "f**k"),
        ("Stop being such a pr*ck and pick it up.", "pr*ck"),
        ("This is sh1t service.", "sh1t"),
        ("Absolute $hite from start to finish.", "$hite"),
        ("Shiiiit, the road is flooded.", "Shiiiit"),
        ("f u c k this weather", "f u c k"),
        ("What a f.u.c.k.i.n.g mess", "f.u.c.k.i.n.g"),
        ("Fly-tippers are scumbags.", "scumbags"),
        ("wtf is happening at the tip", "wtf"),
        ("You muppet, sod off.", "sod off"),
        ("Some muppet has nicked the Christmas lights.", "muppet"),
        ("Bollocks to the rain.", "Bollocks"),
        ("What a sh*tshow of a storm.", "sh*tshow"),
        ("Screw you, fly-tippers.", "Screw you"),
    ],
)
def test_offensive_words_are_blocked(text: str, matched: str) -> None:
    findings = [f for f in run(text) if f.rule == "offensive"]
    assert findings, text
    assert matched in {f.matched for f in findings}
    assert all(f.outcome.value == "block" for f in findings)
    assert findings[0].clause == CLAUSES[Clause.OFFENSIVE].text


@pytest.mark.parametrize(
    "text",
    [
        "Scunthorpe United fans: expect delays on the A27.",
        "Essex County Council and Harbourside have agreed a shared service.",
        "Penistone Road is closed for resurfacing.",
        "The new Cocksedge Farm play area opens on Saturday.",
        "Middlesex and Sussex fans are welcome.",
        "Cockermouth and Shitterton Lane have been gritted.",
        "Chorlton-cum-Hardy library reopens on Monday.",
        "Come and see Dick Whittington at the theatre.",
        "Blue tits and great tits are nesting in the park.",
        "Hoar frost expected tonight.",
        "Stroke awareness week: know the signs.",
        "Free sexual health clinics every Tuesday.",
        "Planning application: erection of a two-storey extension.",
        "Speed humps are being installed next week.",
        "Please don't pour fat down the sink.",
        "Pick up your fag ends: litter fines apply.",
        "Dog fouling is disgusting and selfish. Please bag it and bin it.",
        "Assessments pass through the class.",
        "Organ donation week starts on Monday.",
        "A knee-jerk reaction helps no one.",
        "Jerk chicken and rice at the food festival.",
        "Pussy willow is flowering along the river path.",
        "Bloody Sunday commemoration at the Guildhall.",
        "The old slag heap is now a nature reserve.",
        "Lower Dicker and Cocking have been gritted.",
        "Muff Diving Club hosts a beach clean.",
        "Kinky Boots is on at the Playhouse.",
        "The Muppet Christmas Carol is on at the cinema.",
        "Quiz night at the Cock and Bull on Friday.",
        "Harbour Alliance Trust and Titty Ho residents meet on Monday.",
        "Try the cock-a-leekie soup at the Burns Night supper.",
    ],
)
def test_place_names_and_ordinary_words_are_not_flagged(text: str) -> None:
    assert "offensive" not in rules(run(text))


def test_an_admin_can_add_words() -> None:
    extended = PolicyContext(
        REGISTER, (), ALLOWED, extra_offensive_words=frozenset({"flibbertigibbet"})
    )
    assert "offensive" not in rules(run("What a flibbertigibbet."))  # not in the default lists
    assert "offensive" in rules(run("What a flibbertigibbet.", extended))

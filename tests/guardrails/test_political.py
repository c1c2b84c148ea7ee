"""Rules 1 and 2: the pre-election period and party-political content, each on its own."""

from __future__ import annotations

from datetime import date, time

import pytest

from gateway.domain.guardrails import (
    Election,
    ElectionKind,
    Outcome,
    PolicyContext,
    Register,
    local_to_utc,
)
from tests.guardrails.helpers import ALLOWED, INSIDE, NO_PERIOD, OUTSIDE, REGISTER, rules, run

PUBLICITY = "pre_election.councillor_publicity"


@pytest.mark.parametrize(
    "text",
    [
        "Margaret Okafor opened the new leisure centre.",
        "Cllr Okafor opened the new leisure centre.",
        "Councillor Margaret Okafor opened the new leisure centre.",
        "Cllr. Okafor opened the new leisure centre.",
        "councillor okafor opened the new leisure centre.",
        "Leader Okafor opened the new leisure centre.",
        "Margaret Okafor's new leisure centre is open.",  # possessive
        "Tom Brennan cut the ribbon.",  # register says Thomas: a known short form
        "Labour's Okafor cut the ribbon.",  # surname with party
        "Okafor (Labour) cut the ribbon.",
        "MARGARET OKAFOR opened it.",
    ],
)
def test_register_people_are_blocked_inside_a_period(text: str) -> None:
    findings = run(text)
    assert PUBLICITY in rules(findings, "block")
    finding = next(f for f in findings if f.rule == PUBLICITY)
    assert "Code of Recommended Practice" in finding.clause
    assert finding.span is not None and text[finding.span[0] : finding.span[1]] == finding.matched


def test_every_councillor_listed_after_a_title_is_found() -> None:
    findings = run("Councillors Okafor, Brennan and Natarajan visited the school.")
    assert {f.matched for f in findings if f.rule == PUBLICITY} == {
        "Councillors Okafor",
        "Brennan",
        "Natarajan",
    }
    assert len(run("Councillor Okafor and officers visited.")) == 1


@pytest.mark.parametrize(
    "text",
    [
        "The Mayor of Harbourside, Cllr Margaret Okafor, will light the tree.",
        "The Mayor, Cllr Okafor, will open the fete.",
        "Cllr Okafor, the Mayor of Harbourside, will open the fete.",
        "Chairman of the Council Cllr Brennan opened the show.",
    ],
)
def test_a_civic_mayor_is_advised_not_blocked(text: str) -> None:
    # LGA guidance: the civic mayor or chairman carries on civic duties in the period.
    assert rules(run(text)) == {PUBLICITY} and rules(run(text), "advise") == {PUBLICITY}


def test_a_civic_mayor_who_is_standing_or_in_a_mayoral_election_is_blocked() -> None:
    assert PUBLICITY in rules(run("The Mayor, Cllr Aisha Rahman, opened it."), "block")
    mayoral = Election(ElectionKind.MAYORAL, date(2027, 5, 6), date(2027, 3, 29))
    ctx = PolicyContext(REGISTER, (mayoral,), ALLOWED)
    assert PUBLICITY in rules(run("The Mayor, Cllr Okafor, opened it.", ctx), "block")
    # A committee chair is a political role, not a civic one.
    assert PUBLICITY in rules(
        run("Chair of the Planning Committee, Cllr Okafor, said no."), "block"
    )


def test_honorific_and_register_surname_is_referred() -> None:
    # "Mrs Okafor" may be any Okafor: the monitoring officer decides, nothing is blocked.
    findings = run("Mrs Okafor of the allotment society won first prize.")
    assert rules(findings) == {PUBLICITY} and rules(findings, "refer") == {PUBLICITY}


def test_a_place_named_like_a_member_is_not_the_member() -> None:
    assert run("Margaret Okafor Centre is closed on Monday.") == []


@pytest.mark.parametrize(
    "text",
    [
        "The ruling group has pushed the budget through.",
        "Opposition councillors walked out of the meeting.",
        "Our MP visited the school.",
    ],
)
def test_groups_and_mps_without_a_party_name(text: str) -> None:
    assert rules(run(text), "block") | rules(run(text), "refer")


def test_unknown_councillor_by_title_is_blocked_inside_a_period() -> None:
    assert PUBLICITY in rules(run("Cllr Jean Haworth will open the fete."), "block")


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Thanks to @CllrOkafor for opening the park!", PUBLICITY),
        ("Great to see #CllrSmith at the fete", PUBLICITY),
        ("Out and about today #VoteLabour", "party_political.campaign"),
        ("Proud of @UKLabour councillors", "party_political.party_name"),
        ("VOTE LABOUR ON THURSDAY", "party_political.campaign"),
        ("LABOUR COUNCILLORS SAVED THE LIBRARY", "party_political.party_name"),
    ],
)
def test_handles_and_hashtags(text: str, rule: str) -> None:
    assert rule in rules(run(text), "block")


def test_ordinary_handles_hashtags_and_capitals_pass() -> None:
    assert run("Get your #GreenBin sticker and follow @HarboursideCouncil") == []
    assert run("GREEN BIN COLLECTIONS RESUME. REFORM OF PARKING: HAVE YOUR SAY") == []


def test_surname_alone_is_not_a_person() -> None:
    # Register surnames are ordinary words and names; alone they are not publicity.
    assert rules(run("Okafor Street is closed for resurfacing.")) == set()


def test_councillor_named_in_role_is_allowed_outside_a_period() -> None:
    assert run("Cllr Margaret Okafor, Leader of the Council, opened it.", OUTSIDE, NO_PERIOD) == []


def test_councillor_code_is_not_a_name() -> None:
    assert run("Councillor Code of Conduct training is on Monday.") == []


def test_an_election_announced_after_approval_stops_the_post() -> None:
    text = "Cllr Okafor opened the new library."
    assert run(text, OUTSIDE) == []  # approved before any election was recorded
    assert PUBLICITY in rules(run(text, INSIDE), "block")  # asked again at publish time


@pytest.mark.parametrize(
    "text",
    [
        "Labour-run Harbourside has frozen council tax.",
        "Thanks to our Liberal Democrat councillors the bus route is saved.",
        "The Green Party group has secured funding.",
        "Don't let the Tories sell off our parks.",
        "Lib Dems deliver again: new crossing now open.",
        "SNP and Plaid Cymru MPs have backed the campaign.",
        "Labour's plan: 1,000 new jobs.",
        "The Conservative group leader criticised the budget.",
        "Reform UK councillors called for an audit.",
        "Vale First Residents have saved the library.",  # a local party from the register
        "Independent councillors will meet on Tuesday.",
        "A win for Labour in the by-election.",
        "Labour won the Abbey seat.",
        "Labour has delivered on its promise.",
        "Thanks to Labour, Northmoor has free school meals.",
        "Our manifesto commitment to free parking is delivered.",
        "Scottish Labour councillors backed the plan.",
        "Alliance councillors backed the plan.",
    ],
)
def test_party_names_are_blocked_inside_and_referred_outside(text: str) -> None:
    assert "party_political.party_name" in rules(run(text), "block")
    assert "party_political.party_name" in rules(run(text, OUTSIDE, NO_PERIOD), "refer")


@pytest.mark.parametrize(
    "text",
    [
        "The latest labour market figures show unemployment has fallen.",
        "Your green bin collections restart on Monday.",
        "The Green Flag Award flies again over the park.",
        "We're consulting on reform of our parking permit scheme.",
        "New conservation area rules come into force on 1 April.",
        "Come along to the street party on Saturday!",
        "Independent living: our therapists can help you stay at home.",
        "Reform of the school transport policy: consultation closes Friday.",
        "The Green Man pub has been granted a licence.",
        "A conservative estimate puts the cost at two million pounds.",
        "The village green at Fenside will be mown on Tuesday.",
        "The Independent Remuneration Panel reports on Monday.",
        "The summer fair is on the Green at Fenside.",
        "Our carers support them in finding work.",
        "Crossing patrols: they are standing in all weathers.",
        "It's time for change at the tip: new opening hours from Monday.",
        "A knee-jerk reaction helps no one: read the facts first.",
        "Become a Councillor Event on Tuesday at the Town Hall.",
        "Contact your ward councillor. Find yours on our website.",
        "Councillors Approve New Housing Strategy",
        "Tory Hill allotments are open on Sunday.",
        "The Labour Club car park is closed.",
        "Councillor Call for Action: how residents can raise an issue.",
        "Labour Day is not a bank holiday in the UK.",
    ],
)
def test_ordinary_words_that_are_also_party_names_are_not_flagged(text: str) -> None:
    assert run(text) == []


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Vote Conservative on 6 May.", "party_political.campaign"),
        ("Re-elect the team that fixed your potholes.", "party_political.campaign"),
        ("Support her on polling day.", "party_political.campaign"),
        ("Make your voice heard at the ballot box.", "party_political.campaign"),
        ("Under this administration we built more homes.", "party_political.campaign"),
        ("She is standing in Northgate ward.", "party_political.campaign"),
        ("This administration has invested in parks.", "party_political.campaign"),
        ("Meet our candidates at the market on Saturday.", "party_political.campaign"),
        ("Take back control of the high street.", "party_political.slogan"),
        ("For the many, not the few.", "party_political.slogan"),
    ],
)
def test_campaigning_and_slogans_are_blocked_at_any_time(text: str, rule: str) -> None:
    assert rule in rules(run(text, OUTSIDE, NO_PERIOD), "block")
    assert rule in rules(run(text), "block")


@pytest.mark.parametrize(
    "text",
    [
        "Government cuts have forced us to close two centres.",
        "Blame Westminster for the closures.",
        "Austerity has hit our libraries hard.",
        "Ministers have betrayed coastal towns.",
    ],
)
def test_controversy_is_referred(text: str) -> None:
    assert "pre_election.controversial" in rules(run(text), "refer")
    assert "party_political.controversial" in rules(run(text, OUTSIDE, NO_PERIOD), "refer")


@pytest.mark.parametrize(
    "text",
    [
        'The Leader of the Council said: "We are delighted with the new pool."',
        "The cabinet member for housing said the homes would be ready in May.",
        '"This is great news," said the council leader.',
    ],
)
def test_councillors_quoted_by_role_are_referred_inside_a_period_only(text: str) -> None:
    assert rules(run(text), "refer") == {"pre_election.councillor_quote"}
    assert run(text, OUTSIDE, NO_PERIOD) == []


def test_officers_quoted_and_councils_acting_are_fine() -> None:
    assert run("Our head of planning said the plan was refused.") == []
    assert run("The Leader of the Council has written to residents about the budget.") == []


def test_asking_for_votes_is_referred_inside_a_period() -> None:
    findings = run("Vote for a fairer deal for our town on Thursday.")
    assert "pre_election.influence" in rules(findings, "refer")


# Issue #4 rule 1: "Still allowed: election administration (registering to vote, poll cards,
# postal and proxy votes, polling stations, photo ID, the count and results, notices of
# election and statements of persons nominated)".
ELECTION_ADMINISTRATION = [
    "Not registered to vote? Register to vote by midnight on 19 April at gov.uk/register-to-vote",
    "Poll cards for the elections on Thursday 6 May are being delivered this week.",
    "Apply for a postal vote by 5pm on 20 April.",
    "Can't get to the polling station? Apply to vote by proxy by 28 April.",
    "Postal votes must reach us by 10pm on polling day.",
    "Polling stations are open 7am to 10pm. Find yours on our website.",
    "Remember to bring photo ID when you vote in person. No ID? Apply for a Voter Authority "
    "Certificate.",
    "The count starts at 10pm at the Civic Centre. Election results will be posted here.",
    "The Notice of Election for the district council elections has been published.",
    "The Statement of Persons Nominated has been published on our website.",
    "You do not need your poll card to vote.",
    "Electoral registration canvass: please reply to our household enquiry form.",
    "Thinking of standing for election? Nomination packs are available from 1 April.",
    "Vote for the name of our new gritter in our survey!",
    "Votes for Women: the suffragette exhibition opens at the museum.",
    "Young people vote for their Youth MP this week.",
    "Vote for your favourite park in the People's Choice awards! Voting closes Friday.",
]


@pytest.mark.parametrize("text", ELECTION_ADMINISTRATION)
def test_election_administration_stays_allowed_inside_a_period(text: str) -> None:
    assert run(text) == []


@pytest.mark.parametrize("text", ["The bins go out on Monday.", "Full Council agreed the budget."])
def test_service_announcements_and_decisions_stay_allowed(text: str) -> None:
    assert run(text) == []


def test_by_election_blocks_its_wards_people_and_advises_on_others() -> None:
    by = Election(
        ElectionKind.BY_ELECTION, date(2027, 5, 6), date(2027, 3, 29), frozenset({"Northgate"})
    )
    ctx = PolicyContext(REGISTER, (by,), ALLOWED)
    in_ward = run("Cllr Brennan opened the library.", ctx)  # Northgate
    elsewhere = run("Cllr Okafor opened the library.", ctx)  # Quayside
    assert PUBLICITY in rules(in_ward, "block")
    assert PUBLICITY in rules(elsewhere, "advise")
    assert PUBLICITY not in rules(elsewhere, "block")
    # Party content is blocked council-wide in a by-election.
    assert "party_political.party_name" in rules(run("Labour's plan for jobs.", ctx), "block")


def test_general_election_applies_without_a_local_poll() -> None:
    general = Election(ElectionKind.GENERAL, date(2027, 5, 6), date(2027, 3, 29))
    ctx = PolicyContext(REGISTER, (general,), ALLOWED)
    assert PUBLICITY in rules(run("Cllr Okafor opened the library.", ctx), "block")


def test_politician_suffix_is_referred_in_a_period() -> None:
    findings = run("Jane Smith MP visited the school.")
    assert "pre_election.politician" in rules(findings, "refer")


def test_referendum_subject_is_blocked_only_in_its_last_28_days() -> None:
    referendum = Election(
        ElectionKind.REFERENDUM,
        date(2027, 5, 6),
        date(2027, 3, 1),
        subject_terms=("elected mayor",),
    )
    ctx = PolicyContext(REGISTER, (referendum,), ALLOWED)
    text = "Find out what an elected mayor would do for the district."
    inside_28 = local_to_utc(date(2027, 4, 20), time(10))
    before_28 = local_to_utc(date(2027, 3, 30), time(10))
    assert "pre_election.referendum_subject" in rules(run(text, ctx, inside_28), "block")
    assert "pre_election.referendum_subject" not in rules(run(text, ctx, before_28))


@pytest.mark.parametrize(
    ("text", "blocked"),
    [
        ("Should Lowfield have a town council? Read the facts.", True),
        ("Town Councils: what they do, explained.", True),  # plural, any case
        ("What would a town\ncouncil cost?", True),  # across a line break
        ("A town-council precept would be about 40 pounds.", True),
        ("Our downtown council offices close at 5pm.", False),  # not a word of its own
        ("The town's council tax bills are out.", False),
    ],
)
def test_referendum_subject_is_matched_as_whole_words(text: str, blocked: bool) -> None:
    referendum = Election(
        ElectionKind.REFERENDUM, date(2027, 5, 6), subject_terms=("town council",)
    )
    ctx = PolicyContext(Register(), (referendum,), ALLOWED)
    found = rules(run(text, ctx, local_to_utc(date(2027, 4, 20), time(10))), "block")
    assert ("pre_election.referendum_subject" in found) is blocked


def test_a_one_word_referendum_subject_is_not_found_inside_other_words() -> None:
    referendum = Election(ElectionKind.REFERENDUM, date(2027, 5, 6), subject_terms=("pier",))
    ctx = PolicyContext(Register(), (referendum,), ALLOWED)
    at = local_to_utc(date(2027, 4, 20), time(10))
    assert rules(run("Ask a cashier at Pierce House.", ctx, at)) == set()
    assert "pre_election.referendum_subject" in rules(run("The Pier reopens.", ctx, at))


def test_assumed_period_is_said_in_the_reason() -> None:
    assumed = Election(ElectionKind.LOCAL, date(2027, 5, 6))
    ctx = PolicyContext(REGISTER, (assumed,), ALLOWED)
    finding = next(f for f in run("Cllr Okafor opened it.", ctx) if f.rule == PUBLICITY)
    assert finding.outcome is Outcome.BLOCK
    assert "assumed" in finding.reason


@pytest.mark.parametrize(
    "text",
    [
        "If elected, I will fight to keep Ashcombe library open.",
        "I pledge to fix every pothole in Kilbride.",
        "My pledges to you: cleaner streets and safer roads.",
        "Your local candidate, Morag, is listening.",
        "Give her your vote on Thursday.",
        "Put your cross next to Morag on Thursday.",
        "It's a two-horse race in Kilbride.",
        "Only Morag can beat them here.",
        "Great to be out canvassing in Kilbride this morning.",
        "A hard-working local councillor for Kilbride.",
        "Wales deserves better.",
    ],
)
def test_candidates_promises_and_canvassing_are_campaigning(text: str) -> None:
    found = rules(run(text), "block")
    assert {"party_political.campaign", "party_political.slogan"} & found


def test_a_petition_against_a_decision_is_referred() -> None:
    text = "Sign our petition to stop the closure of Kilbride fire station!"
    assert "pre_election.controversial" in rules(run(text), "refer")
    assert "party_political.controversial" in rules(run(text, OUTSIDE, NO_PERIOD), "refer")


@pytest.mark.parametrize(
    "text",
    [
        "Sign the e-petition about dog fouling on our website.",
        "Our e-petitions scheme lets residents raise issues with the council.",
        "Only you can prevent wildfires: never leave a barbecue unattended.",
        "Our pledge to tenants: repairs within 28 days.",
        "Staff will be out on the streets handing out recycling leaflets.",
        "Beware doorstep traders: never pay upfront.",
        "Make sure you vote on 6 May: polling stations open at 7am.",
        "Candidates for the Kilbride by-election have been confirmed.",
    ],
)
def test_council_business_that_sounds_like_campaigning_passes(text: str) -> None:
    assert rules(run(text)) == set()

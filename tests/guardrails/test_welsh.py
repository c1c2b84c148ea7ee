"""Welsh in the guardrails (issue #18): the mutation function, then every Welsh rule with its
radical (unmutated) and mutated forms, and the Welsh words that only look like a rule's."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.domain.guardrails import AllowedContacts, PolicyContext, Register, labels
from gateway.domain.guardrails.citations import CLAUSES, Clause
from gateway.domain.guardrails.welsh import Mutation, all_forms, mutate, mutations
from tests.guardrails.helpers import LOCAL, NO_PERIOD, rules, run

DATA = Path(__file__).parent / "data"
# A Welsh council's register (Bro Ceri, fictional), inside a local election's period.
BRO_CERI = PolicyContext(
    Register.from_csv((DATA / "bro-ceri-people.csv").read_text()),
    (LOCAL,),
    AllowedContacts.from_text((DATA / "bro-ceri-contacts.txt").read_text()),
)
BRO_CERI_OUTSIDE = PolicyContext(BRO_CERI.register, (), BRO_CERI.contacts)


def label(text: str, context: PolicyContext = BRO_CERI) -> dict[str, bool]:
    return labels(run(text, context))


# -- the mutation function -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("word", "soft", "nasal", "aspirate"),
    [
        ("Plaid", "Blaid", "Mhlaid", "Phlaid"),
        ("Ceidwadwyr", "Geidwadwyr", "Ngheidwadwyr", "Cheidwadwyr"),
        ("Cynghorydd", "Gynghorydd", "Nghynghorydd", "Chynghorydd"),
        ("Tachwedd", "Dachwedd", "Nhachwedd", "Thachwedd"),
        ("Llafur", "Lafur", "Llafur", "Llafur"),
        ("Rhyddfrydol", "Ryddfrydol", "Rhyddfrydol", "Rhyddfrydol"),
        ("Gwyrddion", "Wyrddion", "Ngwyrddion", "Gwyrddion"),
        ("Democratiaid", "Ddemocratiaid", "Nemocratiaid", "Democratiaid"),
        ("Mawrth", "Fawrth", "Mawrth", "Mawrth"),
        ("Bevan", "Fevan", "Mevan", "Bevan"),
        ("dydd", "ddydd", "nydd", "dydd"),
    ],
)
def test_mutations_follow_the_tables(word: str, soft: str, nasal: str, aspirate: str) -> None:
    assert mutate(word, Mutation.SOFT) == soft
    assert mutate(word, Mutation.NASAL) == nasal
    assert mutate(word, Mutation.ASPIRATE) == aspirate


@pytest.mark.parametrize("word", ["Chwefror", "Ffion", "Thomas", "Reform", "Ionawr", "Dduw", ""])
def test_letters_that_do_not_mutate_come_back_unchanged(word: str) -> None:
    # ch, ff, th, dd are letters of their own; vowels and r do not mutate.
    assert mutations(word) == {}


def test_capitals_and_phrases() -> None:
    assert mutate("PLAID", Mutation.NASAL) == "MHLAID"
    assert mutate("llafur", Mutation.SOFT) == "lafur"
    # Only the first word of a phrase mutates.
    assert all_forms("Plaid Cymru") == (
        "Plaid Cymru",
        "Blaid Cymru",
        "Mhlaid Cymru",
        "Phlaid Cymru",
    )


# -- party names -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "Mae Plaid Cymru wedi addo ysgol newydd.",  # radical
        "Diolch i'r Blaid am y parc newydd.",  # soft (y Blaid = Plaid Cymru)
        "Rwy'n falch o fy Mhlaid a'i gwaith.",  # nasal
        "Cyngor Bro Ceri a Phlaid Cymru yn cydweithio.",  # aspirate
        "Mae'r Ceidwadwyr yn addo mwy o heddlu.",
        "Diolch i Geidwadwyr y sir.",
        "Ymgeisydd yng Ngheidwadwyr Cymreig yw hi.",
        "Y Democratiaid Rhyddfrydol a Cheidwadwyr lleol.",
        "Mae'r Democratiaid Rhyddfrydol wedi ennill sedd.",
        "Cefnogaeth i Ddemocratiaid Rhyddfrydol Cymru.",
        "Llwyddiant i'r Blaid Werdd neithiwr.",
        "Mae'r Gwyrddion yn galw am lwybrau beicio.",
        "Diolch i Lafur am y llyfrgell.",
        "Mae Llafur wedi rhewi'r dreth gyngor.",
        "Mae cynghorwyr Llafur wedi cefnogi'r cynllun.",
        "Mae'r llywodraeth Lafur yn gwario mwy.",
        "Mae'r Torïaid wedi gadael y sir i lawr.",
    ],
)
def test_welsh_party_names_radical_and_mutated(text: str) -> None:
    assert "party_political.party_name" in rules(run(text, BRO_CERI), "block"), text
    # Outside a period, naming a party is referred.
    assert "party_political.party_name" in rules(run(text, BRO_CERI_OUTSIDE, NO_PERIOD), "refer")


@pytest.mark.parametrize(
    "text",
    [
        "Llafur caled y gwirfoddolwyr sydd wedi glanhau'r traeth.",  # labour = hard work
        "Mae gwaith llafur ar y ffordd yn dechrau ddydd Llun.",
        "Mae'r ddwy blaid wedi arwyddo'r cytundeb cynllunio.",  # the parties to a contract
        "Gall y naill blaid neu'r llall apelio.",
        "Plaid shirts and scarves are on sale at the craft fair.",  # the cloth
        "Bring a plaid blanket to the outdoor cinema.",
        "Rhowch eich bin gwyrdd allan erbyn 7am.",
        "Mae'r parc wedi ennill Gwobr y Faner Werdd eto.",
        "Arddangosfa Llafur a Chân yn yr amgueddfa.",
    ],
)
def test_everyday_welsh_and_english_words_that_look_like_parties(text: str) -> None:
    assert not label(text)["party_political"], text


# -- campaign phrasing -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "Pleidleisiwch dros Blaid Cymru ar 6 Mai.",
        "Pleidleisiwch dros Lafur ddydd Iau.",
        "Pleidleisiwch i'r Blaid Werdd.",
        "Cefnogwch y Gwyrddion ar 6 Mai.",
        "Gefnogi Llafur yw'r unig ffordd.",
        "Ail-etholwch Eleri i barhau â'r gwaith.",
        "Pleidleisiwch drosof fi ar 6 Mai.",
        "Os caf fy ethol, byddaf yn ymladd dros y bysiau.",
        "Os cawn ein hethol, byddwn yn agor y pwll.",
        "Dyma ein hymgeiswyr ar gyfer ward Bryn.",
        "Rhowch eich pleidlais i'r tîm sy'n gwrando.",
        "Hyrwyddwyd gan Ifan Lewis ar ran Plaid Cymru.",
    ],
)
def test_welsh_campaign_phrasing_is_blocked_at_any_time(text: str) -> None:
    assert "party_political.campaign" in rules(run(text, BRO_CERI_OUTSIDE, NO_PERIOD), "block")


@pytest.mark.parametrize(
    "text",
    [
        "Pleidleisiwch i ddewis enw'r parc newydd.",  # "vote to choose"
        "Pleidleisiwch dros eich hoff gaffi yng ngwobrau busnes y sir.",  # an award
        "Cofrestrwch i bleidleisio erbyn 20 Ebrill.",
        "Bydd gorsafoedd pleidleisio ar agor o 7am tan 10pm.",
        "Eisiau sefyll fel ymgeisydd? Mae pecynnau enwebu ar gael.",
        "Mae'r canfasio blynyddol yn dechrau: llenwch y ffurflen.",
    ],
)
def test_welsh_election_administration_and_other_votes_pass(text: str) -> None:
    assert not label(text)["party_political"], text


def test_asking_for_a_vote_in_welsh_is_referred_in_a_period() -> None:
    findings = run("Pleidleisiwch i Siôn Powell ddydd Iau.", BRO_CERI)
    assert "pre_election.influence" in rules(findings, "refer")


# -- councillors and politicians ---------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "Agorodd y Cynghorydd Bevan y bont.",  # radical
        "Cyng. Bethan Lloyd yn croesawu'r buddsoddiad.",  # abbreviated
        "Diolch i Gynghorydd Prydderch.",  # soft
        "Dyma fy Nghynghorydd Huw Bevan yn y farchnad.",  # nasal
        "Sgwrs â Chynghorydd Bevan am ailgylchu.",  # aspirate
        "Bu'r Cynghorwyr Prydderch a Bevan yn ymweld.",
        "Bydd y Cynghorydd Iolo Jenkins yn agor y ffair.",  # not on the register
        "Cyflwynwyd y wobr gan Ddafydd ap Rhys.",  # a register name, soft
        "Cyfarfod â Chatrin Tudur yn y neuadd.",  # aspirate
    ],
)
def test_welsh_councillor_titles_and_mutated_names(text: str) -> None:
    assert "pre_election.councillor_publicity" in rules(run(text, BRO_CERI), "block"), text


@pytest.mark.parametrize(
    "text",
    [
        "Ydych chi eisiau bod yn gynghorydd? Dewch i'n noson wybodaeth.",
        "Cynghorwyr yn cymeradwyo cynllun newydd ar gyfer y promenâd.",
    ],
)
def test_the_word_councillor_alone_passes(text: str) -> None:
    assert not label(text)["party_political"], text


def test_members_of_the_senedd() -> None:
    assert "pre_election.politician" in rules(run("Bydd Siôn Powell AS yn ymweld.", BRO_CERI))
    assert "pre_election.politician" in rules(run("Siôn Powell MS visited the farm.", BRO_CERI))
    assert "pre_election.politician" in rules(run("Diolch i ein AS am ymweld.", BRO_CERI))


# -- controversy ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "Mae toriadau'r llywodraeth yn niweidio ein hysgolion.",
        "Rydyn ni'n beio San Steffan am gyflwr y ffyrdd.",
        "Arwyddwch ein deiseb i achub y llyfrgell.",
        "Ysgrifennwch at eich AS i ddweud eich bod yn erbyn cau'r ysbyty.",
        "Safwch gyda ni yn erbyn cau'r ysgol.",
        "Mae'r wrthblaid wedi beirniadu'r cynllun parcio.",
    ],
)
def test_welsh_controversy_and_groups(text: str) -> None:
    assert label(text)["party_political"], text


# -- personal data (language-independent checks inside Welsh text) -------------------------
@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Ganwyd ar 3 Ionawr 1950.", "date_of_birth"),  # month radical
        ("Dyddiad geni: 14eg o Fawrth 1958.", "date_of_birth"),  # month soft-mutated
        ("Ganed ef ddydd Llun, 2il Tachwedd 1987.", "date_of_birth"),  # day soft-mutated
        ("Ganwyd Mrs Hughes ar 3 Ionawr 1931.", "date_of_birth"),  # subject after the verb
        ("Wedi'i geni ar 12/04/1987 yn Aberaeron.", "date_of_birth"),
        ("Ffoniwch Siân ar 07700 900 123.", "phone"),
        ("Anfonwch at eleri.jones1987@gmail.com erbyn dydd Gwener.", "email"),
        ("Mae'n byw yn 22 Heol y Frenhines, Aberaeron SY23 1AB.", "address"),
        ("Rhif Yswiriant Gwladol: QQ 12 34 56 C", "ni_number"),
        ("Gwelwyd car CY21 ABC ger y traeth.", "vehicle"),
    ],
)
def test_personal_data_inside_welsh_text(text: str, rule: str) -> None:
    assert f"personal_data.{rule}" in rules(run(text, BRO_CERI), "block"), text


@pytest.mark.parametrize(
    "text",
    [
        "Dyddiad cau'r ceisiadau: 3 Ionawr 2027.",
        "Agorwyd y bont ar 12 Mawrth 1906.",
        "Ffoniwch y ganolfan gyswllt ar 01970 633 000.",
        "E-bostiwch gwastraff@broceri.gov.uk gyda'ch cwestiynau.",
    ],
)
def test_welsh_dates_and_council_contacts_are_not_personal(text: str) -> None:
    assert not label(text)["personal_data"], text


# -- offensive -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "Mae hyn yn gachu rwtsh.",  # soft (cachu)
        "Cachu rwtsh yw hyn.",  # radical
        "Dyna fy nghachu i.",  # nasal
        "Twll dy din di.",
        "Cer o 'ma, y coc oen.",
        "Rwyt ti'n gachgi.",
        "Mae e'n dipyn o dwpsyn.",  # soft (twpsyn)
        "Y bastad a ddwynodd y blodau.",
        "Y fastad!",  # soft (bastad)
        "Dyna beth ffycin ofnadwy.",
        "Mae'r parcio yn shit.",  # English words in Welsh text still count
    ],
)
def test_welsh_offensive_words_radical_and_mutated(text: str) -> None:
    assert label(text)["offensive"], text


@pytest.mark.parametrize(
    "text",
    [
        "Teithiau cerdded o Benisa'r Waun i Twt Hill yng Nghaernarfon.",  # "penis", "twt"
        "Mae'r ffordd drwy Cockett ar gau ddydd Sul.",  # Swansea: "cock"
        "Road closed between Sodom and Bodfari for resurfacing.",  # a Denbighshire hamlet
        "Oes gennych chi grap ar y Gymraeg? Cwrs Crap ar y Gymraeg i rieni.",  # a smattering
        "Choc ices and lollies on sale at the leisure centre.",  # "coc" aspirated is "choc"
        "Bum i yn y sioe ddoe.",  # "I was"
        "Cofio Dic Penderyn: arddangosfa yn yr archifdy.",
        "Mae arian ar gael i grwpiau cymunedol.",  # money
        "Gwaith ar y pibellau dŵr yn Fagwyr.",
    ],
)
def test_welsh_place_names_and_words_that_contain_english_offensive_strings(text: str) -> None:
    assert not label(text)["offensive"], text


def test_welsh_findings_cite_the_policy_clauses() -> None:
    findings = run("Pleidleisiwch dros Lafur. Cachu rwtsh.", BRO_CERI_OUTSIDE, NO_PERIOD)
    clauses = {f.rule: f.clause for f in findings}
    assert "Local Government Act 1986" in clauses["party_political.campaign"]
    assert clauses["offensive"] == CLAUSES[Clause.OFFENSIVE].text

"""Rule 4: only departmental contact details; every other kind of personal data blocked."""

from __future__ import annotations

import pytest

from gateway.domain.guardrails.citations import CLAUSES, Clause
from tests.guardrails.helpers import rules, run


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Please call Jenny on 07700 900461 if you see her cat.", "personal_data.phone"),
        ("Call Mrs Edwards at home on 01632 960 555.", "personal_data.phone"),
        ("Ring +44 7700 900123 for tickets.", "personal_data.phone"),
        ("Email jo.barker1984@gmail.com about the complaint.", "personal_data.email"),
        ("Write to peter.hall@acme-builders.co.uk directly.", "personal_data.email"),
        (
            "Thanks to Mr Hall of 14 Lighthouse Lane, HB3 7QT for reporting it.",
            "personal_data.address",
        ),
        (
            "Tenant at Flat 2, 22 Orchard Close, KV4 9PL has been served notice.",
            "personal_data.address",
        ),
        ("Mrs Ellis at 7 Moorside Lane has asked for help.", "personal_data.address"),
        ("Peter Hall of 14 Lighthouse Lane called us.", "personal_data.address"),
        ("Claimant NI number QQ 12 34 56 C please contact us.", "personal_data.ni_number"),
        ("NI: AB123456C", "personal_data.ni_number"),
        ("NHS number 943 476 5919 was found on a wallet.", "personal_data.nhs_number"),
        ("Patient 9434765919 please call.", "personal_data.nhs_number"),
        ("Mr Price, date of birth 12/03/1961, ran the marathon.", "personal_data.date_of_birth"),
        ("DOB: 4 July 1980.", "personal_data.date_of_birth"),
        ("Pay to sort code 12-34-56, account 12345678.", "personal_data.bank"),
        ("IBAN GB82 WEST 1234 5698 7654 32", "personal_data.bank"),
        ("Card 4111 1111 1111 1111 was left at reception.", "personal_data.card"),
        ("Ring the organiser on 0044 7700 900765.", "personal_data.phone"),
        ("Passed on by a resident on +44 (0)7700 900 417.", "personal_data.phone"),
        ("Email tam dot reid at hotmail dot co dot uk for tickets.", "personal_data.email"),
        ("Email tam.reid [at] outlook [dot] com for tickets.", "personal_data.email"),
        (
            "Abandoned: blue Ford Focus, registration KX68 ZTB, on Cairn Road.",
            "personal_data.vehicle",
        ),
        ("The van (ML21KPO) was seen tipping rubble.", "personal_data.vehicle"),
        ("Reg: F482 WTA, a red Ford Escort.", "personal_data.vehicle"),
        ("Happy birthday to Morag, born on the 9th of June 1927!", "personal_data.date_of_birth"),
        ("His national insurance number is jk123456b.", "personal_data.ni_number"),
        ("Passport number 123456789 was handed in.", "personal_data.identity_document"),
        ("Licence MORGA657054SM9IJ found at the depot.", "personal_data.identity_document"),
    ],
)
def test_personal_data_is_blocked(text: str, rule: str) -> None:
    findings = run(text)
    assert rule in rules(findings, "block")
    finding = next(f for f in findings if f.rule == rule)
    assert finding.clause == CLAUSES[Clause.PERSONAL_DATA].text
    assert finding.matched and finding.matched in text


@pytest.mark.parametrize(
    "text",
    [
        "Call our customer service centre on 01632 960 000.",  # on the allowed list
        "Call us on +44 1632 960000.",  # same number, another format
        "Report a missed bin at waste@example.gov.uk",  # council domain
        "Email planning@dev.example.gov.uk",  # a subdomain of it
        "Visit us at the Civic Centre, 1 High Street, HB1 1AA.",  # allowed council postcode
        "Council tax bills for 2027/28 are on their way.",
        "A total of 1,234,567 visitors came in 2026.",
        "The A259 is closed until 6pm.",
        "Peter Hall won the photography prize.",  # names alone are not personal data here
        "Reference 4857773456 is not an NHS number.",  # fails the check digit
        "Born in 1985, the library has served three generations.",
        "The library at 5 Market Place reopens on Monday.",
        "Find us at Facebook dot com or on the app.",  # "at" as a word, no address
        "Tickets at shop.example.com from Monday.",
        "Email waste at example dot gov dot uk.",  # written out, but the council's own
        "The M25 J10 and the A259 are closed.",
        "Bus route X10 runs every 20 minutes.",
        "Born in 1931 in Kilbride, the poet is remembered at a new exhibition.",
    ],
)
def test_allowed_contacts_and_ordinary_numbers_pass(text: str) -> None:
    assert not rules(run(text), "block")


def test_organisation_numbers_and_shared_mailboxes_are_advised_not_blocked() -> None:
    findings = run("Citizens Advice: 0800 144 8848 or info@citizensadvice.org.uk")
    assert rules(findings) == {"personal_data.phone", "personal_data.email"}
    assert rules(findings, "block") == set()


@pytest.mark.parametrize(
    "text",
    [
        "The fair is at Marina Gardens, HB2 4CD on Saturday.",
        "Drop in at the Hub, 5 Market Place, HB1 1XY on Monday.",  # a venue's address
    ],
)
def test_a_street_or_venue_and_postcode_is_referred(text: str) -> None:
    assert rules(run(text), "refer") == {"personal_data.address"}


@pytest.mark.parametrize(
    ("text", "name"),
    [
        # Issue 22: a titled name beside any contact details, the council's own included.
        ("Please call Mrs Jane Smith on 01234 567890 to collect it.", "Mrs Jane Smith"),
        ("Ring Mr T. Okonkwo on 01632 960 000 about the allotment.", "Mr T. Okonkwo"),
        ("Parcel for Ms Priya Raman, 07700 900 318, left at the depot.", "Ms Priya Raman"),
        ("Dr Halloran at halloran.vet@outlook.com has the stray.", "Dr Halloran"),
        ("Contact the tenant, Miss Bethan Morgan, at 9 Heron Road.", "Miss Bethan Morgan"),
        # A full name the reader is asked to get in touch with, beside their own details.
        ("Lost purse? Call Gareth Pryce on 07700 900 554.", "Gareth Pryce"),
        ("Email Tomasz Nowak at tomasz.nowak@gmail.com for the keys.", "Tomasz Nowak"),
        ("Ask for Leah O'Connor-Byrne on 0161 496 0732.", "Leah O'Connor-Byrne"),
    ],
)
def test_a_name_beside_contact_details_is_personal_data(text: str, name: str) -> None:
    findings = run(text)
    found = [f for f in findings if f.rule == "personal_data.name_with_contact"]
    assert [(f.outcome.value, f.matched) for f in found] == [("block", name)]
    assert found[0].clause == CLAUSES[Clause.PERSONAL_DATA].text


def test_a_full_name_beside_a_departmental_number_is_advised() -> None:
    # Most often a member of staff at their department's number: checked, not stopped.
    findings = run("For stall bookings call Sam Whitfield on 01632 960 000.")
    assert rules(findings) == {"personal_data.name_with_contact"}
    assert rules(findings, "block") == set()
    assert next(iter(findings)).matched == "Sam Whitfield"


@pytest.mark.parametrize(
    "text",
    [
        "Mrs Jane Smith opened the new library. Call 01632 960 000 for opening hours.",
        "Call Customer Services on 01632 960 000.",
        "Contact Building Control on 01632 960 000 before you start.",
        "Call Age UK on 0800 678 1602.",
        "Jane Smith won the photography prize.",
        "Contact Trading Standards at enquiries@example.gov.uk.",
    ],
)
def test_names_apart_from_contact_details_and_teams_are_not_flagged(text: str) -> None:
    assert "personal_data.name_with_contact" not in rules(run(text))

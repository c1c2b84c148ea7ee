"""Personal data: only departmental contact details may appear in a post.

Swale customer use policy, "Responding and replying": "Only departmental email addresses and
contact telephone numbers will be given"; its "Moderation" section removes "anyone else's
personal information, such as contact details"; Dover members' policy 6.1(f): "never disclose
personal information about any person online". Names alone are not personal data here and are
never guessed (issue #4, rule 4); a titled or full name beside contact details is (issue 22:
"call Mrs Jane Smith on ..." says who to call and how).
"""

from __future__ import annotations

import re

import phonenumbers
from stdnum import iban, luhn
from stdnum.gb import nhs

from gateway.domain.guardrails.citations import Clause, default_text
from gateway.domain.guardrails.model import AllowedContacts, Finding, Outcome
from gateway.domain.guardrails.plain import plain_words
from gateway.domain.guardrails.welsh import all_forms

CLAUSE = default_text(Clause.PERSONAL_DATA)

# Phone numbers are found by the phonenumbers library's matcher (issue #4); this cheap test
# only skips it when a post has no run of digits long enough to be one (UK numbers, NHS
# numbers and card numbers all have at least nine digits).
_DIGIT_RUN = re.compile(r"(?:\d[ \-().]{0,2}){8,}\d")  # nine digits or more
_EMAIL = re.compile(r"(?<![\w.+-])([A-Za-z0-9._%+-]+)@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})\b")
FREEMAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "hotmail.com",
        "hotmail.co.uk",
        "outlook.com",
        "live.com",
        "live.co.uk",
        "msn.com",
        "yahoo.com",
        "yahoo.co.uk",
        "ymail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "aol.co.uk",
        "btinternet.com",
        "sky.com",
        "virginmedia.com",
        "ntlworld.com",
        "talktalk.net",
        "blueyonder.co.uk",
        "tiscali.co.uk",
        "protonmail.com",
        "proton.me",
        "gmx.com",
        "gmx.co.uk",
        "mail.com",
    }
)
# Shared mailboxes of organisations; anything else off the council's domains looks personal.
ROLE_MAILBOXES = frozenset(
    {
        "info",
        "enquiries",
        "enquiry",
        "contact",
        "contactus",
        "hello",
        "admin",
        "office",
        "bookings",
        "booking",
        "support",
        "help",
        "helpdesk",
        "team",
        "customerservices",
        "customer.services",
        "press",
        "media",
        "news",
        "events",
        "reception",
        "general",
        "mail",
        "post",
        "feedback",
        "complaints",
        "volunteer",
        "volunteers",
    }
)
# UK postcode (BS 7666 shape), and a house number with a street before it.
_POSTCODE = re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?) ?(\d[A-Z]{2})\b")
_STREET_TYPES = (
    r"Road|Rd|Street|St|Lane|Ln|Avenue|Ave|Close|Drive|Way|Crescent|Cres|Court|Ct|Place|Pl|"
    r"Gardens|Gdns|Terrace|Grove|Hill|Row|Walk|Square|Sq|Mews|View|Rise|Parade|Green|Park|Vale|"
    r"Wharf|Quay|Yard|Cottages|Fields|Meadow|Meadows|Lea|Chase|Gate|End|Approach|Villas|Wynd"
)
# Welsh names the street type first: "Heol y Frenhines", "Ffordd y Môr", "Stryd Fawr",
# "Lôn Las", "Rhodfa'r Gogledd" (issue #18).
_WELSH_STREET_TYPES = (
    r"Heol|Hewl|Ffordd|Stryd|Lôn|Lon|Rhodfa|Teras|Cilgant|Clos|Maes|Llys|Cwrt|Rhes|Sgwâr|"
    r"Sgwar|Stad|Ystad"
)
_WELSH_STREET = (
    rf"(?:{_WELSH_STREET_TYPES})(?:['’]r)?\s+(?:(?:y|yr)\s+)?[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)?"
)
_HOUSE = re.compile(
    rf"\b(?:(?:Flat|Apartment|Apt|Unit|Fflat)\s+\d+\w?,?\s+)?\d{{1,4}}[A-Za-z]?,?\s+"
    rf"(?:(?:[A-Z][\w'’-]+\s+){{1,3}}(?:{_STREET_TYPES})\b|{_WELSH_STREET})"
)
_STREET = re.compile(rf"\b(?:(?:[A-Z][\w'’-]+\s+){{1,3}}(?:{_STREET_TYPES})\b|{_WELSH_STREET})")
# A public building named shortly before the house number makes the address a venue ("the
# Hub, 5 Market Place"; "our offices at 1 Civic Way"), unless a person is named there too
# ("Mr Hall of 14 Lighthouse Lane").
_VENUE = re.compile(
    r"\b(?:centre|center|library|hall|hub|house|church|school|academy|college|office|offices|"
    r"building|museum|theatre|pavilion|depot|station|surgery|clinic|hospital|chambers|pool|"
    r"stadium|park|market|arcade|gallery|venue|reception)\b",
    re.IGNORECASE,
)
_RESIDENT = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|resident|residents|tenant|tenants|owner|family|home|lives|"
    r"living)\b",
    re.IGNORECASE,
)
_PERSON_AT = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?\s+[A-Z]|\b(?:resident|residents|tenant|tenants|owner|"
    r"occupier|lives|living)\b|\b[A-Z][a-z]+\s+of\s*$"
)
VENUE_WINDOW = 40  # characters before a house number searched for a venue or a person


def _is_venue(text: str, house_start: int) -> bool:
    window = text[max(0, house_start - VENUE_WINDOW) : house_start]
    return bool(_VENUE.search(window)) and not _RESIDENT.search(window)


ADDRESS_WINDOW = 80  # characters before a postcode searched for a house number or street
# National Insurance number: two letters, six digits, a suffix A-D (HMRC's format; prefixes
# HMRC never issues, such as QQ in its own examples, are still someone's data when pasted).
_NINO = re.compile(r"\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
# ... and in any case when labelled ("national insurance number ab123456c").
_NINO_LABELLED = re.compile(
    r"\b(?:national\s+insurance|NI|NINO)(?:\s+(?:number|no\.?|num))?\s*(?:is\s+)?[:\-]?\s*"
    r"([A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D])\b",
    re.IGNORECASE,
)
_NINO_WORDS = frozenset({"national", "ni", "nino"})
# Vehicle registration marks identify a vehicle's keeper (the ICO treats them as personal
# data). The current format (since 2001: "BF19 XKD": memory tag, age identifier, three
# letters) is distinctive enough alone; older formats ("A123 BCD", "ABC 123D") only with a
# word saying it is a registration, as they look like road numbers and references.
_VRM_CURRENT = re.compile(r"\b[A-HJ-PR-Y][A-HJ-PR-Y](?:0[2-9]|[1-46-9]\d|5[1-9]) ?[A-HJ-PR-Z]{3}\b")
_VRM_LABELLED = re.compile(
    r"\b(?:reg(?:istration)?(?:\s+(?:number|no\.?|mark|plate))?|number\s+plate|"
    r"plate|VRM)\s*[:\-]?\s*((?:[A-Z]\d{1,3} ?[A-Z]{3}|[A-Z]{3} ?\d{1,3}[A-Z])\b)",
    re.IGNORECASE,
)
_VRM_WORDS = frozenset({"reg", "registration", "plate", "vrm"})
# Identity documents, labelled: a passport number (nine digits) and the 16-character
# driving licence number (surname, date of birth, initials; distinctive alone).
_PASSPORT = re.compile(r"\bpassport\s*(?:number|no\.?)?\s*[:\-]?\s*\d{9}\b", re.IGNORECASE)
_DRIVING_LICENCE = re.compile(r"\b[A-Z9]{5}\d[0156]\d{4}[A-Z9]{2}\d[A-Z]{2}\b")
# An email address written out to dodge harvesters: "jo dot bloggs at gmail dot com",
# "jo.bloggs [at] gmail [dot] com".
_AT = r"(?:\s*[\[(]\s*at\s*[\])]\s*|\s+at\s+)"
_DOT = r"(?:\s*[\[(]\s*dot\s*[\])]\s*|\s+dot\s+|\.)"
_SPELT_EMAIL = re.compile(
    rf"(?<![\w.])([A-Za-z0-9_%+-]+(?:{_DOT}[A-Za-z0-9_%+-]+)*){_AT}"
    rf"([A-Za-z0-9-]+(?:{_DOT}[A-Za-z0-9-]+)*{_DOT}(?:com|net|org|uk|me|io|info|co))\b",
    re.IGNORECASE,
)
_NHS = re.compile(r"\b[1-9]\d{2}[ -]?\d{3}[ -]?\d{4}\b")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DOB = re.compile(
    r"\b(?:date\s+of\s+birth|d\.?o\.?b\.?|born(?:\s+on)?(?:\s+the)?)\s*[:\-]?\s*"
    rf"(?:\d{{1,2}}[/.\-]\d{{1,2}}[/.\-]\d{{2,4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+\d{{4}}"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})",
    re.IGNORECASE,
)
# Welsh dates of birth (issue #18): months and days as Welsh writes them, also soft-mutated
# ("o Fawrth", "ddydd Llun"), after "ganwyd/ganed (ar)", "a anwyd", "dyddiad geni",
# "wedi'i geni/eni", with Welsh ordinals ("3ydd", "1af", "2il", "5ed", "11eg", "12fed").
_WELSH_MONTH = "|".join(
    sorted(
        {
            form
            for month in ("Ionawr", "Chwefror", "Mawrth", "Ebrill", "Mai", "Mehefin",
                          "Gorffennaf", "Awst", "Medi", "Hydref", "Tachwedd", "Rhagfyr")
            for form in all_forms(month)
        },
        key=len,
        reverse=True,
    )
)  # fmt: skip
_WELSH_DAY_NAMES = "|".join(
    form
    for day in ("Llun", "Mawrth", "Mercher", "Iau", "Gwener", "Sadwrn", "Sul")
    for form in all_forms(day)
)
_WELSH_DAY = rf"(?:{'|'.join(all_forms('dydd'))})\s+(?:{_WELSH_DAY_NAMES})"
_WELSH_DOB = re.compile(
    r"\b(?:dyddiad\s+(?:ei\s+|eich\s+|fy\s+)?(?:geni|eni|ngeni)|(?:a\s+)?(?:g)?anwyd"
    r"|(?:a\s+)?(?:g)?aned|wedi['’]?\s*(?:ei|i|eu)\s+(?:geni|eni|ngeni))"
    # Welsh puts the subject after the verb: "Ganwyd Mrs Hughes ar 3 Ionawr 1931".
    r"(?:\s+[^\W\d][\w'’.-]*){0,3}?(?:\s+ar)?\s*[:\-]?\s*"
    rf"(?:(?:{_WELSH_DAY}),?\s+)?"
    r"(?:\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}"
    rf"|\d{{1,2}}(?:af|il|ydd|ed|eg|fed|ain)?\s+(?:o\s+)?(?:fis\s+)?(?:{_WELSH_MONTH}),?\s+\d{{4}})",
    re.IGNORECASE,
)
_ANY_DIGIT = re.compile(r"\d")
_BANK_WORDS = frozenset({"sort", "account", "acc", "iban", "c"})  # "c" as in "a/c"
_SORT_LIKE = re.compile(r"\d\d-\d\d-\d\d")
_BIRTH_WORDS = frozenset({"born", "birth", "dob", "d"})  # "d" as in "d.o.b."
# Welsh: ganwyd/ganed (was born) and their soft forms, geni (birth) and its mutations.
_WELSH_BIRTH_WORDS = frozenset({"ganwyd", "anwyd", "ganed", "aned", "geni", "eni", "ngeni"})
_SORT_CODE = re.compile(r"\bsort\s*code\s*[:\-]?\s*\d{2}[-\s]?\d{2}[-\s]?\d{2}\b", re.IGNORECASE)
_ACCOUNT = re.compile(
    r"\b(?:account(?:\s*(?:number|no\.?))?|acc\s*no\.?|a/c)\s*[:\-]?\s*\d{8}\b", re.IGNORECASE
)
_SORT_AND_ACCOUNT = re.compile(r"\b\d{2}-\d{2}-\d{2}\b[^\d]{1,20}\b\d{8}\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b")
_CARD = re.compile(r"\b[3-6]\d{3}(?:[ -]?\d){9,15}\b")


def _finding(rule: str, outcome: Outcome, what: str, m_span: tuple[int, int], text: str) -> Finding:
    return Finding(
        rule=f"personal_data.{rule}",
        outcome=outcome,
        reason=f"{what}.",
        clause=CLAUSE,
        span=m_span,
        matched=text[m_span[0] : m_span[1]],
    )


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in taken)


def find_personal_data(
    text: str, contacts: AllowedContacts, plain: frozenset[str] | None = None
) -> list[Finding]:
    findings: list[Finding] = []
    if "@" in text:
        findings += _emails(text, contacts)
    if plain is None:
        plain = plain_words(text)
    if "at" in plain and ("dot" in plain or "[" in text or "(" in text):
        findings += _spelt_emails(text, contacts)
    if _VRM_CURRENT.search(text) or not _VRM_WORDS.isdisjoint(plain):
        findings += _vehicles(text)
    # Everything below needs a digit: most posts stop here (issue #4 "Speed").
    if not _ANY_DIGIT.search(text):
        return findings + _names_with_contacts(text, contacts, findings, [])
    numbers: list[tuple[int, int]] = []
    if _DIGIT_RUN.search(text):
        findings += _phones(text, contacts, numbers)
        findings += _numbers(text, numbers)
    if not _BANK_WORDS.isdisjoint(plain) or _SORT_LIKE.search(text):
        findings += _bank(text, numbers)
    findings += _addresses(text, contacts)
    findings += _names_with_contacts(text, contacts, findings, numbers)
    for m in _NINO.finditer(text):
        findings.append(
            _finding(
                "ni_number",
                Outcome.BLOCK,
                "This looks like a National Insurance number",
                m.span(),
                text,
            )
        )
    if not _NINO_WORDS.isdisjoint(plain):
        for m in _NINO_LABELLED.finditer(text):
            if not any(
                f.rule == "personal_data.ni_number" and f.span == m.span(1) for f in findings
            ):
                findings.append(
                    _finding(
                        "ni_number",
                        Outcome.BLOCK,
                        "This is a National Insurance number",
                        m.span(1),
                        text,
                    )
                )
    for pattern, what in (
        (_PASSPORT, "This is a passport number"),
        (_DRIVING_LICENCE, "This is a driving licence number"),
    ):
        for m in pattern.finditer(text):
            findings.append(_finding("identity_document", Outcome.BLOCK, what, m.span(), text))
    for m in _DOB.finditer(text) if not _BIRTH_WORDS.isdisjoint(plain) else ():
        findings.append(
            _finding("date_of_birth", Outcome.BLOCK, "This is a date of birth", m.span(), text)
        )
    for m in _WELSH_DOB.finditer(text) if not _WELSH_BIRTH_WORDS.isdisjoint(plain) else ():
        findings.append(
            _finding("date_of_birth", Outcome.BLOCK, "This is a date of birth", m.span(), text)
        )
    return findings


def _phones(text: str, contacts: AllowedContacts, taken: list[tuple[int, int]]) -> list[Finding]:
    findings = []
    for match in phonenumbers.PhoneNumberMatcher(
        text, "GB", leniency=phonenumbers.Leniency.POSSIBLE
    ):
        raw = match.raw_string
        # Written as a phone number ("01632 ...", "+44 ...", "(01632) ..."), not a year
        # range or a reference number that happens to parse.
        if raw[:1] not in "0+(" or len(str(match.number.national_number)) < 7:
            continue
        span = (match.start, match.end)
        taken.append(span)
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        if e164 in contacts.phone_numbers:
            continue
        nsn = str(match.number.national_number)
        if match.number.country_code == 44 and nsn[:1] in "3589":
            # 03, 05, 08 and 09 numbers belong to organisations, never to a person at home:
            # ask the officer to check it, do not block.
            findings.append(
                Finding(
                    "personal_data.phone",
                    Outcome.ADVISE,
                    "This organisation's number is not on the council's list of departmental "
                    "numbers; check it is the right one.",
                    CLAUSE,
                    span,
                    raw,
                )
            )
            continue
        kind = "mobile" if nsn[:1] == "7" else "telephone"
        findings.append(
            _finding(
                "phone",
                Outcome.BLOCK,
                f"This {kind} number is not one of the council's departmental numbers",
                span,
                text,
            )
        )
    return findings


def _numbers(text: str, taken: list[tuple[int, int]]) -> list[Finding]:
    """NHS numbers (check digit by python-stdnum), bank details and payment card numbers."""
    findings = []
    for m in _NHS.finditer(text):
        if not _overlaps(m.span(), taken) and nhs.is_valid(m.group()):
            taken.append(m.span())
            findings.append(
                _finding("nhs_number", Outcome.BLOCK, "This is an NHS number", m.span(), text)
            )
    for m in _IBAN.finditer(text):
        if not _overlaps(m.span(), taken) and iban.is_valid(m.group()):
            taken.append(m.span())
            findings.append(
                _finding("bank", Outcome.BLOCK, "This is a bank account (IBAN)", m.span(), text)
            )
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if not _overlaps(m.span(), taken) and 13 <= len(digits) <= 19 and luhn.is_valid(digits):
            findings.append(
                _finding("card", Outcome.BLOCK, "This is a payment card number", m.span(), text)
            )
    return findings


def _bank(text: str, taken: list[tuple[int, int]]) -> list[Finding]:
    findings = []
    for pattern in (_SORT_CODE, _ACCOUNT, _SORT_AND_ACCOUNT):
        for m in pattern.finditer(text):
            if not _overlaps(m.span(), taken):
                taken.append(m.span())
                findings.append(
                    _finding("bank", Outcome.BLOCK, "These are bank details", m.span(), text)
                )
    return findings


def _emails(text: str, contacts: AllowedContacts) -> list[Finding]:
    findings = []
    for m in _EMAIL.finditer(text):
        local, domain = m.group(1).lower(), m.group(2).lower()
        if contacts.allows_email(m.group()):
            continue
        if domain not in FREEMAIL_DOMAINS and local in ROLE_MAILBOXES:
            findings.append(
                Finding(
                    "personal_data.email",
                    Outcome.ADVISE,
                    f"{m.group()} is an organisation's shared mailbox, not a council one; check "
                    "it should be given.",
                    CLAUSE,
                    m.span(),
                    m.group(),
                )
            )
            continue
        findings.append(
            _finding(
                "email",
                Outcome.BLOCK,
                "This email address is not on the council's own domains",
                m.span(),
                text,
            )
        )
    return findings


def _spelt_emails(text: str, contacts: AllowedContacts) -> list[Finding]:
    """Addresses written out in words ("jo dot bloggs at gmail dot com"), once put back."""
    findings = []
    for m in _SPELT_EMAIL.finditer(text):
        written = m.group()
        if not re.search(r"dot|[\[(]", written, re.IGNORECASE):
            continue  # "tickets at shop.example.com": a web address, not an email
        local, domain = (re.sub(_DOT, ".", part).lower() for part in m.groups())
        if not re.search(r"[\[(]", written) and not (
            domain in FREEMAIL_DOMAINS or re.search(r"[._\d]", local)
        ):
            continue  # "find us at Facebook dot com": "at" is an ordinary word
        if contacts.allows_email(f"{local}@{domain}"):
            continue
        outcome = Outcome.BLOCK
        if domain not in FREEMAIL_DOMAINS and local in ROLE_MAILBOXES:
            outcome = Outcome.ADVISE
        findings.append(
            _finding(
                "email",
                outcome,
                f"This is an email address written out ({local}@{domain}), not on the "
                "council's own domains",
                m.span(),
                text,
            )
        )
    return findings


def _vehicles(text: str) -> list[Finding]:
    spans = [m.span() for m in _VRM_CURRENT.finditer(text)]
    spans += [m.span(1) for m in _VRM_LABELLED.finditer(text) if not _overlaps(m.span(1), spans)]
    return [
        _finding(
            "vehicle",
            Outcome.BLOCK,
            "This is a vehicle registration, which identifies its keeper; describe the "
            "vehicle instead",
            span,
            text,
        )
        for span in spans
    ]


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """The last match of pattern in text (the one nearest a postcode after it)."""
    found = None
    for found in pattern.finditer(text):  # noqa: B007 - the loop keeps the last match
        pass
    return found


def _home_addresses(text: str) -> list[Finding]:
    """A house number and street said to be a person's ("Mr Hall of 14 Lighthouse Lane",
    "the tenant at 22 Orchard Close"), with or without a postcode."""
    findings = []
    for house in _HOUSE.finditer(text):
        before = text[max(0, house.start() - VENUE_WINDOW) : house.start()]
        if _PERSON_AT.search(before):
            findings.append(
                _finding(
                    "address", Outcome.BLOCK, "This is someone's home address", house.span(), text
                )
            )
    return findings


def _addresses(text: str, contacts: AllowedContacts) -> list[Finding]:
    findings = _home_addresses(text)
    for m in _POSTCODE.finditer(text):
        if m.group(1) + m.group(2) in contacts.postcodes:
            continue
        window_start = max(0, m.start() - ADDRESS_WINDOW)
        before = text[window_start : m.start()]
        house = _last(_HOUSE, before)
        if house is not None:
            # Found as someone's home already: the postcode finding below replaces it.
            house_start = window_start + house.start()
            findings = [f for f in findings if not (f.span and f.span[0] == house_start)]
        if house is not None and _is_venue(text, window_start + house.start()):
            house = None  # "the Hub, 5 Market Place, HB1 1XY": a venue, referred below
        if house is not None:
            span = (window_start + house.start(), m.end())
            findings.append(
                _finding(
                    "address",
                    Outcome.BLOCK,
                    "This is a postal address (house number and postcode)",
                    span,
                    text,
                )
            )
            continue
        street = _last(_STREET, before)
        if street is not None:
            span = (window_start + street.start(), m.end())
            findings.append(
                Finding(
                    "personal_data.address",
                    Outcome.REFER,
                    "A street and postcode: if this is someone's home it is personal data; if "
                    "it is a council or public venue, add its postcode to the allowed contacts.",
                    CLAUSE,
                    span,
                    text[span[0] : span[1]],
                )
            )
    return findings


# A person named with a title ("Mrs Jane Smith", "Mr J. Smith", "Dr Okafor"), or by a full
# name after a word asking the reader to get in touch ("call Jane Smith", "ask for Sam Lee").
_TITLE = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?"
_NAME_WORD = r"(?:O['’]|Mc|Mac)?[A-Z][a-z'’]+(?:-(?:O['’]|Mc|Mac)?[A-Z][a-z'’]+)?"
_TITLED_NAME = re.compile(
    rf"\b{_TITLE}\s+(?:[A-Z]\.?\s+){{0,2}}(?:{_NAME_WORD}\s+){{0,2}}{_NAME_WORD}"
)
_FULL_NAME = re.compile(
    # The verb in any case; the name's words capitalised (the name is matched case-sensitively).
    r"\b(?i:call|ring|phone|telephone|contact|text|email|e-mail|message|ask\s+for|speak\s+to|"
    r"write\s+to|talk\s+to)\s+"
    rf"({_NAME_WORD}\s+(?:[A-Z]\.?\s+)?{_NAME_WORD})\b"
)
# Capitalised words that make a "full name" a team, service or place: "call Customer Services",
# "contact Building Control", "ring Harbourside Council". Compared folded.
ORGANISATION_WORDS = frozenset(
    {
        "council",
        "services",
        "service",
        "team",
        "centre",
        "center",
        "office",
        "offices",
        "desk",
        "line",
        "helpline",
        "hub",
        "department",
        "support",
        "reception",
        "library",
        "hall",
        "unit",
        "point",
        "shop",
        "direct",
        "connect",
        "care",
        "group",
        "partnership",
        "trust",
        "agency",
        "police",
        "fire",
        "station",
        "control",
        "standards",
        "health",
        "housing",
        "enforcement",
        "planning",
        "highways",
        "waste",
        "recycling",
        "licensing",
        "benefits",
        "switchboard",
        "freephone",
        "customer",
        "contact",
        "emergency",
        "advice",
        "citizens",
        "now",
        "today",
        "us",
    }
)
# How far a name may be from the contact details it comes with: "Mrs Jane Smith on 01632 ...",
# "Jane Smith (07700 ...)", "Mr Kerr, at 22 Kingfisher Way" are all within a few words.
NAME_CONTACT_GAP = 25
_GAP = re.compile(
    r"^[\s,:;()\-–—]*(?:(?:on|at|via|by|tel|telephone|phone|mobile|email|e-mail|"
    r"or|is|number|calling|emailing|home)[\s.,:;()\-–—]*){0,4}$",
    re.IGNORECASE,
)


def _contact_spans(
    text: str,
    contacts: AllowedContacts,
    findings: list[Finding],
    numbers: list[tuple[int, int]],
) -> list[tuple[tuple[int, int], bool]]:
    """Every contact detail in the post: (span, departmental?). A phone number, email address
    or home address blocked above is not departmental; one the council lists (or an
    organisation's number or shared mailbox, advised above) is."""
    blocked = {
        f.span
        for f in findings
        if f.span and f.outcome is Outcome.BLOCK and f.rule.startswith("personal_data.")
    }
    spans = [(span, False) for span in blocked]
    spans += [(span, True) for span in numbers if not _overlaps(span, list(blocked))]
    if "@" in text:
        spans += [
            (m.span(), True)
            for m in _EMAIL.finditer(text)
            if not _overlaps(m.span(), list(blocked))
        ]
    return spans


def _name_before(text: str, start: int) -> tuple[int, int] | None:
    """The span of a titled or full name just before ``start``, if the words between are only
    a connector ("on", "at", a comma)."""
    window_start = max(0, start - NAME_CONTACT_GAP - 60)
    window = text[window_start:start]
    best = None
    for pattern, group in ((_TITLED_NAME, 0), (_FULL_NAME, 1)):
        for m in pattern.finditer(window):
            name = m.group(group)
            if any(w.strip(".").casefold() in ORGANISATION_WORDS for w in name.split()):
                continue
            gap = window[m.end(group) :]
            if len(gap) <= NAME_CONTACT_GAP and _GAP.match(gap):
                span = (window_start + m.start(group), window_start + m.end(group))
                if best is None or span[0] < best[0]:
                    best = span
    return best


def _names_with_contacts(
    text: str,
    contacts: AllowedContacts,
    findings: list[Finding],
    numbers: list[tuple[int, int]],
) -> list[Finding]:
    """A titled or full name next to contact details (issue 22): who to ring and how, which
    identifies a person. Blocked beside contact details that are not the council's, and a
    titled name ("Mrs Jane Smith") beside any: council posts name staff by their job, and a
    title names a resident ("call Mrs Edwards at home on ..."). An untitled full name beside a
    departmental number or mailbox is most often a member of staff, so the officer is asked
    to check it is someone content to be named."""
    out: list[Finding] = []
    seen: set[tuple[int, int]] = set()
    for span, departmental in sorted(_contact_spans(text, contacts, findings, numbers)):
        name = _name_before(text, span[0])
        if name is None or name in seen:
            continue
        seen.add(name)
        if departmental and not _TITLED_NAME.match(text, name[0]):
            out.append(
                Finding(
                    "personal_data.name_with_contact",
                    Outcome.ADVISE,
                    f"{text[name[0] : name[1]]!r} is named beside a departmental contact: check "
                    "they are a member of staff content to be named, not a resident.",
                    CLAUSE,
                    name,
                    text[name[0] : name[1]],
                )
            )
        else:
            out.append(
                _finding(
                    "name_with_contact",
                    Outcome.BLOCK,
                    "This names a person beside their contact details",
                    name,
                    text,
                )
            )
    return out

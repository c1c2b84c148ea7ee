"""The values the guardrail engine takes and gives: posts, findings, elections, contacts.

Pure dataclasses, no I/O beyond parsing text handed in by the caller (issue #4).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING

import phonenumbers

from gateway.domain.guardrails.citations import Citations

if TYPE_CHECKING:
    from gateway.domain.guardrails.register import Register


class GuardrailInputError(ValueError):
    """Input the engine cannot judge: an empty post, an unknown channel, a malformed file."""


class Outcome(enum.StrEnum):
    """What a finding asks for, strongest first."""

    BLOCK = "block"
    REFER = "refer"  # to the monitoring officer (Dover policy 5.2, 7.5)
    ADVISE = "advise"


@dataclass(frozen=True)
class Finding:
    """One reason a post may not (or should not) go out as drafted."""

    rule: str
    outcome: Outcome
    reason: str
    clause: str
    span: tuple[int, int] | None = None
    matched: str | None = None
    #: Which text of a bilingual post it was found in (issue 18): "cy", "en", or for a post
    #: that carries both "cy+en"/"en+cy"; None on a post in one language, or found in both.
    language: str | None = None

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form, used by the CLI and the API."""
        out: dict[str, object] = {
            "rule": self.rule,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "clause": self.clause,
            "span": list(self.span) if self.span else None,
            "matched": self.matched,
        }
        if self.language is not None:
            out["language"] = self.language
        return out


def blocks(findings: Iterable[Finding]) -> bool:
    """True when any finding stops the post from going out."""
    return any(f.outcome is Outcome.BLOCK for f in findings)


@dataclass(frozen=True)
class ImageToCheck:
    filename: str
    alt_text: str | None
    content_type: str
    size_bytes: int
    width: int
    height: int


@dataclass(frozen=True)
class PostToCheck:
    text: str
    images: tuple[ImageToCheck, ...] = ()
    # Swale customer use policy, "Service standards": outside office hours only emergencies,
    # bad weather, traffic incidents, stray dogs and council events may be posted.
    emergency_category: str | None = None


class ElectionKind(enum.StrEnum):
    LOCAL = "local"
    BY_ELECTION = "by-election"
    GENERAL = "general"
    MAYORAL = "mayoral"
    POLICE_AND_CRIME_COMMISSIONER = "police and crime commissioner"
    REFERENDUM = "referendum"


@dataclass(frozen=True)
class Election:
    """A poll an admin has recorded. ``notice_date`` is when the notice of election was
    actually published; until it is known the period start is assumed (see
    ``pre_election_period``)."""

    kind: ElectionKind
    polling_day: date
    notice_date: date | None = None
    # For a by-election: the wards whose candidates and members may not be publicised.
    wards: frozenset[str] = frozenset()
    # For a referendum: words naming its subject, which may not be published about at all
    # in the 28 days before the poll.
    subject_terms: tuple[str, ...] = ()
    # What the council calls it ("Local elections, 6 May 2027"); empty for that form of name.
    name: str = ""

    @property
    def title(self) -> str:
        """Its name, or one made from its kind and polling day (issue 22: never "local
        2027-05-06")."""
        return self.name.strip() or default_election_name(self.kind, self.polling_day)

    def __post_init__(self) -> None:
        if self.notice_date is not None and self.notice_date > self.polling_day:
            raise GuardrailInputError(
                f"The notice of election ({self.notice_date}) cannot come after polling day "
                f"({self.polling_day})."
            )
        if self.kind is ElectionKind.BY_ELECTION and not self.wards:
            raise GuardrailInputError("A by-election needs at least one ward.")


#: How each kind of poll is named when the council gives it no name of its own.
_KIND_NAMES = {
    ElectionKind.LOCAL: "Local elections",
    ElectionKind.BY_ELECTION: "By-election",
    ElectionKind.GENERAL: "General election",
    ElectionKind.MAYORAL: "Mayoral election",
    ElectionKind.POLICE_AND_CRIME_COMMISSIONER: "Police and crime commissioner election",
    ElectionKind.REFERENDUM: "Referendum",
}


def default_election_name(kind: ElectionKind | str, polling_day: date) -> str:
    """ "Local elections, 14 January 2027": a poll's name when the council has given none."""
    label = _KIND_NAMES.get(ElectionKind(kind), str(kind).capitalize())
    return f"{label}, {polling_day.day} {polling_day:%B %Y}"


_EMAIL_DOMAIN_RE = re.compile(r"^(?:[a-z0-9-]+\.)+[a-z]{2,}$")


@dataclass(frozen=True)
class AllowedContacts:
    """Departmental contact details that may appear in posts (Swale customer use policy:
    "Only departmental email addresses and contact telephone numbers will be given")."""

    phone_numbers: frozenset[str] = frozenset()  # E.164, e.g. "+441632960000"
    email_domains: frozenset[str] = frozenset()  # lower case, e.g. "harbourside.gov.uk"
    postcodes: frozenset[str] = frozenset()  # council buildings, upper case, no space
    email_addresses: frozenset[str] = frozenset()  # single allowed mailboxes, lower case

    @classmethod
    def from_text(cls, text: str) -> AllowedContacts:
        """Parse the contacts format: ``email-domain: x``, ``phone: n``, ``email: a@b`` and
        ``postcode: p`` lines; ``#`` starts a comment. Raises GuardrailInputError listing every
        bad line."""
        contacts, problems = cls.parse(text)
        if problems:
            raise GuardrailInputError("Bad contacts file:\n" + "\n".join(problems))
        return contacts

    @classmethod
    def parse(cls, text: str) -> tuple[AllowedContacts, list[str]]:
        """The contacts from every good line, and a message for every bad one (for callers,
        such as the bulk classifier, that warn and carry on)."""
        phones: set[str] = set()
        domains: set[str] = set()
        emails: set[str] = set()
        postcodes: set[str] = set()
        problems: list[str] = []
        for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            key, sep, value = line.partition(":")
            key, value = key.strip().lower().replace("_", "-"), value.strip()
            if not sep or not value:
                problems.append(f"line {number}: expected 'kind: value', got {raw.strip()!r}")
            elif key in ("phone", "telephone", "tel"):
                e164 = _phone_e164(value)
                if e164 is None:
                    problems.append(f"line {number}: {value!r} is not a telephone number")
                else:
                    phones.add(e164)
            elif key in ("email-domain", "domain"):
                domain = value.lower().lstrip("@")
                if not _EMAIL_DOMAIN_RE.match(domain):
                    problems.append(f"line {number}: {value!r} is not an email domain")
                else:
                    domains.add(domain)
            elif key == "email":
                if "@" not in value:
                    problems.append(f"line {number}: {value!r} is not an email address")
                else:
                    emails.add(value.lower())
            elif key == "postcode":
                postcodes.add(re.sub(r"\s+", "", value.upper()))
            else:
                problems.append(
                    f"line {number}: unknown kind {key!r} (use phone, email-domain, email or "
                    "postcode)"
                )
        contacts = cls(
            frozenset(phones), frozenset(domains), frozenset(postcodes), frozenset(emails)
        )
        return contacts, problems

    def allows_email(self, address: str) -> bool:
        address = address.lower()
        return address in self.email_addresses or self.allows_email_domain(
            address.rpartition("@")[2]
        )

    def allows_email_domain(self, domain: str) -> bool:
        domain = domain.lower()
        return any(domain == d or domain.endswith("." + d) for d in self.email_domains)


def _phone_e164(value: str) -> str | None:
    """A telephone number written in a contacts line, as E.164 (extra words allowed)."""
    for match in phonenumbers.PhoneNumberMatcher(
        value, "GB", leniency=phonenumbers.Leniency.POSSIBLE
    ):
        return phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
    try:
        parsed = phonenumbers.parse(value, "GB")
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


HOLIDAY_NATIONS = ("ENG", "SCT", "NIR")


@dataclass(frozen=True)
class PolicyContext:
    """Everything a check needs besides the post. Build once, reuse for many checks: the
    compiled matchers are cached on it."""

    register: Register
    elections: tuple[Election, ...] = ()
    contacts: AllowedContacts = field(default_factory=AllowedContacts)
    closure_days: frozenset[date] = frozenset()
    # England and Wales share bank holidays ("ENG"); Scotland "SCT"; Northern Ireland "NIR".
    holiday_nation: str = "ENG"
    # Words an admin has added to the council's offensive list (beyond data/ files).
    extra_offensive_words: frozenset[str] = frozenset()
    # The council's own policy name and clause number for each clause a finding cites
    # (issue 22); by default a finding cites the clause's text, naming no council.
    citations: Citations = field(default_factory=Citations)

    def __post_init__(self) -> None:
        if self.holiday_nation not in HOLIDAY_NATIONS:
            raise GuardrailInputError(
                f"Unknown holiday nation {self.holiday_nation!r}: use one of "
                + ", ".join(HOLIDAY_NATIONS)
            )

    @cached_property
    def political(self):  # -> PoliticalMatcher (import cycle)
        from gateway.domain.guardrails.political import PoliticalMatcher

        return PoliticalMatcher(self.register)

    @cached_property
    def offensive(self):  # -> OffensiveMatcher
        from gateway.domain.guardrails.offensive import OffensiveMatcher

        return OffensiveMatcher(self.extra_offensive_words)

    @cached_property
    def periods(self):  # -> tuple[ActivePeriod, ...]
        from gateway.domain.guardrails.periods import all_periods

        return all_periods(self)

    @cached_property
    def office_hours(self):  # -> OfficeHours
        from gateway.domain.guardrails.clock import OfficeHours

        return OfficeHours(self.holiday_nation, self.closure_days)

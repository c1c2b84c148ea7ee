"""Loading the word lists in ``data/`` (and better-profanity's list), once per process.

Lists are data, not code, so an admin can extend them without a release (issue #4: "a council
word list in a data file that an admin can add to").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources

from gateway.domain.guardrails.model import GuardrailInputError
from gateway.domain.guardrails.welsh import all_forms

# Welsh words this short are not mutated by rule: their mutated forms collide with English
# ("coc" aspirated is "choc", as in a choc ice), so a list gives the forms it wants.
MIN_MUTATED_LENGTH = 4

DATA_PACKAGE = "gateway.domain.guardrails"


def data_lines(name: str) -> list[str]:
    """Non-blank, non-comment lines of ``data/<name>``, stripped."""
    text = resources.files(DATA_PACKAGE).joinpath("data", name).read_text(encoding="utf-8")
    return [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]


@cache
def maintained_profanity() -> frozenset[str]:
    """better-profanity's word list (its data only: its matcher is far too slow, ~16 ms a
    sentence, issue #4 "Speed")."""
    text = (
        resources.files("better_profanity")
        .joinpath("profanity_wordlist.txt")
        .read_text(encoding="utf-8")
    )
    return frozenset(w.strip().lower() for w in text.splitlines() if w.strip())


@dataclass(frozen=True)
class PartyAlias:
    text: str
    party: str
    case_sensitive: bool
    ambiguous: bool
    # An abbreviation that is also something else ("Con" artists, a science "Lab"): counted
    # only with a political word straight before or after it ("Lab-run", "Con councillors").
    context_only: bool = False


@cache
def party_aliases() -> tuple[PartyAlias, ...]:
    aliases: list[PartyAlias] = []
    for line in data_lines("parties.txt"):
        party, sep, rest = line.partition(":")
        if not sep:
            raise GuardrailInputError(f"parties.txt: no ':' in {line!r}")
        for raw in rest.split(";"):
            alias = raw.strip()
            if not alias:
                continue
            # "%": a Welsh name, also matched in its mutated forms ("%=Plaid": "y Blaid",
            # "fy Mhlaid", "a Phlaid"; issue #18).
            welsh = alias.startswith("%")
            alias = alias.removeprefix("%").strip()
            mark = alias[0]
            if mark in "=~^":
                alias = alias[1:].strip()
            for form in all_forms(alias) if welsh else (alias,):
                aliases.append(
                    PartyAlias(
                        text=form,
                        party=party.strip(),
                        case_sensitive=mark in "=~^",
                        ambiguous=mark == "~",
                        context_only=mark == "^",
                    )
                )
    return tuple(aliases)


def welsh_forms(words: list[str]) -> set[str]:
    """Welsh list entries with their mutated forms (a phrase's first word mutates; single
    words shorter than MIN_MUTATED_LENGTH only as written)."""
    forms: set[str] = set()
    for word in words:
        if " " in word or len(word) >= MIN_MUTATED_LENGTH:
            forms.update(all_forms(word))
        else:
            forms.add(word)
    return forms


@cache
def given_name_variants() -> dict[str, frozenset[str]]:
    """Register given name (folded) -> short forms (folded)."""
    variants: dict[str, set[str]] = {}
    for line in data_lines("given_names.txt"):
        full, _, rest = line.partition(":")
        forms = {f.strip().casefold() for f in rest.split(";") if f.strip()}
        variants.setdefault(full.strip().casefold(), set()).update(forms)
    return {k: frozenset(v) for k, v in variants.items()}


@cache
def full_given_names() -> dict[str, frozenset[str]]:
    """Short form (folded) -> the given names it shortens ("bob" -> {"robert"})."""
    full: dict[str, set[str]] = {}
    for name, shorts in given_name_variants().items():
        for short in shorts:
            full.setdefault(short, set()).add(name)
    return {k: frozenset(v) for k, v in full.items()}


@cache
def election_administration() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(allowed election-administration phrases, non-election voting context words)."""
    admin: list[str] = []
    nonelection: list[str] = []
    for line in data_lines("election_administration.txt"):
        if line.startswith("@nonelection "):
            nonelection.append(line.removeprefix("@nonelection ").strip().lower())
        else:
            admin.append(line.lower())
    return tuple(admin), tuple(nonelection)


@dataclass(frozen=True)
class GatedPattern:
    """A data-file regular expression, the words one of which a post must contain for it to
    run (None: no word needed), and characters one of which it must contain ("" : none)."""

    triggers: frozenset[str] | None
    pattern: re.Pattern[str]
    chars: str = ""

    def wanted(self, text: str, plain: frozenset[str]) -> bool:
        if self.chars and not any(c in text for c in self.chars):
            return False
        return self.triggers is None or not self.triggers.isdisjoint(plain)

    def finditer(self, text: str, plain: frozenset[str]) -> Iterator[re.Match[str]]:
        if self.wanted(text, plain):
            yield from self.pattern.finditer(text)


_TRIGGER = re.compile(r"[a-z]+")
TRIGGER_CHARS = "@#"  # single-character triggers: the post must contain one of them


@cache
def gated_patterns(name: str) -> tuple[GatedPattern, ...]:
    """Lines ``triggers :: regex`` of ``data/<name>``: triggers are lower-case words (one must
    be in the post) and/or the characters @ and # (one must be in the post); ``:: regex`` has
    none. Raises GuardrailInputError naming a bad line, so an admin's edit fails loudly."""
    entries = []
    for line in data_lines(name):
        if line.startswith(":: "):
            triggers, source = [], line[3:]
        else:
            words, sep, source = line.partition(" :: ")
            if not sep:
                raise GuardrailInputError(f"{name}: expected 'triggers :: regex' in {line!r}")
            triggers = words.split()
        chars = "".join(t for t in triggers if t in TRIGGER_CHARS)
        words_only = [t for t in triggers if t not in TRIGGER_CHARS]
        if not all(_TRIGGER.fullmatch(t) for t in words_only):
            raise GuardrailInputError(
                f"{name}: triggers must be lower-case words, @ or # in {line!r}"
            )
        try:
            pattern = re.compile(source.strip(), re.IGNORECASE)
        except re.error as exc:
            raise GuardrailInputError(f"{name}: bad expression {source!r}: {exc}") from exc
        entries.append(GatedPattern(frozenset(words_only) or None, pattern, chars))
    return tuple(entries)

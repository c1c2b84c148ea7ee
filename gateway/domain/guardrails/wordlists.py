"""Loading the word lists in ``data/`` (and better-profanity's list), once per process.

Lists are data, not code, so an admin can extend them without a release (issue #4: "a council
word list in a data file that an admin can add to").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from gateway.domain.guardrails.model import GuardrailInputError

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
            mark = alias[0]
            if mark in "=~":
                alias = alias[1:].strip()
            aliases.append(
                PartyAlias(
                    text=alias,
                    party=party.strip(),
                    case_sensitive=mark in "=~",
                    ambiguous=mark == "~",
                )
            )
    return tuple(aliases)


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

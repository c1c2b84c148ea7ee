"""The register of members and candidates, and its one-pass name matcher.

Names come only from the register an admin keeps (issue #4), never from code. The matcher is
built once: every name form is a key in a dict of word tuples, so finding names in a post costs
a few dict look-ups per word of the post, whatever the size of the register.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from gateway.domain.guardrails.model import GuardrailInputError
from gateway.domain.guardrails.welsh import Mutation, mutate
from gateway.domain.guardrails.wordlists import full_given_names, given_name_variants

CSV_HEADER = ("name", "party", "role", "ward")
# Roles are free text; "candidate" marks someone standing, anything else a serving member.
# Particles that belong to a surname ("de Souza", "van der Berg").
SURNAME_PARTICLES = frozenset(
    {"de", "da", "di", "du", "van", "von", "der", "den", "le", "la", "st"}
)

NAME_PREFIXES = frozenset(
    {"cllr", "councillor", "mr", "mrs", "ms", "miss", "mx", "dr", "sir", "dame", "lord", "lady"}
)
POSTNOMINAL_MAX = 4  # "MBE", "OBE", "JP", "MP", "FRSA": capitals this short after a name
# A misspelt surname ("Penington" for Pennington) is matched one edit away, only when it is
# this long: shorter names have too many real neighbours (Smith/Smyth, Hall/Hill).
FUZZY_SURNAME_MIN = 6
# A misspelt given name beside an exactly spelt surname ("Margret Okafor"), from this length.
FUZZY_GIVEN_MIN = 5
NAME_WORD_RE = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_DIGIT_RE = re.compile(r"\d")


def fold(word: str) -> str:
    """Case- and accent-insensitive form of a word, so "Zoë" matches "Zoe"."""
    word = word.replace("’", "'").casefold()
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


class Word(NamedTuple):
    start: int
    end: int
    text: str
    folded: str

    @property
    def capitalised(self) -> bool:
        return self.text[:1].isupper()


_POSSESSIVE_ENDINGS = ("'s", "’s", "'S", "’S")


def _letters(word: str) -> int:
    return sum(c.isalpha() for c in word)


def words_of(text: str) -> list[Word]:
    """The words of a post (letters, with inner apostrophes and hyphens), with spans. A
    possessive "'s" is dropped, so "Okafor's" is the word "Okafor"."""
    words = []
    for m in NAME_WORD_RE.finditer(text):
        word = m.group()
        if word.endswith(_POSSESSIVE_ENDINGS):
            word = word[:-2]
        words.append(Word(m.start(), m.start() + len(word), word, fold(word)))
    return words


@dataclass(frozen=True)
class Person:
    name: str
    party: str
    role: str
    ward: str = ""

    @property
    def is_candidate(self) -> bool:
        return "candidate" in self.role


def _name_keys(person: Person) -> tuple[list[tuple[str, ...]], tuple[str, ...]]:
    """(full-name keys, surname key) for one person. A hyphenated surname is also keyed
    without its hyphen ("Drummond Hay" for Drummond-Hay), as posts often drop it."""
    written = NAME_WORD_RE.findall(person.name)
    # A register may write "Cllr Jane Smith" or "Jane Smith MBE": titles and post-nominal
    # letters are not part of the name a post will use.
    while len(written) > 2 and fold(written[0]) in NAME_PREFIXES:
        written = written[1:]
    while len(written) > 2 and written[-1].isupper() and len(written[-1]) <= POSTNOMINAL_MAX:
        written = written[:-1]
    tokens = [fold(w) for w in written]
    surname_start = len(tokens) - 1
    while surname_start > 1 and tokens[surname_start - 1] in SURNAME_PARTICLES:
        surname_start -= 1
    surname = tuple(tokens[surname_start:])
    given = tokens[0]
    keys = {tuple(tokens), (given, *surname)}
    # Both ways: "Thomas" on the register is "Tom" in a post, and "Bob" is "Robert".
    for other in given_forms(given):
        keys.add((other, *surname))
    # Welsh mutates a name after "i", "gan", "o" (soft: "i Ddafydd ap Rhys", "gan Wen
    # Pritchard") and "a", "â" (aspirate: "a Chatrin Lewis"): issue #18. Not the nasal
    # mutation ("fy Nafydd", rare in publicity), whose forms are other names ("Dan" -> "Nan").
    for mutation in (Mutation.SOFT, Mutation.ASPIRATE):
        mutated = mutate(given, mutation)
        if mutated and mutated != given:
            keys |= {(mutated, *surname), (mutated, *tokens[1:])}
    if "-" in surname[-1]:
        unhyphenated = (*surname[:-1], *surname[-1].split("-"))
        keys |= {(*k[: -len(surname)], *unhyphenated) for k in list(keys)}
    return sorted(keys), surname


def given_forms(given: str) -> frozenset[str]:
    """A folded given name and its known short or long forms ("thomas" -> tom, tommy)."""
    return (
        frozenset({given})
        | given_name_variants().get(given, frozenset())
        | full_given_names().get(given, frozenset())
    )


def _deletions(word: str) -> set[str]:
    return {word[:k] + word[k + 1 :] for k in range(len(word))}


def one_edit_apart(a: str, b: str) -> bool:
    """True when b is a one away from a: a letter dropped, added (a doubled letter),
    changed, or two neighbours swapped. Equal words are not one edit apart."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [k for k in range(len(a)) if a[k] != b[k]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )  # fmt: skip
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return short in _deletions(long)


class Register:
    """Members and candidates, with a compiled name index (one pass over a post's words)."""

    def __init__(self, people: Iterable[Person] = ()) -> None:
        self.people: tuple[Person, ...] = tuple(people)
        self._full: dict[tuple[str, ...], tuple[Person, ...]] = {}
        self._surname: dict[tuple[str, ...], tuple[Person, ...]] = {}
        # One-word surnames long enough for a misspelling to be matched, by each of their
        # one-letter deletions (and themselves): a misspelt word meets its surname in this
        # index through its own deletions, whatever the register's size.
        self._fuzzy: dict[str, set[str]] = {}
        # Folded given-name forms of each person, for initials and misspelt names.
        self._given: dict[Person, frozenset[str]] = {}
        longest = 1
        for person in self.people:
            keys, surname = _name_keys(person)
            for key in keys:
                self._full[key] = (*self._full.get(key, ()), person)
                longest = max(longest, len(key))
            surnames = {surname}
            if "-" in surname[-1]:
                surnames.add((*surname[:-1], *surname[-1].split("-")))
            for form in surnames:
                self._surname[form] = (*self._surname.get(form, ()), person)
            self._given[person] = frozenset(k[0] for k in keys)
            if len(surname) == 1 and _letters(surname[0]) >= FUZZY_SURNAME_MIN:
                for variant in _deletions(surname[0]) | {surname[0]}:
                    self._fuzzy.setdefault(variant, set()).add(surname[0])
        self._longest = longest
        # First words of every name form: most words of a post fail this one set look-up.
        self._first = frozenset(k[0] for k in self._full)
        self._longest_surname = max((len(k) for k in self._surname), default=1)
        self._surname_first = frozenset(k[0] for k in self._surname)

    def __len__(self) -> int:
        return len(self.people)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Register) and other.people == self.people

    def __hash__(self) -> int:
        return hash(self.people)

    @property
    def first_words(self) -> frozenset[str]:
        """Folded first words of every name form (given names and their short forms)."""
        return self._first

    @property
    def surname_words(self) -> frozenset[str]:
        """Folded first words of every surname."""
        return self._surname_first

    @property
    def parties(self) -> frozenset[str]:
        return frozenset(p.party for p in self.people if p.party)

    def full_name_at(self, words: list[Word], i: int) -> tuple[int, tuple[Person, ...]] | None:
        """The longest register name starting at word i: (number of words, people)."""
        if words[i].folded not in self._first:
            return None
        for length in range(min(self._longest, len(words) - i), 1, -1):
            key = tuple(w.folded for w in words[i : i + length])
            found = self._full.get(key)
            if found:
                return length, found
        return None

    def surname_at(
        self, words: list[Word], i: int, *, capitalised: bool = True
    ) -> tuple[int, tuple[Person, ...]] | None:
        """A register surname starting at word i; capitalised as names are written, unless
        a title before it ("councillor okafor") already says it is a name."""
        if (capitalised and not words[i].capitalised) or words[i].folded not in self._surname_first:
            return None
        for length in range(min(self._longest_surname, len(words) - i), 0, -1):
            found = self._surname.get(tuple(w.folded for w in words[i : i + length]))
            if found:
                return length, found
        return None

    def misspelt_surname_at(
        self, words: list[Word], i: int
    ) -> tuple[int, tuple[Person, ...]] | None:
        """A register surname one edit from word i ("Penington", "McLeod"), for surnames of
        at least FUZZY_SURNAME_MIN letters. Callers ask only beside a given name, an initial
        or a title, so "Fairweather Festival" alone is never a misspelt name."""
        word = words[i]
        if not word.capitalised or _letters(word.folded) < FUZZY_SURNAME_MIN - 1:
            return None
        candidates: set[str] = set()
        for variant in _deletions(word.folded) | {word.folded}:
            candidates |= self._fuzzy.get(variant, set())
        people = tuple(
            person
            for surname in sorted(candidates)
            if one_edit_apart(surname, word.folded)
            for person in self._surname[(surname,)]
        )
        return (1, people) if people else None

    def given_matches(self, person: Person, initial_or_given: str) -> bool:
        """Does a folded initial ("m") or given name ("mags") fit this person's given name?"""
        forms = self._given.get(person, frozenset())
        if len(initial_or_given) == 1:
            return any(f[:1] == initial_or_given for f in forms)
        return initial_or_given in forms

    def misspelt_given_fits(self, person: Person, given: str) -> bool:
        """Is a folded given name one edit from this person's (long enough to trust)?"""
        return _letters(given) >= FUZZY_GIVEN_MIN and any(
            one_edit_apart(form, given) for form in self._given.get(person, frozenset())
        )

    @classmethod
    def from_csv(cls, text: str) -> Register:
        """Parse ``name,party,role,ward`` CSV (header first). Raises GuardrailInputError
        naming every bad row by its line number and what is wrong with it."""
        register, problems = cls.parse_csv(text)
        if problems:
            raise GuardrailInputError("Bad register CSV:\n" + "\n".join(problems))
        return register

    @classmethod
    def parse_csv(cls, text: str) -> tuple[Register, list[str]]:
        """The register from every good row, and a message for every bad one, for callers
        that warn and carry on (the bulk classifier). A row short of its last fields is kept
        with them empty, and reported. Raises GuardrailInputError only when nothing can be
        read (no header, or no name column)."""
        people, problems = _parse_register_csv(text)
        return cls(people), problems


def _columns(header: list[str]) -> dict[str, int]:
    names = [h.strip().lower() for h in header]
    if "name" not in names:
        raise GuardrailInputError(
            f"line 1: the header must name the columns {','.join(CSV_HEADER)}, "
            f"got {','.join(header)!r}"
        )
    return {column: names.index(column) for column in CSV_HEADER if column in names}


def _parse_register_csv(text: str) -> tuple[list[Person], list[str]]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    problems: list[str] = []
    people: list[Person] = []
    seen: dict[tuple[str, str], int] = {}
    try:
        header = next(reader)
    except StopIteration:
        raise GuardrailInputError(
            "The register is empty: expected a header name,party,role,ward."
        ) from None
    columns = _columns(header)
    width = len(header)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"line {reader.line_num}: {exc}")
            continue
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > width:
            problems.append(
                f"line {line}: expected {width} fields ({','.join(header)}), got {len(row)}; "
                "is there an unquoted comma in a name?"
            )
            continue
        if len(row) < width:
            problems.append(
                f"line {line}: expected {width} fields ({','.join(header)}), got {len(row)}"
            )
            row = row + [""] * (width - len(row))
        cell = {c: " ".join(row[i].split()) for c, i in columns.items()}
        name, party = cell["name"], cell.get("party", "")
        role, ward = cell.get("role", "").lower() or "councillor", cell.get("ward", "")
        if not name or not NAME_WORD_RE.search(name):
            problems.append(f"line {line}: the name is empty")
            continue
        if _DIGIT_RE.search(name):
            problems.append(f"line {line}: the name {name!r} contains digits")
            continue
        key = (fold(name), fold(ward))
        if key in seen:
            problems.append(f"line {line}: duplicate of line {seen[key]}")
            continue
        seen[key] = line
        people.append(Person(name=name, party=party, role=role, ward=ward))
    return people, problems

"""Welsh initial mutations, so a rule written with a word's radical form finds it mutated.

Welsh changes a word's first consonant after certain words (issue #18, "Welsh in the
guardrails"): "Plaid" is "y Blaid" (soft), "fy Mhlaid" (nasal), "a Phlaid" (aspirate);
"Llafur" is "dros Lafur"; "Cynghorydd" is "y Gynghorydd", "fy Nghynghorydd", "a Chynghorydd".
Word lists keep the radical form only and the matchers are built from every form, so an
admin adds one word and the council does not have to know the mutation tables.
"""

from __future__ import annotations

from enum import StrEnum


class Mutation(StrEnum):
    SOFT = "soft"  # treiglad meddal
    NASAL = "nasal"  # treiglad trwynol
    ASPIRATE = "aspirate"  # treiglad llaes


# The standard tables (radical initial -> mutated initial). Digraphs come first, so "ll" is
# read as one letter and not as "l" + "l". "g" is dropped by the soft mutation ("Gwyrddion"
# -> "Wyrddion").
_TABLES: dict[Mutation, tuple[tuple[str, str], ...]] = {
    Mutation.SOFT: (
        ("ll", "l"),
        ("rh", "r"),
        ("p", "b"),
        ("t", "d"),
        ("c", "g"),
        ("b", "f"),
        ("d", "dd"),
        ("g", ""),
        ("m", "f"),
    ),
    Mutation.NASAL: (
        ("p", "mh"),
        ("t", "nh"),
        ("c", "ngh"),
        ("b", "m"),
        ("d", "n"),
        ("g", "ng"),
    ),
    Mutation.ASPIRATE: (
        ("p", "ph"),
        ("t", "th"),
        ("c", "ch"),
    ),
}
# Initials that never mutate although a table letter starts them: "ch", "ph", "th", "dd",
# "ff" and "ng" are letters of their own ("Chwefror", "Ffordd").
_OWN_LETTERS = ("ch", "ph", "th", "dd", "ff", "ng")


def mutate(word: str, mutation: Mutation) -> str:
    """``word`` with its first letter mutated, keeping a capital: ("Plaid", SOFT) -> "Blaid",
    ("Llafur", SOFT) -> "Lafur", ("Cynghorydd", NASAL) -> "Nghynghorydd". A word the mutation
    does not change (a vowel, "Reform", "Ffion") comes back as it was."""
    lower = word.lower()
    if not lower or lower.startswith(_OWN_LETTERS):
        return word
    for radical, mutated in _TABLES[mutation]:
        if lower.startswith(radical):
            rest = word[len(radical) :]
            if word.isupper() and len(word) > 1:  # "PLAID" -> "MHLAID"
                return mutated.upper() + rest
            if not mutated:  # "g" dropped: "Gwyrddion" -> "Wyrddion"
                return rest[:1].upper() + rest[1:] if word[:1].isupper() else rest
            if word[:1].isupper():
                return mutated[:1].upper() + mutated[1:] + rest
            return mutated + rest
    return word


def mutations(word: str) -> dict[Mutation, str]:
    """The mutated forms of ``word`` that differ from it, by mutation."""
    forms = {m: mutate(word, m) for m in Mutation}
    return {m: form for m, form in forms.items() if form != word and form}


def all_forms(phrase: str) -> tuple[str, ...]:
    """The phrase as written and with its first word mutated every possible way (only the
    first word mutates: "Plaid Cymru" -> "Blaid Cymru", "Mhlaid Cymru", "Phlaid Cymru")."""
    first, sep, rest = phrase.partition(" ")
    forms = [phrase]
    for form in mutations(first).values():
        candidate = form + sep + rest
        if candidate not in forms:
            forms.append(candidate)
    return tuple(forms)

"""Offensive content: profanity, abuse, insults aimed at people and slurs.

Swale customer use policy, "Moderation": nothing "abusive, threatening, harmful, obscene,
profane, sexually oriented or racially offensive, including abbreviations of any such word";
Cromer policy 4: no "defamatory, illegal, sexual, discriminatory or offensive material".

Words come from better-profanity's maintained list (its data, not its slow matcher), less
``data/offensive_excluded.txt`` (ordinary council vocabulary), plus ``data/offensive_extra.txt``
and the admin's extra words. Matching is by whole word, so Scunthorpe, Essex and Penistone are
never flagged; asterisked (f**k), leetspeak (sh1t), stretched (shiiit), dotted (f.u.c.k) and
spaced (f u c k) forms are normalised first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from gateway.domain.guardrails.citations import Clause, default_text
from gateway.domain.guardrails.model import Finding, Outcome
from gateway.domain.guardrails.plain import first_plain_word, plain_words
from gateway.domain.guardrails.wordlists import data_lines, maintained_profanity, welsh_forms

CLAUSE = default_text(Clause.OFFENSIVE)
_TOKEN = re.compile(r"[\w@$*#!+'’.-]+")
_EDGE = "'’.-!"
_SPLIT = re.compile(r"[-.'’_]+")
_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "@": "a",
        "$": "s",
        "!": "i",
        "+": "t",
    }
)
_MASK_CHARS = "*#"
_STRETCH = re.compile(r"([a-z])\1{2,}")
_SEPARATORS = re.compile(r"[-._]")
# Disguised words a plain-word test cannot see: a symbol inside or before letters (sh!t, f**k,
# @ss, $hit), a mask after them (f***), a digit inside letters (sh1t, p0rn), a stretched letter
# (shiiit), spaced or dotted letters (f u c k). Separate simple patterns scan faster than one.
_SYMBOL_CHARS = "@$*#!+"
_ANY_DIGIT = re.compile(r"\d")
_DISGUISES = (
    re.compile(r"[a-z][@$*#!+]+[a-z]|(?<![\w@])[@$][a-z]|[a-z][*#]"),
    re.compile(r"[a-z][0-9]+[a-z]"),
    re.compile(r"([a-z])\1\1"),
    re.compile(r"\b[a-z][ .][a-z][ .][a-z]\b"),
)
# Listed words that are also given names, surnames and place-name parts ("Dick Whittington",
# "Cock Lane", "Fanny Hands Lane", "Bloody Sunday"): not flagged inside a run of capitalised words.
NAME_LIKE_WORDS = frozenset(
    {
        "dick",
        "dicks",
        "cock",
        "cocks",
        "fanny",
        "tit",
        "tits",
        "nob",
        "coon",
        "bloody",
        "willy",
        "muff",
        "titty",
        "ass",
        "cumming",
        "cummings",
        "kinky",
        "muppet",
        "muppets",
    }
)
MIN_STEM_FOR_PLURAL = 4  # "cocks" -> "cock"; shorter stems ("as" -> "a") are not words here


def _normalise_entry(word: str) -> str:
    return _SEPARATORS.sub("", word.lower())


class OffensiveMatcher:
    """Whole-word matcher over a set of words, compiled once per PolicyContext."""

    def __init__(self, extra_words: Iterable[str] = ()) -> None:
        excluded = {w.lower() for w in data_lines("offensive_excluded.txt")}
        entries = (maintained_profanity() - excluded) | {
            w.lower() for w in data_lines("offensive_extra.txt")
        }
        # Welsh: no registry has a maintained Welsh list (issue #18), so the council's own
        # file, each word also in its mutated forms ("cachu": "gachu", "nghachu", "chachu").
        entries |= {w.lower() for w in welsh_forms(data_lines("offensive_welsh.txt"))}
        entries |= {w.strip().lower() for w in extra_words if w.strip()}
        self.words: frozenset[str] = frozenset(
            _normalise_entry(w) for w in entries if " " not in w
        ) | frozenset(w for w in entries if " " not in w)
        phrases = sorted((w for w in entries if " " in w), key=len, reverse=True)
        self._phrase_starters = frozenset(first_plain_word(p) for p in phrases)
        self._phrases = (
            re.compile(
                r"(?<!\w)(?:"
                + "|".join(r"\s+".join(map(re.escape, p.split())) for p in phrases)
                + r")(?!\w)",
                re.IGNORECASE,
            )
            if phrases
            else None
        )
        allowed = sorted(data_lines("offensive_allowed_phrases.txt"), key=len, reverse=True)
        self._allowed = (
            re.compile(
                r"(?<!\w)(?:"
                + "|".join(r"[\s-]+".join(map(re.escape, p.split())) for p in allowed)
                + r")(?!\w)",
                re.IGNORECASE,
            )
            if allowed
            else None
        )
        # For the fast path: every plain listed word and its plural, as a set to intersect.
        plain = {w for w in self.words if w.isalpha()}
        self._plain = frozenset(plain | {w + "s" for w in plain if len(w) >= MIN_STEM_FOR_PLURAL})
        self._by_length: dict[int, list[str]] = {}
        for w in self.words:
            if w.isalpha():
                self._by_length.setdefault(len(w), []).append(w)

    # -- one word ------------------------------------------------------------------------
    def _is_offensive(self, form: str) -> bool:
        words = self.words
        if form in words:
            return True
        if len(form) > MIN_STEM_FOR_PLURAL and form.endswith("s") and form[:-1] in words:
            return True
        if any(c in form for c in _MASK_CHARS):
            return self._masked(form)
        return False

    def _masked(self, form: str) -> bool:
        """ "f**k", "b******s": a listed word of the same length with the same visible letters."""
        letters = sum(c.isalpha() for c in form)
        if letters == 0 or letters == len(form):
            return False
        parts = ["[a-z]" if c in _MASK_CHARS else re.escape(c) for c in form]
        pattern = re.compile("".join(parts))
        if any(pattern.fullmatch(w) for w in self._by_length.get(len(form), ())):
            return True
        # A disguised word at the start of a compound: "sh*tshow", "f**kwit".
        last_mask = max(form.rfind(c) for c in _MASK_CHARS)
        for length in range(max(last_mask + 2, MIN_STEM_FOR_PLURAL), len(form)):
            prefix = re.compile("".join(parts[:length]))
            if any(prefix.fullmatch(w) for w in self._by_length.get(length, ())):
                return True
        return False

    def _forms(self, token: str) -> Iterable[str]:
        low = token.lower()
        yield low
        if not low.isalpha():
            leet = low.translate(_LEET)
            if leet != low and any(c.isalpha() for c in low):
                yield leet
            joined = _SEPARATORS.sub("", leet)
            if joined != leet:
                yield joined
        if _STRETCH.search(low):
            yield _STRETCH.sub(r"\1", low)
            yield _STRETCH.sub(r"\1\1", low)

    # -- a post ---------------------------------------------------------------------------
    def _clearly_clean(self, text: str, plain: frozenset[str]) -> bool:
        """The fast path (issue #4 "Speed"): C-level set and regex work only. True when no
        word could be offensive, so the careful token-by-token pass is skipped."""
        if not self._plain.isdisjoint(plain):
            return False
        low = text.lower()
        symbols, letters_digits, stretched, spaced = _DISGUISES
        if any(c in low for c in _SYMBOL_CHARS) and symbols.search(low):
            return False
        if _ANY_DIGIT.search(low) and letters_digits.search(low):
            return False
        if stretched.search(low) or spaced.search(low):
            return False
        if self._phrases is None or self._phrase_starters.isdisjoint(plain):
            return True
        return not self._phrases.search(low)

    def find(self, text: str, plain: frozenset[str] | None = None) -> list[Finding]:
        if self._clearly_clean(text, plain_words(text) if plain is None else plain):
            return []
        if self._allowed is not None:
            text_to_check = self._allowed.sub(lambda m: " " * len(m.group()), text)
        else:
            text_to_check = text
        hits: list[tuple[int, int]] = []
        tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text_to_check)]
        singles: list[tuple[int, int, str]] = []
        for index, (start, end, raw) in enumerate(tokens):
            token = raw.strip(_EDGE)
            if not token:
                continue
            start += raw.index(token[0])
            end = start + len(token)
            if len(token) == 1 and token.isalpha():
                singles.append((start, end, token))
                continue
            self._flush_singles(singles, hits)
            if self._token_hit(token, tokens, index):
                hits.append((start, end))
        self._flush_singles(singles, hits)
        if self._phrases is not None:
            hits += [m.span() for m in self._phrases.finditer(text_to_check)]
        return [
            Finding(
                "offensive",
                Outcome.BLOCK,
                f"{text[s:e]!r} is offensive.",
                CLAUSE,
                (s, e),
                text[s:e],
            )
            for s, e in sorted(set(hits))
        ]

    def _token_hit(self, token: str, tokens: list[tuple[int, int, str]], index: int) -> bool:
        parts = [p for p in _SPLIT.split(token) if p] if _SPLIT.search(token) else [token]
        if len(parts) > 1 and sum(p[:1].isupper() for p in parts) >= 2:
            # A hyphenated proper name such as "Chorlton-cum-Hardy": not split into parts.
            parts = []
        for candidate in (token, *parts):
            for form in self._forms(candidate):
                if self._is_offensive(form):
                    return not self._name_like(form, token, tokens, index)
        return False

    @staticmethod
    def _name_like(form: str, token: str, tokens: list[tuple[int, int, str]], index: int) -> bool:
        if form not in NAME_LIKE_WORDS or not token[:1].isupper():
            return False
        if index + 1 < len(tokens) and tokens[index + 1][2][:1].isupper():
            return True
        if index >= 1 and tokens[index - 1][2].lower() == "the":
            return True  # "the Cock and Bull", "The Fanny": a name, as capitalised after "the"
        # A capitalised word before counts unless it merely starts a sentence ("You dick").
        if index >= 1 and tokens[index - 1][2][:1].isupper():
            return index >= 2 and not tokens[index - 2][2].endswith((".", "!", "?"))
        return False

    def _flush_singles(
        self, singles: list[tuple[int, int, str]], hits: list[tuple[int, int]]
    ) -> None:
        """ "f u c k": three or more single letters in a row, read as one word."""
        if len(singles) >= 3 and "".join(s[2] for s in singles).lower() in self.words:
            hits.append((singles[0][0], singles[-1][1]))
        singles.clear()

"""Finding political content: register names, party names, campaigning, controversy.

This module only *finds* things; ``engine`` decides their outcome from the election periods in
force at the instant of the check. Every matcher is compiled once per PolicyContext.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from gateway.domain.guardrails.plain import VOTE_WORDS, first_plain_word, plain_words
from gateway.domain.guardrails.register import (
    Person,
    Register,
    Word,
    fold,
    words_of,
)
from gateway.domain.guardrails.welsh import all_forms
from gateway.domain.guardrails.wordlists import (
    PartyAlias,
    data_lines,
    election_administration,
    gated_patterns,
    party_aliases,
)

# Welsh councillor titles (issue #18), in every mutated form: "y Cynghorydd", "ein
# Cynghorydd", "gan Gynghorydd", "fy Nghynghorydd", "a Chynghorydd"; "Cyng." abbreviated.
WELSH_COUNCILLOR = frozenset(f.lower() for f in all_forms("cynghorydd")) | {"cyng"}
WELSH_COUNCILLORS = frozenset(f.lower() for f in all_forms("cynghorwyr"))
# Words before a surname that mark a person (Cllr/Councillor per issue #4; honorifics too).
COUNCILLOR_TITLES = (
    frozenset({"cllr", "cllrs", "councillor", "councillors"}) | WELSH_COUNCILLOR | WELSH_COUNCILLORS
)
HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "sir", "dame", "lord", "lady"})
# Civic roles before a register name or surname ("Mayor Okafor", "Leader Brennan").
ROLE_TITLES = frozenset(
    {"leader", "mayor", "provost", "chair", "chairman", "chairwoman", "alderman"}
)
# Words after a full name that make it a place or building ("Rose Hill Park"), not a person.
PLACE_WORDS = frozenset(
    {
        "road", "street", "lane", "avenue", "close", "drive", "way", "park", "gardens",
        "school", "academy", "college", "centre", "center", "hall", "house", "library",
        "primary", "court", "square", "estate", "building", "bridge", "field", "fields",
        "playing", "recreation", "memorial", "trust", "foundation", "award", "awards",
    }
)  # fmt: skip
# Capitalised words after "Councillor" that are not a name ("Councillor Code of Conduct").
NOT_A_NAME_AFTER_COUNCILLOR = frozenset(
    {
        "code",
        "conduct",
        "surgery",
        "surgeries",
        "allowance",
        "allowances",
        "scheme",
        "schemes",
        "services",
        "vacancy",
        "vacancies",
        "induction",
        "enquiries",
        "enquiry",
        "call",
        "casework",
        "community",
        "grant",
        "grants",
        "fund",
        "development",
        "training",
        "portal",
        "hub",
        "briefing",
        "guide",
        "handbook",
        "information",
        "contact",
        "details",
        "role",
        "profiles",
        "the",
        "and",
        "for",
        "of",
        "event",
        "events",
        "campaign",
        "day",
        "week",
        "programme",
        "program",
        "bursary",
        "award",
        "awards",
        "forum",
        "panel",
        "network",
        "toolkit",
        "workshop",
        "session",
        "sessions",
        "webinar",
        "guidance",
        "election",
        "elections",
        "by-election",
        "questions",
        "question",
        "meeting",
        "meetings",
        "office",
        "support",
        "team",
        "app",
        "email",
        "newsletter",
        "bulletin",
    }
)
# Context after an ordinary-word party name ("Labour", "Green", "Reform") that makes it the party.
_AMBIGUOUS_AFTER = re.compile(
    r"(?:['’]s\b|-(?:run|led|controlled|held|dominated|leaning)\b|"
    r"\s+(?:(?:has|have|had|will|would|is|are|was|were)\s+)?(?:councillors?|cllrs?|"
    r"group|groups|mps?|msps?|meps?|mlas?|candidates?|leader|leaders|leadership|party|"
    r"government|administration|voters|supporters|activists|manifesto|campaigners?|peers?|"
    r"politicians?|ministers?|opposition|spokes(?:person|man|woman)|whip|deliver(?:s|ed)?|"
    r"council(?!\s+tax)|councils|said|says|claims?|claimed|pledged?|pledges|promised?|"
    r"promises|wants|backs|backed|opposes|opposed|won|wins|lost|loses|gained|gains|controls|"
    r"controlled)\b|"
    # A claim of credit with the party as an adjective: "our Labour team has delivered",
    # "the Green team secured" (issue #18; not "the Green team won the relay").
    r"\s+(?:team|teams|cabinet|colleagues)\s+(?:(?:has|have|had|is|are)\s+)?(?:delivered|"
    r"delivering|secured|securing|built|saved|kept|cut|frozen|froze|fought|brought|invested|"
    r"created|fixed|achieved|done|promised|pledged|stood\s+up)\b)",
    re.IGNORECASE,
)
_AMBIGUOUS_BEFORE = re.compile(
    r"\b(?:vote|voted|votes|voting|elect|elected|back|backing|support|supporting|join|"
    r"joined|a\s+vote\s+for|vote\s+for|voting\s+for|"
    # Welsh (issue #18): "Pleidleisiwch dros/i", "pleidlais i", "Cefnogwch", "Etholwch",
    # "Ail-etholwch"; the party after them is soft-mutated ("dros Lafur", "i'r Blaid").
    r"[bp]leidleisiwch\s+(?:dros|i)|[bp]leidleisio\s+(?:dros|i)|[bp]leidlais\s+(?:dros|i)|"
    r"[cg]efnogwch|[cg]efnogi|etholwch|ail-?etholwch)"
    r"(?:\s+(?:the\s+|y\s+|yr\s+)?|['’]r\s+)$",  # "i'r Blaid": "i" + "'r" (the)
    re.IGNORECASE,
)
# Welsh puts the adjective after the noun: "cynghorwyr Llafur", "llywodraeth Lafur", "grŵp y
# Blaid", "ymgeisydd Llafur", "AS Llafur" (issue #18): one of these before a Welsh
# ordinary-word party name ("llafur" is also work) makes it the party.
_WELSH_NOUNS = sorted(
    {
        form
        for noun in (
            "cynghorydd", "cynghorwyr", "cyng", "grŵp", "grwp", "grwpiau", "llywodraeth",
            "ymgeisydd", "ymgeiswyr", "aelod", "aelodau", "arweinydd", "gweinidog",
            "gweinidogion", "ymgyrchwyr", "cefnogwyr", "maniffesto", "plaid",
        )
        for form in all_forms(noun)
    },
    key=len,
    reverse=True,
)  # fmt: skip
_WELSH_NOUN_BEFORE = re.compile(rf"\b(?:(?i:{'|'.join(_WELSH_NOUNS)})|AS|ASau)\s+(?:(?:y|yr)\s+)?$")
_PLACE_AFTER = re.compile(
    r"[ \t]+(?:Road|Street|Lane|Hill|Island|Brook|Way|Close|Avenue|Park|Farm|Top|Club|Inn|"
    r"Arms|Hall|House|Estate|Rooms)\b"
)
# Before a party name written in capitals ("THANKS TO LABOUR", "Only REFORM can"): words
# after which the capitals name the party rather than shout an ordinary word ("your GREEN
# bin", "GO GREEN", "BOWLING GREENS").
_SHOUTED_BEFORE = frozenset(
    {
        "to", "by", "for", "from", "with", "than", "only", "under", "against", "and", "or",
        "but", "nor", "because", "as", "if", "not", "without", "unlike", "so", "that",
        "blame", "trust", "beat", "thanks",
    }
)  # fmt: skip
# ... and after it: punctuation, the end, or a verb a party is the subject of.
_SHOUTED_AFTER = re.compile(
    r"\s*(?:[,.!?;:)]|$)|\s+(?:can(?:not|'t)?|could|will|won't|would|shall|should|must|may|"
    r"might|has|have|had|do|does|did|didn't|doesn't|want(?:s|ed)?|say|says|said|"
    r"promis(?:e|es|ed)|pledg(?:e|es|ed)|deliver(?:s|ed)?|plan(?:s|ned)?|propos(?:e|es|ed)|"
    r"vot(?:e|es|ed)|think|thinks|believe|believes|froze|cut|cuts|scrap(?:s|ped)?|"
    r"stand|stands|stood|know|knows|need|needs|gets?|got|runs?|ran|took|takes?|built|builds?|"
    r"fought|fights?|block(?:s|ed)?|fail(?:s|ed)?|forced?|left|let|lets|made|makes?|kept|"
    r"keeps?|sav(?:e|es|ed)|stop(?:s|ped)?|gave|gives?|won|wins?|lost|loses?|alone|again)\b",
    re.IGNORECASE,
)
_WELSH_SENTENCE_VERBS = frozenset(
    {
        "mae", "roedd", "bydd", "byddai", "bu", "fe", "mi", "dywedodd", "addawodd", "gwnaeth",
        "wnaeth", "methodd", "enillodd", "collodd", "cefnogodd", "gwrthwynebodd", "diolch",
        "sicrhaodd", "torrodd", "rhewodd", "gallai", "gall", "dylai", "mae'r",
    }
)  # fmt: skip
_DETERMINERS = frozenset({"the", "a", "an", "this", "that", "our", "its", "their", "your"})
_SENTENCE_END = re.compile(r"(?:^|[.!?:;\n\"“(])\s*$")
# "Jane Smith (Lab)": a person labelled by party, whether or not on the register.
_PARTY_LABEL = re.compile(
    r"\b[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,3}\s*\((?:Lab|Lab\s*Co-?op|Labour|Con|Cons|"
    r"Conservative|LD|Lib\s*Dem|Liberal\s+Democrats?|Grn|Green|Ind|Independent|Ref|Reform|"
    r"Reform\s+UK|SNP|PC|Plaid|Plaid\s+Cymru|UKIP|DUP|UUP|SDLP|SF|Alliance)\)"
)
# "Jane Smith MP": a sitting politician, a candidate again in a general election. Members of
# the Senedd are "MS" in English and "AS" (Aelod o'r Senedd) in Welsh (issue #18).
_POLITICIAN_SUFFIX = re.compile(
    r"\b[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){1,3}\s+(?:MP|MSP|MEP|MLA|MS|AS)\b"
)
# "vote for X" / "Vote Smith": asking for votes, once election-administration phrases are masked.
_VOTE_FOR = re.compile(
    r"\b(?i:vot(?:e|es|ed|ing)\s+)(?:(?i:for|against)\b(?:\s+[\w'’-]+){0,3}|[A-Z][\w'’-]+)"
    # Welsh: "Pleidleisiwch dros ...", "Pleidleisiwch i Jones" ("pleidleisiwch i bleidleisio"
    # or "i ddewis" is "vote to ...", so after "i" only a capitalised name counts).
    r"|\b(?i:[bp]leidleisiwch|[bp]leidleisio)\s+(?:(?i:dros|yn\s+erbyn)\b(?:\s+[\w'’-]+){0,3}"
    r"|(?i:i)\s+(?:y\s+|['’]r\s+)?[A-Z][\w'’-]+)"
)
_GATED_PARTY = {"party": "a political group"}  # what a political_groups.txt match names
_POLITICIAN_TITLES = frozenset({"mp", "msp", "mep", "mla", "ms", "as", "aelod"})
SURNAME_PARTY_WINDOW = 30  # characters between a surname and a party name that link them
HONORIFIC_AND_SURNAME = "honorific and surname"
CIVIC_ROLE = "civic role"
CIVIC_WINDOW = 60  # characters before a name searched for "The Mayor of ...,"
_CIVIC_OFFICE = (
    r"(?:(?:Lord|Deputy|Civic|Town)\s+)?(?:Mayor|Mayoress|Provost)"
    r"|(?:Chairman|Chairwoman|Chair)\s+of\s+(?:the\s+)?(?:\w+\s+)?Council"
)
_CIVIC_BEFORE = re.compile(
    rf"\b(?:{_CIVIC_OFFICE})(?:\s+of\s+(?:the\s+)?[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*)?"
    r"\s*[,:]?\s*$"
)
_CIVIC_AFTER = re.compile(rf"\s*(?:,\s*(?:the\s+)?|\()(?:{_CIVIC_OFFICE})\b")
_CIVIC_TITLE = re.compile(r"(?:(?:Lord|Deputy)\s+)?(?:Mayor|Provost)\b", re.IGNORECASE)
# After a name, a firm's name goes on ("K Baird & Co", "J. Smith and Sons Ltd"): a business.
_FIRM_AFTER = re.compile(
    r"\s*(?:&|and\s+(?:sons?|daughters?|co|partners)\b|(?:ltd|limited|plc|llp)\b)",
    re.IGNORECASE,
)
_TITLES = COUNCILLOR_TITLES | HONORIFICS | ROLE_TITLES
_ABBREVIATED_TITLES = frozenset({"cllr", "cllrs", "mr", "mrs", "ms", "mx", "dr", "cyng"})
_LIST_GAP = re.compile(r"\s*,\s*|\s+|\s*&\s*")  # between names in "Cllrs A, B and C"
_OUR_MP = re.compile(
    r"\bour\s+(?:local\s+)?(?:MP|MSP|MLA|MS)\b"
    # Welsh: "ein AS", "ein Haelod Seneddol", "ein Haelod o'r Senedd" (h before a vowel)
    r"|\bein\s+(?:(?-i:AS)|h?aelod\s+(?:seneddol|o['’]r\s+senedd))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PoliticalHit:
    kind: str  # person | councillor_title | party_label | politician | party | campaign |
    # slogan | controversial | vote_for | quote
    span: tuple[int, int]
    matched: str
    people: tuple[Person, ...] = ()
    party: str = ""
    how: str = ""


def _phrase_pattern(phrase: str) -> str:
    """A phrase as a regex: words separated by any run of spaces or punctuation."""
    words = re.findall(r"[\w'’-]+", phrase)
    return r"\s*[^\w\s]?\s*".join(re.escape(w).replace("'", "['’]") for w in words)


def _alternation(phrases: list[str], flags: int = 0) -> re.Pattern[str] | None:
    if not phrases:
        return None
    body = "|".join(_phrase_pattern(p) for p in sorted(set(phrases), key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w])", flags)


class PoliticalMatcher:
    """Compiled once per register: party names (data file + register), campaign phrasing,
    slogans, controversy and the register's names."""

    def __init__(self, register: Register) -> None:
        self.register = register
        # Words that may start a name: given names, surnames (a misspelt given name before
        # one) and titles; initials are looked for with INITIAL_BEFORE_NAME.
        self._starters = (
            frozenset(first_plain_word(w) for w in register.first_words | register.surname_words)
            | _TITLES
        )
        aliases = list(party_aliases())
        known = {fold(a.text) for a in aliases}
        for party in sorted(register.parties):
            if fold(party) in known:
                continue
            # A local party from the register: several words are distinctive, one word
            # ("Residents") may be ordinary English and needs a political context.
            single = len(party.split()) == 1
            aliases.append(PartyAlias(party, party, case_sensitive=single, ambiguous=single))
        self._party_starters = frozenset(first_plain_word(a.text) for a in aliases)
        self._alias_party: dict[str, PartyAlias] = {}
        for alias in aliases:
            self._alias_party.setdefault(fold(alias.text), alias)
        self._party_any_case = _alternation(
            [a.text for a in aliases if not a.case_sensitive], re.IGNORECASE
        )
        # Ordinary-word names also in capitals ("VOTE LABOUR"): in capitals every word looks
        # like a name, so only the before/after contexts can make them the party.
        cased = [a.text for a in aliases if a.case_sensitive]
        cased += [
            a.text.upper()
            for a in aliases
            if (a.ambiguous or a.case_sensitive) and not a.context_only and not a.text.isupper()
        ]
        self._party_cased = _alternation(cased)
        # Campaign phrasing, controversy and political groups: expressions from data files,
        # each woken only by its trigger words.
        entries = [
            (kind, entry)
            for kind, name in (
                ("campaign", "campaign_phrases.txt"),
                ("controversial", "controversial.txt"),
                ("party", "political_groups.txt"),
                ("quote", "councillor_quotes.txt"),
                ("councillor_title", "social_handles.txt"),
            )
            for entry in gated_patterns(name)
        ]
        self._gated = [(kind, entry.pattern) for kind, entry in entries]
        self._entries = [entry for _, entry in entries]
        # Trigger word -> indexes of the expressions it wakes (one set intersection a post).
        self._by_trigger: dict[str, list[int]] = {}
        self._always = [i for i, (_, e) in enumerate(entries) if e.triggers is None]
        for i, (_, entry) in enumerate(entries):
            for word in entry.triggers or ():
                self._by_trigger.setdefault(word, []).append(i)
        self._trigger_words = frozenset(self._by_trigger)
        slogans = data_lines("slogans.txt")
        self._slogans = _alternation(slogans, re.IGNORECASE)
        self._slogan_starters = frozenset(first_plain_word(s) for s in slogans)
        admin, nonelection = election_administration()
        self._admin = _alternation(list(admin), re.IGNORECASE)
        self._nonelection = _alternation(list(nonelection), re.IGNORECASE)

    # -- parties -------------------------------------------------------------------------
    def _alias_for(self, matched: str) -> PartyAlias | None:
        return self._alias_party.get(fold(" ".join(re.findall(r"[\w'’-]+", matched))))

    def parties(self, text: str) -> list[PoliticalHit]:
        hits: list[PoliticalHit] = []
        for pattern in (self._party_any_case, self._party_cased):
            if pattern is None:
                continue
            for m in pattern.finditer(text):
                alias = self._alias_for(m.group())
                if alias is None or _PLACE_AFTER.match(text, m.end()):
                    continue  # "Tory Hill", "Labour Club": a place or building
                matched = m.group()
                if alias.context_only:
                    if not _beside_political_word(text, m.start(), m.end()):
                        continue
                elif alias.case_sensitive and matched.isupper() and not alias.text.isupper():
                    # "LABOUR", "GREENS": in capitals every word looks like a name.
                    plural = alias.text.endswith("s") or " " in alias.text
                    if not _shouted_party(text, m.start(), m.end(), plural):
                        continue
                elif alias.ambiguous and not self._political_context(text, m.start(), m.end()):
                    continue
                elif (
                    alias.case_sensitive
                    and not alias.ambiguous
                    and " " not in alias.text
                    and not alias.text.isupper()
                    and _SENTENCE_END.search(text[max(0, m.start() - 30) : m.start()])
                    and not _party_at_sentence_start(text, m.start(), m.end())
                ):
                    continue  # "Plaid shirts are back", "Greens and browns in the food bin"
                hits.append(PoliticalHit("party", m.span(), m.group(), party=alias.party))
                vote = _AMBIGUOUS_BEFORE.search(text[max(0, m.start() - 30) : m.start()])
                if vote:
                    # "Vote Conservative", "a vote for the Greens": campaigning at any time.
                    start = m.start() - len(vote.group())
                    hits.append(
                        PoliticalHit(
                            "campaign", (start, m.end()), text[start : m.end()], party=alias.party
                        )
                    )
        return hits

    @staticmethod
    def _political_context(text: str, start: int, end: int) -> bool:
        """Is this ordinary word ("Labour", "Green", "Reform") used as a party name here?"""
        if _AMBIGUOUS_AFTER.match(text, end):
            return True
        before = text[max(0, start - 30) : start]
        if _AMBIGUOUS_BEFORE.search(before) or _WELSH_NOUN_BEFORE.search(before):
            return True
        # Capitalised inside a sentence on its own (not part of a Title Case name such as
        # "Green Flag Award" or "Old Town Reform Club"): the party, as English capitalises it.
        if _SENTENCE_END.search(before):
            return False
        prev_word = re.search(r"([\w'’-]+)\W*$", before)
        if prev_word and (
            (
                prev_word.group(1)[:1].isupper()
                # Welsh starts a sentence with its verb: "Mae Llafur wedi...", "Addawodd
                # Llafur..." (issue #18), capitalised for the sentence, not for a name.
                and fold(prev_word.group(1)) not in _WELSH_SENTENCE_VERBS
            )
            or prev_word.group(1).lower() in _DETERMINERS
        ):
            # "Old Town Reform Club"; "the Green" (a place) - a party after "the" comes with
            # a noun such as group or party, which the test above already caught.
            return False
        # Only a capitalised word straight after (no comma or full stop between) makes a name:
        # "Thanks to Labour, Northmoor has..." is still the party.
        next_word = re.match(r"[ \t]+([\w'’-]+)", text[end:])
        return not (next_word and next_word.group(1)[:1].isupper())

    # -- people --------------------------------------------------------------------------
    def people(
        self, text: str, words: list[Word], parties: list[PoliticalHit]
    ) -> list[PoliticalHit]:
        hits: list[PoliticalHit] = []
        i = 0
        n = len(words)
        while i < n:
            word = words[i]
            named = None if word.folded in _TITLES else self._name_at(text, words, i)
            if named and i + named[0] < n and words[i + named[0]].folded in PLACE_WORDS:
                named = None  # "Rose Hill Park": a place that shares a member's name
            if named and _FIRM_AFTER.match(text, words[i + named[0] - 1].end):
                named = None  # "K Baird & Co": a business that shares a member's name
            if named:
                length, found, how = named
                end = words[i + length - 1].end
                span = (word.start, end)
                hits.append(PoliticalHit("person", span, text[span[0] : end], found, how=how))
                i += length
                continue
            if word.folded in _TITLES:
                hit = self._titled(text, words, i)
                if hit:
                    hits.append(hit)
                    while i < n and words[i].start < hit.span[1]:
                        i += 1
                    if word.folded in COUNCILLOR_TITLES:
                        i = self._listed_after(text, words, i, hits)
                    continue
            i += 1
        if parties:
            hits.extend(self._surname_with_party(text, words, parties, hits))
        return [_civic(text, h) for h in hits]

    def _name_at(
        self, text: str, words: list[Word], i: int
    ) -> tuple[int, tuple[Person, ...], str] | None:
        """A register person named at word i: (words used, people, how). By full name (or a
        known short form); by initials and surname ("M. Okafor", "J R Smith-Jones", the first
        initial fitting the given name); or with one part misspelt one edit away, the other
        part beside it spelt right ("Margret Okafor", "Margaret Okafr": FUZZY_* lengths)."""
        register = self.register
        full = register.full_name_at(words, i)
        if full:
            return full[0], full[1], "name"
        word = words[i]
        if not word.capitalised or i + 1 >= len(words):
            return None
        initials = _initials(text, words, i)
        if initials is not None:
            j, letters = initials
            found = register.surname_at(words, j) or register.misspelt_surname_at(words, j)
            if found:
                people = tuple(p for p in found[1] if register.given_matches(p, letters[0]))
                if people:
                    return j - i + found[0], people, "initial and surname"
            return None
        if not _name_gap(text, word, words[i + 1]):
            return None
        if word.folded in register.first_words:
            found = register.misspelt_surname_at(words, i + 1)
            if found:
                people = tuple(p for p in found[1] if register.given_matches(p, word.folded))
                if people:
                    return 2, people, "name, surname misspelt"
        found = register.surname_at(words, i + 1)
        if found:
            people = tuple(p for p in found[1] if register.misspelt_given_fits(p, word.folded))
            if people:
                return 1 + found[0], people, "name, given name misspelt"
        return None

    def _listed_after(self, text: str, words: list[Word], i: int, hits: list[PoliticalHit]) -> int:
        """ "Councillors Okafor, Brennan and Hughes": register surnames listed after a title."""
        while i < len(words) and _LIST_GAP.fullmatch(text[words[i - 1].end : words[i].start]):
            j = i + 1 if words[i].folded == "and" else i
            if j >= len(words) or (j != i and not text[words[i].end : words[j].start].isspace()):
                break
            found = (
                self.register.full_name_at(words, j)
                or self.register.surname_at(words, j)
                or self.register.misspelt_surname_at(words, j)
            )
            if not found:
                break
            length, people = found
            start, end = words[j].start, words[j + length - 1].end
            hits.append(
                PoliticalHit(
                    "person", (start, end), text[start:end], people, how="listed after a title"
                )
            )
            i = j + length
        return i

    def _titled(self, text: str, words: list[Word], i: int) -> PoliticalHit | None:
        """ "Cllr Okafor", "Councillor Tom Brennan", "Mrs Okafor"."""
        j = i + 1
        title = words[i]
        # A full stop may follow an abbreviation ("Cllr. Okafor", "Mrs. Okafor") but ends the
        # sentence after a whole word ("Contact your councillor. Find yours online.").
        gap = r"\.?\s+" if title.folded in _ABBREVIATED_TITLES else r"\s+"
        if j >= len(words) or not re.fullmatch(gap, text[title.end : words[j].start]):
            return None
        named = self._name_at(text, words, j)
        if named:
            length, people, how = named
            how = "title and name" if how == "name" else f"title, {how}"
        else:
            honorific = title.folded in HONORIFICS
            found = self.register.surname_at(words, j, capitalised=honorific)
            how = "title and surname"
            if found is None:
                found = self.register.misspelt_surname_at(words, j)
                how = "title and misspelt surname"
            if honorific:
                # "Mrs Okafor" may be another Okafor: referred, not blocked.
                how = HONORIFIC_AND_SURNAME
            if found is None:
                return self._unknown_councillor(text, words, i)
            length, people = found
        end = words[j + length - 1].end
        return PoliticalHit("person", (title.start, end), text[title.start : end], people, how=how)

    @staticmethod
    def _unknown_councillor(text: str, words: list[Word], i: int) -> PoliticalHit | None:
        """ "Cllr Jo Bloggs": a councillor not on the register is still a councillor."""
        title, j = words[i], i + 1
        nxt = words[j]
        if (
            title.folded in COUNCILLOR_TITLES
            # "Councillors Approve Budget" is a headline; "Cllrs Smith and Jones" are names.
            and title.folded != "councillors"
            and title.folded not in WELSH_COUNCILLORS
            and nxt.capitalised
            and nxt.folded not in NOT_A_NAME_AFTER_COUNCILLOR
            and nxt.folded not in _TITLES
        ):
            end = nxt.end
            initials = _initials(text, words, j)
            if initials is not None:
                end = words[initials[0]].end  # "Cllr J. Bloggs"
            elif j + 1 < len(words) and words[j + 1].capitalised and text[end] == " ":
                end = words[j + 1].end
            return PoliticalHit("councillor_title", (title.start, end), text[title.start : end])
        return None

    def _surname_with_party(
        self, text: str, words: list[Word], parties: list[PoliticalHit], found: list[PoliticalHit]
    ) -> list[PoliticalHit]:
        """A register surname within a few characters of a party name ("Labour's Okafor")."""
        # Words already a name or part of a party name ("Green" in "Green Party") are skipped.
        covered = [h.span for h in found] + [p.span for p in parties]
        hits = []
        for i, word in enumerate(words):
            if any(s <= word.start < e for s, e in covered):
                continue
            sur = self.register.surname_at(words, i)
            if not sur:
                continue
            length, people = sur
            start, end = word.start, words[i + length - 1].end
            for party in parties:
                ps, pe = party.span
                if -SURNAME_PARTY_WINDOW <= start - pe <= SURNAME_PARTY_WINDOW or (
                    -SURNAME_PARTY_WINDOW <= ps - end <= SURNAME_PARTY_WINDOW
                ):
                    hits.append(
                        PoliticalHit(
                            "person",
                            (start, end),
                            text[start:end],
                            people,
                            party=party.party,
                            how="surname with party",
                        )
                    )
                    break
        return hits

    # -- phrasing ------------------------------------------------------------------------
    def phrasing(self, text: str, plain: frozenset[str] | None = None) -> list[PoliticalHit]:
        if plain is None:
            plain = plain_words(text)
        hits = [
            PoliticalHit(kind, m.span(), m.group(), party=_GATED_PARTY.get(kind, ""))
            for kind, pattern in self._gated_for(text, plain)
            for m in pattern.finditer(text)
        ]
        if self._slogans is not None and not self._slogan_starters.isdisjoint(plain):
            hits += [
                PoliticalHit("slogan", m.span(), m.group()) for m in self._slogans.finditer(text)
            ]
        if "(" in text:
            hits += [
                PoliticalHit("party_label", m.span(), m.group())
                for m in _PARTY_LABEL.finditer(text)
            ]
        if not _POLITICIAN_TITLES.isdisjoint(plain) and ("M" in text or "A" in text):
            hits += [
                PoliticalHit("politician", m.span(), m.group())
                for pattern in (_POLITICIAN_SUFFIX, _OUR_MP)
                for m in pattern.finditer(text)
            ]
        if not VOTE_WORDS.isdisjoint(plain):
            hits += self._vote_for(text)
        return hits

    def _gated_for(self, text: str, plain: frozenset[str]) -> list[tuple[str, re.Pattern[str]]]:
        """The data-file expressions whose trigger words the post contains, in file order."""
        chosen = set(self._always)
        for word in self._trigger_words.intersection(plain):
            chosen.update(self._by_trigger[word])
        return [self._gated[i] for i in sorted(chosen) if self._entries[i].wanted(text, plain)]

    def _vote_for(self, text: str) -> list[PoliticalHit]:
        """Asking for votes, once election-administration phrases ("vote by post") are masked
        and unless the vote is for an award or competition."""
        if self._nonelection is not None and self._nonelection.search(text):
            return []
        masked = self._admin.sub(lambda m: " " * len(m.group()), text) if self._admin else text
        return [PoliticalHit("vote_for", m.span(), m.group()) for m in _VOTE_FOR.finditer(masked)]

    def admin_phrases(self, text: str) -> list[tuple[int, int]]:
        """Spans of allowed election-administration phrases (for tests and explanations)."""
        return [m.span() for m in self._admin.finditer(text)] if self._admin else []

    def scan(self, text: str, plain: frozenset[str] | None = None) -> list[PoliticalHit]:
        """Everything political in ``text``. ``plain`` is the post's lower-case letter runs
        (``plain_words``), shared with the other rules so it is computed once."""
        if plain is None:
            plain = plain_words(text)
        parties = [] if self._party_starters.isdisjoint(plain) else _outermost(self.parties(text))
        hits = parties + self.phrasing(text, plain)
        # The fast path: when no word of the post starts a register name or is a title, the
        # word-by-word pass is skipped (one set intersection in C, whatever the register's
        # size). Accented text always takes the careful path, as folding strips accents.
        if (
            parties
            or not text.isascii()
            or not self._starters.isdisjoint(plain)
            or INITIAL_BEFORE_NAME.search(text)
        ):
            hits += self.people(text, words_of(text), parties)
        return hits


_INITIAL_GAP = re.compile(r"\.\s*|\s+")
# Single capitals that are words, not initials, when no full stop follows ("A Smith family").
_NOT_INITIALS = frozenset({"A", "I"})
# A cheap look for an initial before a capitalised word ("M. Okafor", "J Smith"), which
# wakes the careful name pass when no other word of the post could start a name.
INITIAL_BEFORE_NAME = re.compile(r"\b[A-Z](?:\.\s*|\s+)(?:[A-Z](?:\.\s*|\s+))*[A-Z][a-z]")


def _name_gap(text: str, left: Word, right: Word) -> bool:
    """Only spaces between two words of a name (no comma, full stop or line break)."""
    gap = text[left.end : right.start]
    return bool(gap) and gap.isspace() and "\n" not in gap


def _initials(text: str, words: list[Word], i: int) -> tuple[int, list[str]] | None:
    """Initials starting at word i ("M.", "J R", "J.R."): (index of the word after them,
    folded letters), when a capitalised word of a name follows."""
    letters: list[str] = []
    j = i
    while j + 1 < len(words) and len(words[j].text) == 1 and words[j].text.isupper():
        gap = text[words[j].end : words[j + 1].start]
        if not _INITIAL_GAP.fullmatch(gap) or "\n" in gap:
            break
        if "." not in gap and words[j].text in _NOT_INITIALS:
            break
        letters.append(words[j].folded)
        j += 1
    if not letters or not words[j].capitalised or len(words[j].text) < 2:
        return None
    return j, letters


def _party_at_sentence_start(text: str, start: int, end: int) -> bool:
    """A capitalised name that is also an ordinary word ("Plaid", "Greens") starting a
    sentence is the party only with a political word or a verb a party is the subject of after
    it, or punctuation ("Plaid will freeze...", "Plaid councillors", "Greens, Labour and..."),
    or a campaign verb before it (issue #18: "Plaid shirts are back" is the cloth)."""
    return bool(
        _AMBIGUOUS_AFTER.match(text, end)
        or _SHOUTED_AFTER.match(text, end)
        or _AMBIGUOUS_BEFORE.search(text[max(0, start - 30) : start])
    )


def _beside_political_word(text: str, start: int, end: int) -> bool:
    """A political word straight after ("Lab-run", "Con councillors", not a possessive: the
    "Lab's" results) or before ("vote LD")."""
    after = _AMBIGUOUS_AFTER.match(text, end)
    if after and not after.group().startswith(("'", "’")):
        return True
    return bool(_AMBIGUOUS_BEFORE.search(text[max(0, start - 30) : start]))


def _shouted_party(text: str, start: int, end: int, plural: bool) -> bool:
    """Is a party word written in capitals ("LABOUR", "GREENS") the party here? With a
    political word beside it; or where a party stands in a sentence: at its start or after
    "to", "by", "only"... ("the" too for "GREENS"), and before punctuation or a verb."""
    before = text[max(0, start - 30) : start]
    if _AMBIGUOUS_AFTER.match(text, end) or _AMBIGUOUS_BEFORE.search(before):
        return True
    if not _SENTENCE_END.search(before):
        prev = re.search(r"([\w'’-]+)\W*$", before)
        if prev:
            word = prev.group(1).lower()
            if word not in _SHOUTED_BEFORE and not (plural and word == "the"):
                return False
    return bool(_SHOUTED_AFTER.match(text, end))


def _civic(text: str, hit: PoliticalHit) -> PoliticalHit:
    """Mark a person named in a civic role ("The Mayor of Harbourside, Cllr Bell"): the civic
    mayor or chairman carries on civic duties in a pre-election period (LGA guidance)."""
    if hit.kind not in ("person", "councillor_title"):
        return hit
    start, end = hit.span
    if (
        _CIVIC_BEFORE.search(text, max(0, start - CIVIC_WINDOW), start)
        or _CIVIC_AFTER.match(text, end)
        or _CIVIC_TITLE.match(hit.matched)
    ):
        return dataclasses.replace(hit, how=CIVIC_ROLE)
    return hit


def _outermost(hits: list[PoliticalHit]) -> list[PoliticalHit]:
    """Drop party hits inside a longer one ("Plaid" inside "Plaid Cymru")."""
    parties = [h for h in hits if h.kind == "party"]
    return [
        h
        for h in hits
        if h.kind != "party"
        or not any(
            o is not h and o.span[0] <= h.span[0] and h.span[1] <= o.span[1] and o.span != h.span
            for o in parties
        )
    ]

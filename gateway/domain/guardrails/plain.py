"""The post as a set of lower-case letter runs, computed once per check.

Each rule first asks "could this post contain anything of mine?" with a set intersection
(C speed, independent of list and register sizes) and only then runs its careful matcher
(issue #4 "Speed": at least 5,000 checks a second).
"""

from __future__ import annotations

import re

_PLAIN_WORD = re.compile(r"[^\W\d_]+")
# Welsh "pleidleisiwch" (vote!), "pleidleisio" (to vote), soft-mutated with a "b" (issue #18).
VOTE_WORDS = frozenset(
    {"vote", "votes", "voted", "voting"}
    | {"pleidleisiwch", "bleidleisiwch", "pleidleisio", "bleidleisio"}
)


def plain_words(text: str) -> frozenset[str]:
    """Lower-case runs of letters: "Labour-run Cllr O'Neill" -> {labour, run, cllr, o, neill}."""
    return frozenset(_PLAIN_WORD.findall(text.lower()))


def first_plain_word(phrase: str) -> str:
    """The first letter run of a phrase, lower case ("Co-operative Party" -> "co")."""
    match = _PLAIN_WORD.search(phrase.lower())
    return match.group() if match else ""

"""Characters that no post, name or reason needs and that hide or change what a reader sees.

A council post is read on a phone and stored in the gateway's database: a character that the
reader cannot see, or that reorders what they do see, has no place in it (issue 19, "Injection
and escaping"):

- NUL cannot be stored at all: PostgreSQL refuses it in text ("text fields cannot contain NUL
  (0x00) bytes"), which was a 500 before this check;
- the other C0 and C1 control characters (an ANSI escape, a backspace, a form feed) are
  invisible on a page, and in a log line or a terminal they can rewrite what an operator reads;
- the bidirectional embedding, override and isolate controls reorder the text around them
  ("Trojan Source", CVE-2021-42574): "gnp.exe" shown as "exe.png", or a sentence that reads
  differently from what was approved;
- a lone UTF-16 surrogate is not a character: it cannot be encoded as UTF-8 to be stored or
  sent to a platform.

Tab, line feed and carriage return are what a text box sends, and stay. The marks that only
steer direction without reordering (U+200E LEFT-TO-RIGHT MARK, U+200F) stay too.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: What a multi-line text box legitimately sends.
ALLOWED_CONTROLS = "\t\n\r"
#: U+202A..U+202E (embeddings and overrides), U+2066..U+2069 (isolates).
BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
_HIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + BIDI_CONTROLS + "\ud800-\udfff\ufffe\uffff]"
)
#: Names for the characters unicodedata has none for (controls and surrogates).
_NAMES = {
    0x00: "NULL",
    0x1B: "ESCAPE",
    0x08: "BACKSPACE",
    0x0C: "FORM FEED",
    0x7F: "DELETE",
}


@dataclass(frozen=True)
class HiddenCharacter:
    position: int  # 0-based, in characters
    codepoint: int

    @property
    def label(self) -> str:
        """ "U+202E RIGHT-TO-LEFT OVERRIDE": what a person can search for."""
        name = _NAMES.get(self.codepoint)
        if name is None:
            if 0xD800 <= self.codepoint <= 0xDFFF:
                name = "a broken character (lone surrogate)"
            else:
                name = unicodedata.name(chr(self.codepoint), "a control character")
        return f"U+{self.codepoint:04X} {name}"


def hidden_characters(text: str) -> list[HiddenCharacter]:
    """Every hidden character in ``text``, in order."""
    return [HiddenCharacter(m.start(), ord(m.group())) for m in _HIDDEN.finditer(text)]


def first_hidden_character(text: str) -> HiddenCharacter | None:
    match = _HIDDEN.search(text)
    return HiddenCharacter(match.start(), ord(match.group())) if match else None


def shown_safely(text: str, limit: int = 60) -> str:
    """``text`` with each hidden character replaced by U+FFFD and cut to ``limit``
    characters: for quoting what someone sent back to them."""
    return _HIDDEN.sub("\ufffd", text[:limit])

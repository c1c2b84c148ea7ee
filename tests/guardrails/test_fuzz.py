"""Bad input never crashes the engine: any text gets findings or a GuardrailInputError."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.guardrails import CHANNELS, GuardrailInputError, PostToCheck, check
from tests.guardrails.helpers import IN_PERIOD, INSIDE

# Text built from the kinds of pieces the rules look at, glued by arbitrary characters.
PIECES = st.sampled_from(
    [
        "Cllr ",
        "Okafor",
        "Labour",
        "'s",
        "-run ",
        "vote for ",
        "07700 900461",
        "HB3 7QT",
        "14 Lighthouse Lane",
        "@gmail.com",
        "f**k",
        "sh1t",
        "#hashtag",
        "🌊",
        "(Lab)",
        " MP",
        "QQ 12 34 56 C",
        "943 476 5919",
        "https://example.com/x",
        "\u200d",
        "\n",
        "Zoë",
    ]
)
TEXT = st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=25).map("".join)


@settings(max_examples=150, deadline=None)
@given(text=TEXT, channel=st.sampled_from(CHANNELS))
def test_any_text_gets_findings_or_a_clear_error(text: str, channel: str) -> None:
    try:
        findings = check(PostToCheck(text), channel, IN_PERIOD, INSIDE)
    except GuardrailInputError:
        assert not text.strip()
        return
    for finding in findings:
        assert finding.reason and finding.clause
        if finding.span is not None:
            start, end = finding.span
            assert 0 <= start < end <= len(text)
            if finding.matched is not None:
                assert text[start:end] == finding.matched

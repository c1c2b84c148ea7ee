"""The register and contacts files: bad rows reported by line number, names matched."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.domain.guardrails import (
    AllowedContacts,
    Election,
    ElectionKind,
    GuardrailInputError,
    PolicyContext,
    PostToCheck,
    Register,
    check,
)
from gateway.domain.guardrails.register import words_of
from tests.guardrails.helpers import IN_PERIOD


def test_a_good_register() -> None:
    register = Register.from_csv(
        "name,party,role,ward\nZoë de Souza,Green Party,Councillor,Abbey\n\n"
        '"Mary-Jane O\'Neill",Labour Party,candidate,"Mill Lane"\n'
    )
    assert len(register) == 2
    assert register.people[0].role == "councillor"
    words = words_of("Cllr Zoe de Souza and Mary-Jane O'Neill")
    found = register.full_name_at(words, 1)
    assert found is not None and found[1][0].name == "Zoë de Souza"  # accents folded
    assert register.full_name_at(words, 5) is not None


def test_every_bad_row_is_reported_with_its_line_number() -> None:
    text = (
        "name,party,role,ward\n"
        "Margaret Okafor,Labour Party,councillor,Quayside\n"  # line 2: fine
        ",Labour Party,councillor,Quayside\n"  # line 3: no name
        "Cher,Independent,councillor,Abbey\n"  # line 4: one word
        "Tom Brennan,Conservative Party,mayor-ish,Northgate\n"  # line 5: role
        "Ann Lee,,councillor,Northgate\n"  # line 6: no party
        "Ann Lee,Green Party,councillor\n"  # line 7: three fields
        "R2 D2,Independent,councillor,Abbey\n"  # line 8: digits
        "Margaret Okafor,Labour Party,councillor,Quayside\n"  # line 9: duplicate of 2
    )
    with pytest.raises(GuardrailInputError) as caught:
        Register.from_csv(text)
    message = str(caught.value)
    for line, words in [
        (3, "name is empty"),
        (4, "given name and a surname"),
        (5, "unknown role"),
        (6, "party is empty"),
        (7, "expected 4 fields"),
        (8, "contains digits"),
        (9, "duplicate of line 2"),
    ]:
        assert f"line {line}: " in message and words in message
    assert "line 2:" not in message


@pytest.mark.parametrize("text", ["", "who,what\nA B,C,councillor,D\n"])
def test_missing_or_wrong_header(text: str) -> None:
    with pytest.raises(GuardrailInputError, match="header|empty"):
        Register.from_csv(text)


def test_contacts_file() -> None:
    contacts = AllowedContacts.from_text(
        "# comment\nemail-domain: Example.gov.uk\nphone: 01632 960 000\npostcode: hb1 1aa\n"
    )
    assert contacts.phone_numbers == frozenset({"+441632960000"})
    assert contacts.allows_email_domain("example.gov.uk")
    assert contacts.allows_email_domain("dev.example.gov.uk")
    assert not contacts.allows_email_domain("notexample.gov.uk")
    assert contacts.postcodes == frozenset({"HB11AA"})


def test_bad_contacts_lines_are_reported() -> None:
    with pytest.raises(GuardrailInputError) as caught:
        AllowedContacts.from_text(
            "phone: not a number\nfax: 01632 960000\nemail-domain: @@\nplain\n"
        )
    message = str(caught.value)
    for line in (1, 2, 3, 4):
        assert f"line {line}:" in message


class _NoIteration(tuple):
    def __iter__(self):  # type: ignore[override]
        raise AssertionError("the register was looped over while checking a post")


def test_checking_a_post_never_loops_over_the_register() -> None:
    # Issue #4: "names matched in one pass, not a loop over the register". Once the context
    # is built, the people list may not be walked again, however many posts are checked.
    rows = [f"Alex Surname{a}{b},Green Party,councillor,W" for a in "abcdefghij" for b in "xyz"]
    register = Register.from_csv("name,party,role,ward\n" + "\n".join(rows))
    election = Election(ElectionKind.LOCAL, date(2027, 5, 6), date(2027, 3, 29))
    context = PolicyContext(register, (election,))
    context.political  # noqa: B018 - build the compiled matcher now
    register.people = _NoIteration(register.people)
    post = PostToCheck("Cllr Surnamejz and Alex Surnameax opened it.")
    findings = check(post, "x", IN_PERIOD, context)
    publicity = {f.matched: f for f in findings if f.rule == "pre_election.councillor_publicity"}
    assert set(publicity) == {"Cllr Surnamejz", "Alex Surnameax"}
    assert all(f.reason.count("councillor (Green Party") == 1 for f in publicity.values())

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


def test_titles_and_post_nominals_in_the_register_are_not_part_of_the_name() -> None:
    register = Register.from_csv(
        "name,party,role,ward\nCllr Jane Smith,Labour Party,councillor,A\n"
        "Peter Hall MBE,Green Party,councillor,B\n"
    )
    assert register.full_name_at(words_of("Jane Smith spoke"), 0) is not None
    assert register.full_name_at(words_of("Peter Hall spoke"), 0) is not None
    assert register.surname_at(words_of("Hall"), 0) is not None


def test_short_and_full_given_names_both_ways() -> None:
    register = Register.from_csv(
        "name,party,role,ward\nBob Smith,Labour Party,councillor,A\n"
        "Thomas Brennan,Green Party,councillor,B\nSiân O'Neill-Price,Plaid Cymru,councillor,C\n"
    )
    for text in ("Robert Smith", "Tom Brennan", "Sian O’Neill-Price"):
        assert register.full_name_at(words_of(text), 0) is not None, text


def test_every_bad_row_is_reported_with_its_line_number() -> None:
    text = (
        "name,party,role,ward\n"
        "Margaret Okafor,Labour Party,councillor,Quayside\n"  # line 2: fine
        ",Labour Party,councillor,Quayside\n"  # line 3: no name
        "Ann Lee,Green Party,councillor\n"  # line 4: three fields
        "R2 D2,Independent,councillor,Abbey\n"  # line 5: digits
        "Margaret Okafor,Labour Party,councillor,Quayside\n"  # line 6: duplicate of 2
        "Tom Jones,Green Party,councillor,Abbey,extra\n"  # line 7: five fields
        '"Unclosed, Quote,Green Party,councillor,Abbey\n'  # line 8: runs to the end
    )
    with pytest.raises(GuardrailInputError) as caught:
        Register.from_csv(text)
    message = str(caught.value)
    for line, words in [
        (3, "name is empty"),
        (4, "expected 4 fields"),
        (5, "contains digits"),
        (6, "duplicate of line 2"),
        (7, "unquoted comma"),
    ]:
        assert f"line {line}: " in message and words in message, (line, message)
    assert "line 2:" not in message


def test_lenient_parse_keeps_the_good_rows_and_reports_the_bad() -> None:
    register, problems = Register.parse_csv(
        "\ufeffName,Party,Role,Ward,Email\n"  # a BOM, capitals and an extra column
        "Margaret Okafor,Labour Party,Leader of the Council,Quayside,m@example.gov.uk\n"
        "Ann Lee,,councillor\n"  # short: kept with an empty ward, reported
        "R2 D2,Independent,councillor,Abbey,\n"
    )
    assert [p.name for p in register.people] == ["Margaret Okafor", "Ann Lee"]
    assert register.people[0].role == "leader of the council"
    assert register.people[1].party == ""
    assert len(problems) == 2 and problems[0].startswith("line 3:")


def test_unusual_but_valid_rows_are_accepted() -> None:
    register = Register.from_csv(
        "name,party,role,ward\n"
        "Cher,Independent,councillor,Abbey\n"  # one word: matched only after a title
        "Ann Lee,,candidate,\n"  # no party, no ward
        "Raj Patel,Green Party,,Abbey\n"  # no role: a member
    )
    assert [p.role for p in register.people] == ["councillor", "candidate", "councillor"]
    assert register.people[1].is_candidate
    words = words_of("Cher sang. Cllr Cher opened it.")
    assert register.full_name_at(words, 0) is None
    assert register.surname_at(words, 3) is not None


@pytest.mark.parametrize("text", ["", "who,what\nA B,C\n"])
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
    text = "phone: not a number\nfax: 01632 960000\nemail-domain: @@\nplain\nphone: 01632 960 000\n"
    with pytest.raises(GuardrailInputError) as caught:
        AllowedContacts.from_text(text)
    message = str(caught.value)
    for line in (1, 2, 3, 4):
        assert f"line {line}:" in message
    contacts, problems = AllowedContacts.parse(text)
    assert contacts.phone_numbers == frozenset({"+441632960000"}) and len(problems) == 4


def test_contacts_accept_single_mailboxes_and_numbers_with_words() -> None:
    contacts = AllowedContacts.from_text(
        "email: press@partner.org.uk\nphone: 01632 960 000 (switchboard)\n"
    )
    assert contacts.allows_email("Press@partner.org.uk")
    assert not contacts.allows_email("someone@partner.org.uk")
    assert contacts.phone_numbers == frozenset({"+441632960000"})


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


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Vote :: \\bvote\\b", "lower-case words"),
        ("vote :: (unclosed", "bad expression"),
        ("no separator here", "triggers :: regex"),
    ],
)
def test_a_bad_data_file_line_fails_loudly(monkeypatch, line: str, message: str) -> None:
    # An admin's edit to a data file must stop the engine loading, naming the line, rather
    # than silently dropping a rule.
    from gateway.domain.guardrails import wordlists

    monkeypatch.setattr(wordlists, "data_lines", lambda name: [line])
    with pytest.raises(GuardrailInputError, match=message):
        wordlists.gated_patterns.__wrapped__(f"test-{message}.txt")

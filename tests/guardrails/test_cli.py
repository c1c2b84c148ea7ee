"""``gateway guardrails classify`` and ``check``, driven through click's CliRunner on the group
itself: no Flask app, database or Redis needed."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from gateway.cli.guardrails import guardrails
from tests.guardrails.helpers import CONTACTS, REGISTER_CSV


def _files(tmp_path: Path, posts: list[dict[str, str]]) -> list[str]:
    people = tmp_path / "people.csv"
    contacts = tmp_path / "contacts.txt"
    posts_file = tmp_path / "posts.jsonl"
    people.write_text(REGISTER_CSV)
    contacts.write_text(CONTACTS)
    posts_file.write_text("".join(json.dumps(p) + "\n" for p in posts))
    return ["--people", str(people), "--contacts", str(contacts), str(posts_file)]


def test_classify_writes_one_verdict_a_line(tmp_path: Path) -> None:
    posts = [
        {"id": "a", "text": "Bins are collected as normal on Monday."},
        {"id": "b", "text": "Cllr Okafor opened the new library."},
        {"id": "c", "text": "Call Jenny on 07700 900461."},
        {"id": "d", "text": "What a load of crap."},
    ]
    result = CliRunner().invoke(guardrails, ["classify", *_files(tmp_path, posts)])
    assert result.exit_code == 0, result.output
    verdicts = [json.loads(line) for line in result.output.splitlines()]
    assert [v["id"] for v in verdicts] == ["a", "b", "c", "d"]
    assert [(v["party_political"], v["personal_data"], v["offensive"]) for v in verdicts] == [
        (False, False, False),
        (True, False, False),
        (False, True, False),
        (False, False, True),
    ]
    assert verdicts[0]["findings"] == []
    assert verdicts[1]["findings"][0]["rule"] == "pre_election.councillor_publicity"


def test_classify_reports_bad_lines_and_carries_on(tmp_path: Path) -> None:
    args = _files(tmp_path, [{"id": "ok", "text": "Bins on Monday."}])
    posts_file = Path(args[-1])
    posts_file.write_text(
        posts_file.read_text() + "not json\n" + json.dumps({"id": "e", "text": " "}) + "\n"
    )
    result = CliRunner().invoke(guardrails, ["classify", *args])
    assert result.exit_code == 0
    verdicts = [json.loads(line) for line in result.stdout.splitlines()]
    assert [v["id"] for v in verdicts] == ["ok", "e"]
    assert "empty" in verdicts[1]["error"] and verdicts[1]["party_political"] is False
    assert "line 2:" in result.stderr and "line 3:" in result.stderr and "empty" in result.stderr
    assert CliRunner().invoke(guardrails, ["classify", "--strict", *args]).exit_code == 1


def test_classify_warns_about_bad_register_rows_and_carries_on(tmp_path: Path) -> None:
    args = _files(tmp_path, [{"id": "a", "text": "Cllr Okafor opened it."}])
    Path(args[1]).write_text(
        "name,party,role,ward\nR2 D2,Independent,councillor,Abbey\n"
        "Margaret Okafor,Labour Party,councillor,Quayside\n"
    )
    result = CliRunner().invoke(guardrails, ["classify", *args])
    assert result.exit_code == 0
    assert "warning:" in result.stderr and "line 2:" in result.stderr
    assert json.loads(result.stdout)["party_political"] is True
    strict = CliRunner().invoke(guardrails, ["classify", "--strict", *args])
    assert strict.exit_code != 0 and "line 2:" in strict.output


def test_check_prints_findings_and_exits_1_when_blocked() -> None:
    result = CliRunner().invoke(
        guardrails,
        ["check", "Vote Conservative on 6 May!", "--channel", "x", "--at", "2027-04-20 10:00"],
    )
    assert result.exit_code == 1
    assert "BLOCK" in result.output and "party_political.campaign" in result.output


def test_check_with_an_election_and_register(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text(REGISTER_CSV)
    args = ["check", "Cllr Okafor opened the library.", "--channel", "facebook"]
    args += ["--at", "2027-04-20 10:00", "--people", str(people)]
    assert CliRunner().invoke(guardrails, args).exit_code == 0
    result = CliRunner().invoke(guardrails, [*args, "--election", "local:2027-05-06", "--json"])
    assert result.exit_code == 1
    finding = json.loads(result.output.splitlines()[0])
    assert finding["rule"] == "pre_election.councillor_publicity"
    assert "assumed" in finding["reason"]


def test_check_clean_post() -> None:
    result = CliRunner().invoke(
        guardrails, ["check", "Bins on Monday.", "--channel", "x", "--at", "2027-04-20 10:00"]
    )
    assert result.exit_code == 0
    assert "No findings" in result.output


def test_check_refuses_bad_times_and_channels() -> None:
    runner = CliRunner()
    gap = runner.invoke(guardrails, ["check", "Hi", "--channel", "x", "--at", "2027-03-28 01:30"])
    assert gap.exit_code != 0 and "does not exist" in gap.output
    fold = runner.invoke(guardrails, ["check", "Hi", "--channel", "x", "--at", "2027-10-31 01:30"])
    assert fold.exit_code != 0 and "twice" in fold.output
    garbled = runner.invoke(guardrails, ["check", "Hi", "--channel", "x", "--at", "next week"])
    assert garbled.exit_code != 0 and "YYYY-MM-DD HH:MM" in garbled.output
    channel = runner.invoke(guardrails, ["check", "Hi", "--channel", "myspace"])
    assert channel.exit_code != 0 and "myspace" in channel.output
    empty = runner.invoke(guardrails, ["check", "  ", "--channel", "x", "--at", "2027-04-20 10:00"])
    assert empty.exit_code != 0 and "empty" in empty.output

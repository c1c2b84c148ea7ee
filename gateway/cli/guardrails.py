"""``gateway guardrails ...``: the guardrail engine from the command line (issue #4).

Needs neither the Flask app, a database nor Redis: registers and contacts come from files.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

import click

from gateway.domain.guardrails import (
    CHANNELS,
    AllowedContacts,
    Election,
    ElectionKind,
    GuardrailInputError,
    PolicyContext,
    PostToCheck,
    Register,
    blocks,
    check,
    labels,
    local_to_utc,
)
from gateway.domain.guardrails.clock import LONDON

# ``classify`` answers "would this be blocked or referred inside a pre-election period?", so it
# checks every post inside a general-election period, at a time the accounts are open. The
# election is polled this many days after the instant checked, its notice published before.
CLASSIFY_POLL_AFTER_DAYS = 14
CLASSIFY_NOTICE_BEFORE_DAYS = 14
CLASSIFY_CHANNEL = "facebook"  # the most permissive limits: labels are about content, not size
CLASSIFY_DEFAULT_AT = "2027-04-20 10:00"  # a Tuesday in office hours, no bank holiday
TIME_FORMAT = "%Y-%m-%d %H:%M"


def _fail(message: str) -> None:
    raise click.ClickException(message)


def _read(path: str | None) -> str:
    if path is None:
        return ""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror}")
    except UnicodeDecodeError:
        _fail(f"{path} is not UTF-8 text")
    return ""


def _context(
    people: str | None, contacts: str | None, nation: str, elections=(), strict: bool = False
) -> PolicyContext:
    """Build the context from files. Bad register rows and contacts lines are reported on
    stderr with their line numbers; with ``strict`` they stop the command, otherwise the good
    rows are used (a bulk run should not lose every verdict to one bad row)."""
    try:
        register, bad_rows = Register.parse_csv(_read(people)) if people else (Register(), [])
        allowed, bad_lines = (
            AllowedContacts.parse(_read(contacts)) if contacts else (AllowedContacts(), [])
        )
        problems = [f"{people}: {p}" for p in bad_rows] + [f"{contacts}: {p}" for p in bad_lines]
        if problems and strict:
            _fail("\n".join(problems))
        for problem in problems:
            click.echo(f"warning: {problem}", err=True)
        return PolicyContext(register, tuple(elections), allowed, holiday_nation=nation)
    except GuardrailInputError as exc:
        _fail(str(exc))
    raise AssertionError("unreachable")


def _parse_local(value: str) -> datetime:
    """A Europe/London wall-clock time "YYYY-MM-DD HH:MM" as aware UTC."""
    try:
        naive = datetime.strptime(value.strip(), TIME_FORMAT)
    except ValueError:
        _fail(f"--at {value!r}: use the form YYYY-MM-DD HH:MM (Europe/London time)")
    try:
        return local_to_utc(naive.date(), naive.time())
    except GuardrailInputError as exc:
        _fail(str(exc))
    raise AssertionError("unreachable")


def _parse_election(value: str) -> Election:
    """KIND:POLLING_DAY[:NOTICE_DATE][:WARD,WARD] e.g. ``local:2027-05-06:2027-03-29``."""
    parts = value.split(":")
    try:
        kind = ElectionKind(parts[0])
        polling = date.fromisoformat(parts[1])
        notice = date.fromisoformat(parts[2]) if len(parts) > 2 and parts[2] else None
        wards = frozenset(w.strip() for w in parts[3].split(",")) if len(parts) > 3 else frozenset()
        return Election(kind, polling, notice, wards)
    except (ValueError, IndexError) as exc:
        kinds = ", ".join(k.value for k in ElectionKind)
        _fail(f"--election {value!r}: use KIND:YYYY-MM-DD[:NOTICE-DATE][:WARDS] ({kinds}); {exc}")
    raise AssertionError("unreachable")


def _classify_context(context: PolicyContext, at: datetime) -> PolicyContext:
    """The context with one general-election period around ``at`` and no other election:
    a general election applies council-wide and to everyone on the register."""
    day = at.astimezone(LONDON).date()
    election = Election(
        ElectionKind.GENERAL,
        polling_day=day + timedelta(days=CLASSIFY_POLL_AFTER_DAYS),
        notice_date=day - timedelta(days=CLASSIFY_NOTICE_BEFORE_DAYS),
        name="the general election classify assumes",
    )
    return dataclasses.replace(context, elections=(election,))


@click.group("guardrails", help="Check posts against the council's social media policy.")
def guardrails() -> None:
    pass


_people = click.option(
    "--people", type=click.Path(dir_okay=False), help="Register CSV: name,party,role,ward."
)
_contacts = click.option(
    "--contacts", type=click.Path(dir_okay=False), help="Allowed departmental contacts."
)
_strict = click.option(
    "--strict", is_flag=True, help="Stop on a bad register row or contacts line (default: warn)."
)
_nation = click.option(
    "--nation",
    type=click.Choice(["ENG", "SCT", "NIR"]),
    default="ENG",
    show_default=True,
    help="Whose bank holidays (ENG covers England and Wales).",
)


@guardrails.command("check")
@click.argument("text")
@click.option("--channel", type=click.Choice(CHANNELS), required=True)
@click.option("--at", "at_text", help="Europe/London time YYYY-MM-DD HH:MM (default: now).")
@_people
@_contacts
@_nation
@click.option(
    "--election",
    "elections",
    multiple=True,
    help="KIND:POLLING-DAY[:NOTICE-DATE][:WARD,WARD], repeatable.",
)
@click.option("--emergency", help="Emergency category, for a post outside office hours.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a finding.")
@_strict
def check_command(
    text, channel, at_text, people, contacts, nation, elections, emergency, as_json, strict
):
    """Print the findings for TEXT; exit 1 when any finding blocks it."""
    at = _parse_local(at_text) if at_text else datetime.now(UTC)
    context = _context(
        people, contacts, nation, [_parse_election(e) for e in elections], strict=strict
    )
    try:
        findings = check(PostToCheck(text, emergency_category=emergency), channel, at, context)
    except GuardrailInputError as exc:
        _fail(str(exc))
    if as_json:
        for f in findings:
            click.echo(json.dumps(f.as_dict(), ensure_ascii=False))
    elif not findings:
        click.echo(
            f"No findings: this may go out on {channel} at {at.astimezone(LONDON):%Y-%m-%d %H:%M}."
        )
    else:
        for f in findings:
            where = f" [{f.span[0]}-{f.span[1]}: {f.matched!r}]" if f.span else ""
            click.echo(f"{f.outcome.value.upper():6} {f.rule}{where}\n       {f.reason}")
    if blocks(findings):
        sys.exit(1)


@guardrails.command("classify")
@click.argument("posts", type=click.File("r", encoding="utf-8"))
@_people
@_contacts
@_nation
@click.option(
    "--at",
    "at_text",
    default=CLASSIFY_DEFAULT_AT,
    show_default=True,
    help="Europe/London time to check at (inside the assumed election period).",
)
@_strict
def classify_command(posts: TextIO, people, contacts, nation, at_text, strict):
    """Read JSON lines {"id", "text"}; write {"id", "party_political", "personal_data",
    "offensive", "findings"} a line. party_political means "would be blocked or referred
    inside a pre-election period"."""
    at = _parse_local(at_text)
    context = _classify_context(_context(people, contacts, nation, strict=strict), at)
    bad = 0
    for number, line in enumerate(posts, start=1):
        if not line.strip():
            continue
        record: object = None
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or "text" not in record:
                raise GuardrailInputError('expected an object with "id" and "text"')
            findings = check(PostToCheck(str(record["text"])), CLASSIFY_CHANNEL, at, context)
        except (json.JSONDecodeError, GuardrailInputError) as exc:
            click.echo(f"line {number}: {exc}", err=True)
            bad += 1
            if isinstance(record, dict) and "id" in record:
                # Still one verdict a post, so a scorer sees the post (an empty post has
                # nothing to block), with the error alongside.
                out = {"id": record["id"], **labels([]), "findings": [], "error": str(exc)}
                click.echo(json.dumps(out, ensure_ascii=False))
            continue
        out = {
            "id": record.get("id"),
            **labels(findings),
            "findings": [f.as_dict() for f in findings],
        }
        click.echo(json.dumps(out, ensure_ascii=False))
    if bad:
        click.echo(f"{bad} line(s) could not be classified", err=True)
        if strict:
            sys.exit(1)

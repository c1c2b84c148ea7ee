"""``gateway audit ...``: the publish log's key, checkpoints, exports and the in-app check."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from flask.cli import with_appcontext

#: Most findings an auditor reads at once; the first is the one that matters.
MAX_PROBLEMS_SHOWN = 20


@click.group("audit", help="The tamper-evident publish log.")
def audit() -> None:
    pass


@audit.command("keygen")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to create (mode 0600); an existing file is never replaced.",
)
@click.option("--origin", default=None, help="Print the verifier key for this origin too.")
def keygen_command(out: Path, origin: str | None) -> None:
    """Make a new Ed25519 signing key for the publish log (no database needed)."""
    from gateway.transparency.checkpoint import SigningKeyError, generate_signing_key, verifier_for

    try:
        key = generate_signing_key(out)
    except SigningKeyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Wrote a new signing key to {out} (readable by its owner only).")
    click.echo("Set GATEWAY_LOG_SIGNING_KEY to this path. Never put the key in the database.")
    if origin:
        click.echo(f"Verifier key: {verifier_for(key, origin).key_string()}")


@audit.command("checkpoint")
@with_appcontext
def checkpoint_command() -> None:
    """Sign a checkpoint of the log now, store it and print it (a C2SP signed note)."""
    from gateway.audit.checkpoints import CheckpointSigningError, publish_checkpoint, sign_now
    from gateway.extensions import db

    try:
        signed = sign_now()
        db.session.commit()
    except CheckpointSigningError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    if signed.new:
        publish_checkpoint(signed)
    click.echo(signed.note.decode("utf-8"), nl=False)


def _filter_options(command):  # noqa: ANN001, ANN202
    options = [
        click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), help="First day."),
        click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), help="Last day."),
        click.option("--channel", type=int, help="Channel id."),
        click.option("--officer", type=int, help="User id of whoever acted."),
        click.option("--action", help="Action, e.g. post.approved."),
        click.option("--outcome", help="Delivery outcome, e.g. published."),
        click.option("--rule", help="Guardrail rule named in a verdict."),
        click.option("--post", "post_id", type=int, help="Post id."),
        click.option("--emergency/--no-emergency", default=None, help="Emergency posts or not."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _day(value) -> date | None:  # noqa: ANN001
    return value.date() if value is not None else None


@audit.command("export")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="An empty (or new) folder.",
)
@_filter_options
@with_appcontext
def export_command(out: Path, date_from, date_to, **filters) -> None:  # noqa: ANN001
    """Sign a checkpoint now and export the log against it: the whole log, or with filters the
    matching entries with their inclusion proofs and a CSV."""
    from gateway.audit.checkpoints import CheckpointSigningError, publish_checkpoint, sign_now
    from gateway.audit.exports import export_filtered, export_whole
    from gateway.audit.query import AuditFilter
    from gateway.extensions import db
    from gateway.transparency.export import ExportError

    f = AuditFilter(
        date_from=_day(date_from),
        date_to=_day(date_to),
        channel_id=filters["channel"],
        officer_id=filters["officer"],
        action=filters["action"],
        outcome=filters["outcome"],
        rule=filters["rule"],
        emergency=filters["emergency"],
        post_id=filters["post_id"],
    )
    try:
        signed = sign_now()
        db.session.commit()
        if signed.new:
            publish_checkpoint(signed)
        if f.is_empty():
            summary = export_whole(out, signed.row)
        else:
            summary = export_filtered(out, f, signed.row)
    except (CheckpointSigningError, ExportError) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    kind = "whole log" if f.is_empty() else "filtered"
    click.echo(
        f"Wrote a {kind} export to {out}: {summary.entries} entries, {summary.contents} post "
        f"contents, against checkpoint size {summary.checkpoint.size}."
    )
    if summary.missing_contents:
        click.echo(
            f"Warning: {len(summary.missing_contents)} post contents are missing from the "
            "database; the export will not verify.",
            err=True,
        )
    click.echo(f"Check it with: gateway-verify {out}")


@audit.command("verify")
@click.option(
    "--previous",
    "previous",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A checkpoint kept elsewhere (emailed, saved): the log must extend it.",
)
@with_appcontext
def verify_command(previous: tuple[Path, ...]) -> None:
    """Check the database: every hash and link, every stored checkpoint's signature, and that
    the log hashes to its latest checkpoint and extends every older one. Exit 1 on a problem."""
    from gateway.audit.check import check_database
    from gateway.audit.checkpoints import log_verifier
    from gateway.transparency.checkpoint import CheckpointError, open_checkpoint

    verifier = log_verifier()
    kept = []
    for path in previous:
        try:
            kept.append(open_checkpoint(path.read_bytes().replace(b"\r\n", b"\n"), verifier))
        except CheckpointError as exc:
            click.echo(f"The publish log does NOT verify: {path}: {exc}", err=True)
            raise SystemExit(1) from None
    result = check_database(kept)
    if not result.ok:
        click.echo(f"The publish log does NOT verify: {result.problems[0]}", err=True)
        for problem in result.problems[1:MAX_PROBLEMS_SHOWN]:
            click.echo(f"  also: {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"The publish log verifies: {result.size} entries, every hash and link holds.")
    if result.checkpoint is None:
        click.echo("No checkpoint has been signed yet: run `gateway audit checkpoint`.")
    else:
        click.echo(
            f"It extends all {result.checkpoints} stored checkpoints; the latest covers "
            f"{result.checkpoint.size} entries."
        )
    if kept:
        click.echo(f"It extends the {len(kept)} checkpoint(s) given with --previous.")
    flags = result.report.flags if result.report is not None else []
    for flag in flags[:MAX_PROBLEMS_SHOWN]:
        click.echo(f"For review: {flag}")
    if len(flags) > MAX_PROBLEMS_SHOWN:
        click.echo(f"For review: ... and {len(flags) - MAX_PROBLEMS_SHOWN} more")

"""``gateway audit ...``: checks of the publish log in the database."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("audit", help="The tamper-evident publish log.")
def audit() -> None:
    pass


@audit.command("verify")
@with_appcontext
def verify_command() -> None:
    """Check every entry's hash and its link to the one before. Exit 1 on the first problem."""
    from sqlalchemy import func, select

    from gateway.audit import verify_chain
    from gateway.extensions import db
    from gateway.models import AuditEntry

    problem = verify_chain()
    if problem is not None:
        click.echo(f"The publish log does NOT verify: {problem}", err=True)
        raise SystemExit(1)
    count = db.session.scalar(select(func.count()).select_from(AuditEntry))
    click.echo(f"The publish log verifies: {count} entries, every hash and link holds.")

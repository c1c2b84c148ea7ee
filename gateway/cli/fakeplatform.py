"""``gateway fakeplatform``: serve the local fake X / Facebook / Instagram for training and demos.

Needs nothing from the gateway's app (no database, no Redis), so it starts on its own.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import click

from fakeplatform.app import create_app
from fakeplatform.demo import DEMO_ACCOUNTS, register_demo_apps
from fakeplatform.server import DEFAULT_HOST, DEFAULT_PORT, serve_forever
from fakeplatform.state import Account, FakeState, account_from_json


def load_accounts(path: Path) -> list[Account]:
    """Accounts from a JSON list of objects shaped like POST /_fake/accounts bodies."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="--accounts") from None
    return accounts_from(entries)


def accounts_from(entries: Any) -> list[Account]:
    """Validate registration entries (POST /_fake/accounts shape) into Accounts."""
    if not isinstance(entries, list):
        raise click.BadParameter("must be a JSON list of accounts", param_hint="--accounts")
    accounts = []
    for i, entry in enumerate(entries):
        try:
            accounts.append(account_from_json(entry))
        except ValueError as exc:
            raise click.BadParameter(f"entry {i}: {exc}", param_hint="--accounts") from None
    return accounts


@click.command("fakeplatform")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="Port to use.")
@click.option(
    "--accounts",
    "accounts_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON list of accounts to accept (same shape as POST /_fake/accounts).",
)
@click.option("--demo", is_flag=True, help="Also accept the demo accounts (fakeplatform.demo).")
@click.option(
    "--gateway-url",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="With --demo: the gateway's GATEWAY_PUBLIC_URL, where the demo X and Facebook apps "
    "send the browser back after signing in.",
)
def fakeplatform(
    host: str, port: int, accounts_file: Path | None, demo: bool, gateway_url: str
) -> None:
    """Serve a fake X, Facebook and Instagram that record what they are sent.

    Posts it accepted are listed at /_fake/posts; faults are injected with POST /_fake/faults.
    """
    state = FakeState()
    accounts = load_accounts(accounts_file) if accounts_file else []
    if demo:
        accounts += accounts_from(list(DEMO_ACCOUNTS))
    for account in accounts:
        state.add_account(account)
    if demo:
        register_demo_apps(state, gateway_url)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    click.echo(f"Fake platform on http://{host}:{port} (posts: http://{host}:{port}/_fake/posts)")
    serve_forever(host, port, create_app(state))

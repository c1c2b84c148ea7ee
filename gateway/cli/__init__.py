"""The ``gateway`` console script: a Flask CLI group over ``create_app``."""

from __future__ import annotations

import importlib
import sys

import click
from flask.cli import FlaskGroup

from gateway.cli.run import scheduler_command, up_command, web_command, worker_command
from gateway.cli.users import keys_command, users_command
from gateway.settings import SettingsError


def _create_app():
    from gateway.app import create_app

    try:
        return create_app()
    except SettingsError as exc:
        # One clear line naming the setting, not a traceback (issue 3, "Bad input").
        click.echo(f"gateway: {exc}", err=True)
        sys.exit(2)


#: Commands imported only when called (click's "lazy group" pattern): `gateway guardrails` and
#: `gateway fakeplatform` need neither the app nor each other's libraries, so `gateway --help`
#: and every other command start without loading them.
LAZY_COMMANDS = {
    "guardrails": "gateway.cli.guardrails:guardrails",
    "fakeplatform": "gateway.cli.fakeplatform:fakeplatform",
    "audit": "gateway.cli.audit:audit",
}


class GatewayGroup(FlaskGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY_COMMANDS:
            module_name, attr = LAZY_COMMANDS[name].split(":")
            return getattr(importlib.import_module(module_name), attr)
        return super().get_command(ctx, name)


main = GatewayGroup(
    name="gateway",
    help="The Council Publishing Gateway.",
    create_app=_create_app,
    add_version_option=False,
    # Flask's --env-file/.env loading would let a stray file change secrets silently.
    load_dotenv=False,
    set_debug_flag=False,
)
main.add_command(up_command)
main.add_command(web_command)
main.add_command(worker_command)
main.add_command(scheduler_command)
main.add_command(users_command)
main.add_command(keys_command)

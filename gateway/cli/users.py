"""``gateway users create``, ``gateway users sign-in-digest`` and ``gateway keys new``."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from gateway.settings import new_encryption_key


@click.group("users", help="Manage the people who use the gateway.")
def users_command() -> None:
    pass


@users_command.command("create")
@click.option("--email", required=True, help="Their work email address.")
@click.option("--role", "roles", multiple=True, required=True, help="A role; repeat for several.")
@click.option("--name", default="", help="Their name as shown to others.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input instead."
)
@with_appcontext
def create_user_command(
    email: str, roles: tuple[str, ...], name: str, password_stdin: bool
) -> None:
    """Create a user. Prints a strong generated password once, unless --password-stdin."""
    from gateway import users
    from gateway.audit import Actor
    from gateway.extensions import db

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else users.generate_password()
    try:
        user = users.create_user(email, roles, password, actor=Actor.system(), display_name=name)
        db.session.commit()
    except users.UserError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {user.email} with roles {', '.join(sorted(r.value for r in user.roles))}.")
    if not password_stdin:
        click.echo(f"Password (shown once, store it safely): {password}")


@users_command.command("sign-in-digest")
@click.argument("email")
@with_appcontext
def sign_in_digest_command(email: str) -> None:
    """Print the value a failed sign-in typing EMAIL logs as ``email_hmac`` (keyed by this
    installation's SECRET_KEY), to find an address's failed sign-ins in the publish log."""
    from flask import current_app

    from gateway.auth.identifiers import typed_identifier_digest

    click.echo(typed_identifier_digest(email, current_app.config["SECRET_KEY"]))


@click.group("keys", help="Encryption keys for platform credentials.")
def keys_command() -> None:
    pass


@keys_command.command("new")
def new_key_command() -> None:
    """Print a new key for GATEWAY_ENCRYPTION_KEYS (put it first to rotate)."""
    click.echo(new_encryption_key())


@keys_command.command("rotate")
@with_appcontext
def rotate_keys_command() -> None:
    """Re-encrypt every channel's credentials, two-factor secret, platform app secret and
    webhook signing secret with the first key in GATEWAY_ENCRYPTION_KEYS."""
    from gateway.credentials import rotate_all
    from gateway.extensions import db
    from gateway.oauth.apps import rotate_secrets
    from gateway.webhooks.signing import reencrypt_all

    channels, secrets = rotate_all()
    platform_apps = rotate_secrets()
    webhooks = reencrypt_all()
    db.session.commit()
    click.echo(
        f"Re-encrypted {channels} channel(s), {secrets} two-factor secret(s), "
        f"{platform_apps} platform app secret(s) and {webhooks} webhook signing secret(s) "
        "with the newest key."
    )

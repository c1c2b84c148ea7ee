"""Connect with X (issue 15): the admin signs in at X and the channel gets its tokens.

A new channel is made only once X has said which account the tokens are for; reconnecting
keeps the channel, its history and its waiting posts, replaces only what the new grant
returned (never a stored refresh token with an empty one) and refuses a grant for another
account than the channel's. Every connection and refusal of a wrong account is a publish-log
entry naming who, which account and which scopes; never a token.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.admin.channels import _channel_or_404
from gateway.admin.forms import ConfirmForm, ConnectXForm, channel_language
from gateway.admin.views import _status, bp
from gateway.audit import Actor, record
from gateway.credentials import CredentialsError, decrypt_credentials, encrypt_credentials
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import Channel
from gateway.models.base import utcnow
from gateway.oauth import x as x_oauth
from gateway.oauth.health import release_after_reconnect
from gateway.security import content_security_policy, requires


def x_form_targets(
    base_url: str | None = None, hosts: tuple[str, ...] = x_oauth.AUTHORIZE_HOSTS
) -> tuple[str, ...]:
    """Where a "Connect with X" (or Facebook) form's POST may lead: the platform's consent
    page, and a training channel's fake platform (its own base URL, or any port of a host the
    installation allows platforms on: GATEWAY_PLATFORM_ALLOWED_HOSTS)."""
    targets = list(hosts)
    if base_url:
        parts = urlsplit(base_url)
        targets.append(f"{parts.scheme}://{parts.netloc}")
    for host in current_app.config.get("PLATFORM_ALLOWED_HOSTS", ()):
        if not all(c.isalnum() or c in ".-:[]" for c in host):
            continue  # a host name (and port) only, never a piece of policy
        has_port = host.rsplit(":", 1)[-1].isdigit() and not host.endswith("]")
        ports = ("",) if has_port else ("", ":*")
        targets += [f"{scheme}://{host}{port}" for scheme in ("http", "https") for port in ports]
    return tuple(targets)


def with_form_targets(response, base_url: str | None = None, hosts=None):  # noqa: ANN001, ANN201
    response = make_response(response)
    response.headers["Content-Security-Policy"] = content_security_policy(
        x_form_targets(base_url, hosts or x_oauth.AUTHORIZE_HOSTS)
    )
    return response


def _refused(message: str, status: int = 400):
    return render_template("admin/connect_failed.html", message=message), status


@bp.route("/channels/connect/x", methods=["GET", "POST"])
@requires(Role.ADMIN)
def connect_x():
    form = ConnectXForm()
    configured = x_oauth.is_configured()
    if configured and form.validate_on_submit():
        pending = x_oauth.Pending(
            user_id=current_user.id,
            session_id=current_user.session_id or "",
            code_verifier="",
            channel_id=None,
            display_name=(form.display_name.data or "").strip(),
            base_url=(form.base_url.data or "").strip() or None,
            language=channel_language(form.language.data),
        )
        return redirect(x_oauth.begin(pending))
    page = render_template(
        "admin/connect_x.html",
        form=form,
        configured=configured,
        redirect_uri=x_oauth.redirect_uri(),
        scopes=x_oauth.SCOPES,
        not_configured=x_oauth.NOT_CONFIGURED,
    )
    return with_form_targets((page, _status(form)))


@bp.post("/channels/<int:channel_id>/connect/x")
@requires(Role.ADMIN)
def reconnect_x(channel_id: int):
    channel = _channel_or_404(channel_id)
    if not ConfirmForm().validate_on_submit() or channel.platform != "x":
        abort(400)
    if not x_oauth.is_configured():
        return _refused(x_oauth.NOT_CONFIGURED)
    pending = x_oauth.Pending(
        user_id=current_user.id,
        session_id=current_user.session_id or "",
        code_verifier="",
        channel_id=channel.id,
        display_name=channel.display_name,
        base_url=channel.base_url,
        language=channel.language,
    )
    return redirect(x_oauth.begin(pending))


@bp.get("/channels/connect/x/callback")
@requires(Role.ADMIN)
def connect_x_callback():
    args = {k: v for k, v in request.args.items() if k in ("state", "code", "error")}
    try:
        pending = x_oauth.take_pending(
            args.get("state", ""), current_user.id, current_user.session_id
        )
        channel = None
        if pending.channel_id is not None:
            channel = _channel_or_404(pending.channel_id)
        grant = x_oauth.finish(pending, args)
    except x_oauth.ConnectRefused as exc:
        return _refused(str(exc))
    if channel is None:
        return _store_new(pending, grant)
    return _store_reconnect(channel, grant)


def _grant_payload(channel: Channel, grant: x_oauth.Grant, method: str = "oauth2") -> dict:
    return {
        "platform": "x",
        "external_account_id": grant.account_id,
        "username": grant.username,
        "scopes": grant.scopes,
        "expires_at": grant.expires_at.isoformat(),
        "method": method,
        "base_url": channel.base_url,
    }


def _apply(channel: Channel, grant: x_oauth.Grant, previous: dict[str, str] | None) -> None:
    channel.credentials_encrypted = encrypt_credentials(channel.id, grant.credentials(previous))
    channel.auth_method = "oauth2"
    channel.token_expires_at = grant.expires_at
    channel.token_scopes = grant.scopes
    channel.granted_by_id = current_user.id
    channel.granted_at = utcnow()
    channel.token_version = (channel.token_version or 0) + 1
    channel.needs_reauthorisation = False
    channel.health_checked_at = utcnow()  # X has just said whose the token is
    release_after_reconnect(channel)


def _store_new(pending: x_oauth.Pending, grant: x_oauth.Grant):
    existing = db.session.scalar(
        select(Channel).where(
            Channel.platform == "x", Channel.external_account_id == grant.account_id
        )
    )
    if existing is not None:
        x_oauth.revoke_quietly(grant, pending.base_url)
        return _refused(
            f"@{grant.username} is already the channel “{existing.display_name}”. Nothing was "
            "changed: reconnect that channel from its page instead."
        )
    channel = Channel(
        platform="x",
        display_name=pending.display_name or f"@{grant.username} on X",
        external_account_id=grant.account_id,
        base_url=pending.base_url,
        enabled=True,
        language=pending.language,
    )
    db.session.add(channel)
    try:
        db.session.flush()  # the id the ciphertext is bound to
    except IntegrityError:
        db.session.rollback()
        return _refused("A channel for this X account was added meanwhile. Nothing was changed.")
    _apply(channel, grant, None)
    record(
        "channel.connected",
        actor=Actor.of(current_user),
        obj=("channel", channel.id),
        payload={**_grant_payload(channel, grant), "display_name": channel.display_name},
    )
    db.session.commit()
    flash(f"Connected: {channel.display_name} publishes as @{grant.username}.")
    return redirect(url_for("admin.channel_show", channel_id=channel.id))


def _store_reconnect(channel: Channel, grant: x_oauth.Grant):
    if grant.account_id != channel.external_account_id:
        x_oauth.revoke_quietly(grant, channel.base_url)
        record(
            "channel.reconnect_refused",
            actor=Actor.of(current_user),
            obj=("channel", channel.id),
            payload={
                "platform": "x",
                "external_account_id": channel.external_account_id,
                "granted_account_id": grant.account_id,
                "granted_username": grant.username,
                "reason": "another account",
            },
        )
        db.session.commit()
        return _refused(
            f"You signed in to X as @{grant.username}, which is not this channel's account "
            f"(id {channel.external_account_id}). Nothing was changed: sign out of X, sign in "
            "as the channel's account and reconnect again."
        )
    previous = None
    if channel.credentials_encrypted and channel.auth_method == "oauth2":
        try:
            previous = decrypt_credentials(channel.id, channel.credentials_encrypted)
        except CredentialsError:
            previous = None
    _apply(channel, grant, previous)
    record(
        "channel.reconnected",
        actor=Actor.of(current_user),
        obj=("channel", channel.id),
        payload=_grant_payload(channel, grant),
    )
    db.session.commit()
    flash(f"Reconnected: {channel.display_name} publishes as @{grant.username} again.")
    return redirect(url_for("admin.channel_show", channel_id=channel.id))


@bp.post("/channels/<int:channel_id>/disconnect/x")
@requires(Role.ADMIN)
def disconnect_x(channel_id: int):
    """Give the tokens back to X and forget them; the channel waits to be reconnected."""
    channel = _channel_or_404(channel_id)
    if not ConfirmForm().validate_on_submit() or channel.auth_method != "oauth2":
        abort(400)
    if channel.credentials_encrypted:
        try:
            stored = decrypt_credentials(channel.id, channel.credentials_encrypted)
        except CredentialsError:
            stored = {}
        if stored.get("access_token") and x_oauth.is_configured():
            x_oauth.revoke_tokens(stored, channel.base_url)
    channel.credentials_encrypted = None
    channel.token_expires_at = None
    channel.token_version = (channel.token_version or 0) + 1
    channel.needs_reauthorisation = True
    record(
        "channel.disconnected",
        actor=Actor.of(current_user),
        obj=("channel", channel.id),
        payload={
            "platform": "x",
            "external_account_id": channel.external_account_id,
            "scopes": channel.token_scopes,
        },
    )
    db.session.commit()
    flash(
        f"{channel.display_name} is disconnected from X: nothing is published to it until it "
        "is reconnected."
    )
    return redirect(url_for("admin.channel_show", channel_id=channel.id))

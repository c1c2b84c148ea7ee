"""Channels: add, test the connection, reconnect (new credentials), disable and enable.

Credentials are encrypted with AES-GCM bound to the channel's id (gateway.credentials) before
they reach the row, are never shown again, and never appear in an audit entry or a log line:
the audit payload names which credential fields changed, not their values.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.admin.forms import (
    ChannelForm,
    ChannelLanguageForm,
    ConfirmForm,
    ReconnectForm,
    channel_language,
)
from gateway.admin.views import _status, bp
from gateway.audit import Actor, record
from gateway.credentials import CredentialsError, decrypt_credentials, encrypt_credentials
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import Channel, User
from gateway.platforms import FacebookPublisher, InstagramPublisher, XPublisher, adapter_for
from gateway.platforms.base import ChannelConfig
from gateway.platforms.errors import PublishError
from gateway.security import requires

#: The credentials each platform's adapter needs (the Graph API takes a Page or Instagram
#: access token).
NEEDED = {
    publisher.platform: publisher.required_credentials
    for publisher in (XPublisher, FacebookPublisher, InstagramPublisher)
}
#: The longest platform reason shown on "Test connection": a real platform's is one sentence.
MAX_SHOWN_REASON = 300
CREDENTIAL_FIELDS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")


def _channel_or_404(channel_id: int) -> Channel:
    channel = db.session.get(Channel, channel_id)
    if channel is None:
        abort(404)
    return channel


def _credentials(form, platform: str) -> dict[str, str] | None:  # noqa: ANN001
    """The credentials typed for ``platform``, each missing one marked on its field."""
    values = {}
    for name in NEEDED[platform]:
        value = (getattr(form, name).data or "").strip()
        if not value:
            label = getattr(form, name).label.text.split(" (")[0]
            getattr(form, name).errors.append(f"Enter the {label.lower()}")
        values[name] = value
    return None if any(not v for v in values.values()) else values


def _payload(channel: Channel) -> dict:
    return {
        "platform": channel.platform,
        "display_name": channel.display_name,
        "external_account_id": channel.external_account_id,
        "base_url": channel.base_url,
        "enabled": channel.enabled,
        "language": channel.language,
    }


@bp.get("/channels")
@requires(Role.ADMIN)
def channel_list():
    rows = db.session.scalars(select(Channel).order_by(Channel.display_name, Channel.id)).all()
    return render_template("admin/channels.html", channels=rows)


@bp.route("/channels/new", methods=["GET", "POST"])
@requires(Role.ADMIN)
def channel_new():
    form = ChannelForm()
    if form.validate_on_submit():
        secrets = _credentials(form, form.platform.data)
        if secrets is not None:
            channel = Channel(
                platform=form.platform.data,
                display_name=form.display_name.data.strip(),
                external_account_id=form.external_account_id.data.strip(),
                base_url=(form.base_url.data or "").strip() or None,
                enabled=True,
                language=channel_language(form.language.data),
            )
            db.session.add(channel)
            try:
                db.session.flush()  # the id the ciphertext is bound to
            except IntegrityError:
                db.session.rollback()
                form.external_account_id.errors.append(
                    "A channel for this account on this platform already exists"
                )
            else:
                channel.credentials_encrypted = encrypt_credentials(channel.id, secrets)
                record(
                    "channel.created",
                    actor=Actor.of(current_user),
                    obj=("channel", channel.id),
                    payload={**_payload(channel), "credentials": sorted(secrets)},
                )
                db.session.commit()
                flash(f"{channel.display_name} added. Test its connection before officers use it.")
                return redirect(url_for("admin.channel_show", channel_id=channel.id))
    return render_template("admin/channel_new.html", form=form), _status(form)


@bp.get("/channels/<int:channel_id>")
@requires(Role.ADMIN)
def channel_show(channel_id: int):
    channel = _channel_or_404(channel_id)
    return _channel_page(channel)


def _channel_page(channel: Channel, status: int = 200, **forms):  # noqa: ANN003
    language = forms.pop("language_form", None) or ChannelLanguageForm(
        data={"language": channel.language or "both"}
    )
    granter = db.session.get(User, channel.granted_by_id) if channel.granted_by_id else None
    page = render_template(
        "admin/channel.html",
        channel=channel,
        granted_by=granter.email if granter else None,
        reconnect=forms.pop("reconnect", None) or ReconnectForm(),
        language_form=language,
        **forms,
    )
    if channel.platform != "x":
        return page, status
    from gateway.admin.connect_x import with_form_targets

    # "Reconnect with X" posts, then goes on to X's consent page.
    return with_form_targets((page, status), channel.base_url)


@bp.post("/channels/<int:channel_id>/language")
@requires(Role.ADMIN)
def channel_set_language(channel_id: int):
    """Which language the channel takes when the gateway publishes in both (issue 18)."""
    channel = _channel_or_404(channel_id)
    form = ChannelLanguageForm()
    if not form.validate_on_submit():
        return _channel_page(channel, 400, language_form=form)
    value = channel_language(form.language.data)
    if value == channel.language:
        flash("Nothing changed.")
        return redirect(url_for("admin.channel_show", channel_id=channel.id))
    previous, channel.language = channel.language, value
    record(
        "channel.language_changed",
        actor=Actor.of(current_user),
        obj=("channel", channel.id),
        payload={"language": value, "previous": previous},
    )
    db.session.commit()
    from gateway.domain.bilingual import CHANNEL_LANGUAGES

    flash(
        f"{channel.display_name} now takes posts in {CHANNEL_LANGUAGES[value].lower()}. Posts "
        "already written keep the form they were approved in until they are edited."
    )
    return redirect(url_for("admin.channel_show", channel_id=channel.id))


@bp.post("/channels/<int:channel_id>/reconnect")
@requires(Role.ADMIN)
def channel_reconnect(channel_id: int):
    channel = _channel_or_404(channel_id)
    form = ReconnectForm()
    if form.validate_on_submit():
        secrets = _credentials(form, channel.platform)
        if secrets is not None:
            channel.credentials_encrypted = encrypt_credentials(channel.id, secrets)
            channel.needs_reauthorisation = False
            # Pasted keys replace a connection made with "Connect with X" (issue 15).
            channel.auth_method = ""
            channel.token_expires_at = None
            channel.token_scopes = ""  # nosec B105 - no scopes, not a password
            channel.token_version = (channel.token_version or 0) + 1
            from gateway.oauth.health import release_after_reconnect

            release_after_reconnect(channel)
            record(
                "channel.reconnected",
                actor=Actor.of(current_user),
                obj=("channel", channel.id),
                payload={"credentials": sorted(secrets)},
            )
            db.session.commit()
            flash(f"New credentials saved for {channel.display_name}. Test the connection.")
            return redirect(url_for("admin.channel_show", channel_id=channel.id))
    return _channel_page(channel, 400, reconnect=form)


@bp.post("/channels/<int:channel_id>/test")
@requires(Role.ADMIN)
def channel_test(channel_id: int):
    channel = _channel_or_404(channel_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    problem, account = None, None
    try:
        secrets = decrypt_credentials(channel.id, channel.credentials_encrypted or b"")
        if channel.auth_method == "oauth2":
            from gateway.oauth.x import fresh_credentials

            # An X token connected by OAuth 2.0 lives two hours: renew it first, as a worker
            # would (this rolls back the request's transaction: nothing is pending here).
            secrets = fresh_credentials(channel.id, secrets)
            channel = _channel_or_404(channel_id)
        config = ChannelConfig(
            platform=channel.platform,
            external_account_id=channel.external_account_id,
            credentials=secrets,
            base_url=channel.base_url,
        )
        # The same guard as publishing (issue #20): a base URL inside our network is refused
        # unless GATEWAY_PLATFORM_ALLOWED_HOSTS names its host.
        allowed = tuple(current_app.config.get("PLATFORM_ALLOWED_HOSTS", ()))
        with adapter_for(config, allowed_hosts=allowed) as adapter:
            account = adapter.check_connection()
    except CredentialsError as exc:
        problem = f"The stored credentials cannot be read: {exc}. Reconnect the channel."
    except PublishError as exc:
        # Our adapters' errors carry the platform's reason (a field of its JSON error, never
        # the body as such, and nothing at all from a refused address or a redirect), never
        # the credentials; cut short in case an unexpected host fills that field.
        reason = str(exc)
        if len(reason) > MAX_SHOWN_REASON:
            reason = reason[:MAX_SHOWN_REASON] + "…"
        problem = f"The platform refused the connection: {reason}"
    record(
        "channel.connection_tested",
        actor=Actor.of(current_user),
        obj=("channel", channel.id),
        payload={"ok": problem is None},
    )
    db.session.commit()
    if problem:
        return _channel_page(channel, 400, page_errors=[problem])
    flash(f"Connected: the platform knows this account as {account}.")
    return redirect(url_for("admin.channel_show", channel_id=channel.id))


@bp.post("/channels/<int:channel_id>/enabled")
@requires(Role.ADMIN)
def channel_toggle(channel_id: int):
    channel = _channel_or_404(channel_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    channel.enabled = not channel.enabled
    record(
        "channel.enabled" if channel.enabled else "channel.disabled",
        actor=Actor.of(current_user),
        obj=("channel", channel.id),
        payload=_payload(channel),
    )
    db.session.commit()
    flash(
        f"{channel.display_name} is enabled."
        if channel.enabled
        else f"{channel.display_name} is disabled: officers can no longer choose it."
    )
    return redirect(url_for("admin.channel_show", channel_id=channel.id))

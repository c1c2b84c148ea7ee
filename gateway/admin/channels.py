"""Channels: add, test the connection, reconnect (new credentials), disable and enable.

Credentials are encrypted with AES-GCM bound to the channel's id (gateway.credentials) before
they reach the row, are never shown again, and never appear in an audit entry or a log line:
the audit payload names which credential fields changed, not their values.
"""

from __future__ import annotations

import json
import secrets

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.admin.forms import (
    ChannelBilingualLayoutForm,
    ChannelForm,
    ChannelLanguageForm,
    ConfirmForm,
    MastodonConnectForm,
    ReconnectForm,
    channel_bilingual_layout,
    channel_language,
)
from gateway.admin.views import _status, bp
from gateway.audit import Actor, record
from gateway.credentials import (
    CredentialsError,
    decrypt_credentials,
    encrypt_credentials,
    keep_refreshed,
)
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import Channel, User
from gateway.platforms import (
    BlueskyPublisher,
    FacebookPublisher,
    InstagramPublisher,
    MastodonPublisher,
    XPublisher,
    adapter_for,
)
from gateway.platforms.base import ChannelConfig
from gateway.platforms.errors import PublishError
from gateway.security import requires

#: The credentials each platform's adapter needs (the Graph API takes a Page or Instagram
#: access token; Bluesky a handle and an app password).
NEEDED = {
    publisher.platform: publisher.required_credentials
    for publisher in (
        XPublisher,
        FacebookPublisher,
        InstagramPublisher,
        BlueskyPublisher,
        MastodonPublisher,
    )
}
#: Platforms whose account is found by signing in, not typed.
SIGNED_IN = ("bluesky", "mastodon")
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


def _allowed_hosts() -> tuple[str, ...]:
    return tuple(current_app.config.get("PLATFORM_ALLOWED_HOSTS", ()))


def _sign_in_to_bluesky(form, secrets: dict[str, str], base_url: str | None):  # noqa: ANN001, ANN202
    """Sign in with the typed handle and app password (issue 21), on the PDS the handle leads
    to (or ``base_url``): the account's DID and the credentials to store (with the session, so
    publishing need not sign in again), or None with the reason on the form."""
    config = ChannelConfig(
        platform="bluesky",
        external_account_id=secrets["handle"].removeprefix("@"),
        credentials={**secrets, "handle": secrets["handle"].removeprefix("@")},
        base_url=base_url,
    )
    try:
        with BlueskyPublisher(config, allowed_hosts=_allowed_hosts()) as publisher:
            did, handle = publisher.connected_account()
            session = publisher.session_string
    except PublishError as exc:
        reason = str(exc)
        if len(reason) > MAX_SHOWN_REASON:
            reason = reason[:MAX_SHOWN_REASON] + "…"
        form.app_password.errors.append(f"Bluesky did not sign in with these: {reason}")
        return None
    stored = {"handle": handle, "app_password": secrets["app_password"]}
    if session:
        stored["session"] = session
    return did, stored


def _sign_in_to_mastodon(form, secrets: dict[str, str], instance: str | None):  # noqa: ANN001, ANN202
    """Check the pasted access token on the instance (issue 21): the account's id, its
    instance's limits (as JSON) and the credentials to store, or None with why on the form."""
    if not instance:
        form.base_url.errors.append("Enter the Mastodon instance's address")
        return None
    config = ChannelConfig(
        platform="mastodon", external_account_id="", credentials=secrets, base_url=instance
    )
    try:
        with MastodonPublisher(config, allowed_hosts=_allowed_hosts()) as publisher:
            account_id = publisher.account_id()
            limits = publisher.limits()
    except PublishError as exc:
        reason = str(exc)
        if len(reason) > MAX_SHOWN_REASON:
            reason = reason[:MAX_SHOWN_REASON] + "…"
        form.access_token.errors.append(f"The instance did not accept this token: {reason}")
        return None
    return account_id, json.dumps(limits, sort_keys=True), secrets


def _timeout() -> float:
    return float(current_app.config.get("PLATFORM_TIMEOUT_SECONDS", 15.0))


def _ask_graph_about(form, platform: str, account: str, secrets: dict, base_url: str | None):  # noqa: ANN001, ANN202
    """For a Facebook or Instagram token entered by hand: what Graph's debug_token says of it
    (issue 15), or None if the installation has no Meta app to ask with or Graph did not answer
    (then saved as typed, and the daily check asks again). A token that cannot publish to
    this channel (a user token where the Page's is needed, postiz-app PR #1881; expired;
    another Page's; a permission missing) is refused on the form: returns False."""
    from gateway.models.base import utcnow
    from gateway.oauth import graph_token

    if platform not in graph_token.GRAPH_PLATFORMS:
        return None
    config = ChannelConfig(
        platform=platform, external_account_id=account, credentials=secrets, base_url=base_url
    )
    try:
        info = graph_token.inspect(config, timeout=_timeout(), allowed_hosts=_allowed_hosts())
    except PublishError as exc:
        reason = str(exc)[:MAX_SHOWN_REASON]
        flash(f"Facebook could not be asked about this token ({reason}): checked again daily.")
        return None
    if info is None:
        return None
    why = graph_token.problem(info, platform, account, utcnow())
    if why is not None:
        form.access_token.errors.append(
            f"This token cannot publish here: {why[:1].upper()}{why[1:]}"
        )
        return False
    return info


def _store_token_info(channel: Channel, info) -> None:  # noqa: ANN001
    from gateway.models.base import utcnow
    from gateway.oauth import graph_token

    graph_token.store(channel, info)
    channel.health_checked_at = utcnow()  # Graph has just described the token
    channel.health_problem = None


def _graph_token_health(channel: Channel, config: ChannelConfig) -> str | None:
    """On "Test the connection" of a Facebook or Instagram channel: what debug_token says of
    its token, kept on the channel; why it cannot publish, if it cannot."""
    from gateway.models.base import utcnow
    from gateway.oauth import graph_token

    try:
        info = graph_token.inspect(config, timeout=_timeout(), allowed_hosts=_allowed_hosts())
    except PublishError as exc:
        flash(f"Facebook could not be asked about the token: {str(exc)[:MAX_SHOWN_REASON]}")
        return None
    if info is None:
        return None
    graph_token.store(channel, info)
    why = graph_token.problem(info, channel.platform, channel.external_account_id, utcnow())
    return f"The token cannot publish here: {why}. Reconnect the channel." if why else None


def _payload(channel: Channel) -> dict:
    return {
        "platform": channel.platform,
        "display_name": channel.display_name,
        "external_account_id": channel.external_account_id,
        "base_url": channel.base_url,
        "enabled": channel.enabled,
        "language": channel.language,
        "bilingual_layout": channel.bilingual_layout,
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
        platform = form.platform.data
        account = (form.external_account_id.data or "").strip()
        base_url = (form.base_url.data or "").strip() or None
        secrets = _credentials(form, platform)
        limits = None
        if platform not in SIGNED_IN and not account:
            form.external_account_id.errors.append("Enter the account id")
            secrets = None
        if secrets is not None and platform == "bluesky":
            # The account is named by its handle; the channel keeps the DID it signs in as.
            signed_in = _sign_in_to_bluesky(form, secrets, base_url)
            secrets = None
            if signed_in is not None:
                account, secrets = signed_in
        if secrets is not None and platform == "mastodon":
            checked = _sign_in_to_mastodon(form, secrets, base_url)
            secrets = None
            if checked is not None:
                account, limits, secrets = checked
        token_info = None
        if secrets is not None:
            token_info = _ask_graph_about(form, platform, account, secrets, base_url)
            if token_info is False:
                secrets = None
        if secrets is not None:
            channel = Channel(
                platform=platform,
                display_name=form.display_name.data.strip(),
                external_account_id=account,
                base_url=base_url,
                enabled=True,
                language=channel_language(form.language.data),
                platform_limits=limits,
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
                if token_info:
                    _store_token_info(channel, token_info)
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
    layout = forms.pop("layout_form", None) or ChannelBilingualLayoutForm(
        data={"bilingual_layout": channel.bilingual_layout or "installation"}
    )
    granter = db.session.get(User, channel.granted_by_id) if channel.granted_by_id else None
    page = render_template(
        "admin/channel.html",
        channel=channel,
        granted_by=granter.email if granter else None,
        reconnect=forms.pop("reconnect", None) or ReconnectForm(),
        language_form=language,
        layout_form=layout,
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


@bp.post("/channels/<int:channel_id>/bilingual-layout")
@requires(Role.ADMIN)
def channel_set_bilingual_layout(channel_id: int):
    """How this channel gets a post in both languages (issue 18): one bilingual post (Welsh
    or English first) or two posts at the same moment, or as the installation is set."""
    from gateway.domain.bilingual import CHANNEL_LAYOUTS

    channel = _channel_or_404(channel_id)
    form = ChannelBilingualLayoutForm()
    if not form.validate_on_submit():
        return _channel_page(channel, 400, layout_form=form)
    value = channel_bilingual_layout(form.bilingual_layout.data)
    if value == channel.bilingual_layout:
        flash("Nothing changed.")
        return redirect(url_for("admin.channel_show", channel_id=channel.id))
    previous, channel.bilingual_layout = channel.bilingual_layout, value
    record(
        "channel.bilingual_layout_changed",
        actor=Actor.of(current_user),
        obj=("channel", channel.id),
        payload={"bilingual_layout": value, "previous": previous},
    )
    db.session.commit()
    flash(
        f"{channel.display_name}, a post in both languages: {CHANNEL_LAYOUTS[value]}. Posts "
        "already written keep "
        "the form they were approved in until they are edited."
    )
    return redirect(url_for("admin.channel_show", channel_id=channel.id))


@bp.post("/channels/<int:channel_id>/reconnect")
@requires(Role.ADMIN)
def channel_reconnect(channel_id: int):
    channel = _channel_or_404(channel_id)
    form = ReconnectForm()
    if form.validate_on_submit():
        secrets = _credentials(form, channel.platform)
        if secrets is not None and channel.platform == "bluesky":
            signed_in = _sign_in_to_bluesky(form, secrets, channel.base_url)
            secrets = None
            if signed_in is not None and signed_in[0] != channel.external_account_id:
                form.handle.errors.append(
                    f"This handle signs in to another account ({signed_in[0]}), not this "
                    f"channel's ({channel.external_account_id})"
                )
            elif signed_in is not None:
                secrets = signed_in[1]
        if secrets is not None and channel.platform == "mastodon":
            checked = _sign_in_to_mastodon(form, secrets, channel.base_url)
            secrets = None
            if checked is not None and checked[0] != channel.external_account_id:
                form.access_token.errors.append(
                    "This token is for another account, not this channel's"
                )
            elif checked is not None:
                channel.platform_limits, secrets = checked[1], checked[2]
        token_info = None
        if secrets is not None:
            token_info = _ask_graph_about(
                form, channel.platform, channel.external_account_id, secrets, channel.base_url
            )
            if token_info is False:
                secrets = None
        if secrets is not None:
            channel.credentials_encrypted = encrypt_credentials(channel.id, secrets)
            channel.needs_reauthorisation = False
            # Pasted keys replace a connection made with "Connect with X" (issue 15).
            channel.auth_method = ""
            channel.token_expires_at = None
            channel.token_scopes = ""  # nosec B105 - no scopes, not a password
            channel.token_type = ""  # nosec B105 - a kind of token, not a password
            channel.token_user_id = None
            channel.data_access_expires_at = None
            channel.token_version = (channel.token_version or 0) + 1
            if token_info:
                _store_token_info(channel, token_info)
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
        with adapter_for(config, allowed_hosts=_allowed_hosts()) as adapter:
            account = adapter.check_connection()
            keep_refreshed(channel.id, adapter)
            if isinstance(adapter, MastodonPublisher):
                # The instance's limits may have changed since it was connected.
                channel.platform_limits = json.dumps(adapter.limits(), sort_keys=True)
        problem = _graph_token_health(channel, config)
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


# Mastodon by the instance's sign-in (issue 21) ---------------------------------------------------
#: How long the admin has to sign in on the instance and come back.
MASTODON_STATE_SECONDS = 600
MASTODON_STATE_KEY = "gateway:mastodon-connect:"


def _mastodon_redirect_uri() -> str:
    """Where the instance sends the admin back: this gateway's public address (it must be the
    one registered with the instance, so it is built from GATEWAY_PUBLIC_URL, never the
    request's Host header)."""
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for("admin.mastodon_callback")


def _redis():  # noqa: ANN202
    from gateway.queue import redis_connection

    return redis_connection(current_app)


@bp.route("/channels/mastodon", methods=["GET", "POST"])
@requires(Role.ADMIN)
def mastodon_connect():
    form = MastodonConnectForm()
    if form.validate_on_submit():
        from gateway.platforms.mastodon import MastodonOAuth

        instance = form.instance_url.data.strip().rstrip("/")
        oauth = MastodonOAuth(instance, allowed_hosts=_allowed_hosts())
        try:
            oauth.register(_mastodon_redirect_uri())
            state = secrets.token_urlsafe(32)
            target = oauth.authorization_url(_mastodon_redirect_uri(), state)
        except PublishError as exc:
            form.instance_url.errors.append(f"The instance could not be used: {exc}")
        else:
            _redis().set(
                MASTODON_STATE_KEY + state,
                json.dumps(
                    {
                        "admin": current_user.id,
                        "instance": instance,
                        "client_id": oauth.client_id,
                        "client_secret": oauth.client_secret,
                        "display_name": form.display_name.data.strip(),
                        "language": channel_language(form.language.data),
                    }
                ),
                ex=MASTODON_STATE_SECONDS,
            )
            # The instance's own page, at the address the admin typed.
            return redirect(target)
        finally:
            oauth.close()
    return render_template("admin/channel_mastodon.html", form=form), _status(form)


@bp.get("/channels/mastodon/callback")
@requires(Role.ADMIN)
def mastodon_callback():
    """The instance sends the admin back with a code and our state: usable once, by the admin
    who started, within MASTODON_STATE_SECONDS."""
    from gateway.platforms.mastodon import MastodonOAuth

    state = request.args.get("state", "")
    raw = _redis().getdel(MASTODON_STATE_KEY + state) if state else None
    started = json.loads(raw) if raw else None
    if started is None or started["admin"] != current_user.id:
        flash("That Mastodon sign-in has expired or was not started here. Start again.")
        return redirect(url_for("admin.mastodon_connect"))
    if request.args.get("error") or not request.args.get("code"):
        flash("The Mastodon instance did not allow the gateway to post. Nothing was added.")
        return redirect(url_for("admin.mastodon_connect"))
    oauth = MastodonOAuth(
        started["instance"],
        allowed_hosts=_allowed_hosts(),
        client_id=started["client_id"],
        client_secret=started["client_secret"],
    )
    try:
        token = oauth.exchange(request.args["code"], _mastodon_redirect_uri())
        config = ChannelConfig("mastodon", "", {"access_token": token}, started["instance"])
        with MastodonPublisher(config, allowed_hosts=_allowed_hosts()) as publisher:
            account_id, limits = publisher.account_id(), publisher.limits()
    except PublishError as exc:
        flash(f"The Mastodon instance did not connect the account: {exc}")
        return redirect(url_for("admin.mastodon_connect"))
    finally:
        oauth.close()
    secrets_ = {
        "access_token": token,
        "client_id": started["client_id"],
        "client_secret": started["client_secret"],
    }
    channel = Channel(
        platform="mastodon",
        display_name=started["display_name"],
        external_account_id=account_id,
        base_url=started["instance"],
        enabled=True,
        language=started["language"],
        platform_limits=json.dumps(limits, sort_keys=True),
    )
    db.session.add(channel)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        flash("A channel for this Mastodon account already exists.")
        return redirect(url_for("admin.channel_list"))
    channel.credentials_encrypted = encrypt_credentials(channel.id, secrets_)
    record(
        "channel.created",
        actor=Actor.of(current_user),
        obj=("channel", channel.id),
        payload={**_payload(channel), "credentials": sorted(secrets_), "via": "oauth"},
    )
    db.session.commit()
    flash(f"{channel.display_name} connected. Test its connection before officers use it.")
    return redirect(url_for("admin.channel_show", channel_id=channel.id))

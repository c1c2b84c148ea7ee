"""Connect with Facebook (issue 15): Facebook Login, then the admin chooses which granted Pages
and Instagram accounts become channels. Only what can publish is offered (a Page token and
CREATE_CONTENT); the rest is shown disabled, with why. A Page or Instagram account that is
already a channel is reconnected: the channel, its history and its waiting posts stay.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from gateway.admin.connect_x import _refused, with_form_targets
from gateway.admin.forms import ConfirmForm, ConnectFacebookForm, channel_language
from gateway.admin.views import _status, bp
from gateway.audit import Actor, record
from gateway.credentials import encrypt_credentials
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import Channel
from gateway.models.base import utcnow
from gateway.oauth import facebook as fb
from gateway.oauth import graph_token
from gateway.oauth.health import release_after_reconnect
from gateway.oauth.x import ConnectRefused
from gateway.platforms import ChannelConfig, PublishError
from gateway.security import requires

AUTH_METHOD = "facebook_login"


def _describe(channel: Channel, token: str) -> None:
    """What debug_token says of the new Page token (who granted it, its permissions, when the
    app's access to their data ends), kept on the channel; if Graph does not answer, the
    daily check asks again."""
    from flask import current_app

    config = ChannelConfig(
        platform=channel.platform,
        external_account_id=channel.external_account_id,
        credentials={"access_token": token},
        base_url=channel.base_url,
    )
    try:
        info = graph_token.inspect(
            config,
            timeout=float(current_app.config.get("PLATFORM_TIMEOUT_SECONDS", 15.0)),
            allowed_hosts=tuple(current_app.config.get("PLATFORM_ALLOWED_HOSTS", ())),
        )
    except PublishError:
        return
    if info is not None and info.is_valid:
        graph_token.store(channel, info)


@bp.route("/channels/connect/facebook", methods=["GET", "POST"])
@requires(Role.ADMIN)
def connect_facebook():
    form = ConnectFacebookForm()
    configured = fb.is_configured()
    if configured and form.validate_on_submit():
        pending = fb.Pending(
            user_id=current_user.id,
            session_id=current_user.session_id or "",
            code_verifier="",
            base_url=(form.base_url.data or "").strip() or None,
            language=channel_language(form.language.data),
        )
        return redirect(fb.begin(pending))
    page = render_template(
        "admin/connect_facebook.html",
        form=form,
        configured=configured,
        redirect_uri=fb.redirect_uri(),
        scopes=fb.SCOPES,
        not_configured=fb.NOT_CONFIGURED,
    )
    return with_form_targets((page, _status(form)), hosts=fb.DIALOG_HOSTS)


@bp.get("/channels/connect/facebook/callback")
@requires(Role.ADMIN)
def connect_facebook_callback():
    args = {
        k: v
        for k, v in request.args.items()
        if k in ("state", "code", "error", "error_reason", "error_code")
    }
    try:
        pending = fb.take_pending(args.get("state", ""), current_user.id, current_user.session_id)
        pages = fb.finish(pending, args)
    except ConnectRefused as exc:
        return _refused(str(exc))
    choice_id = fb.keep_choice(pending, pages)
    return redirect(url_for("admin.connect_facebook_choose", choice_id=choice_id))


@bp.route("/channels/connect/facebook/choose/<choice_id>", methods=["GET", "POST"])
@requires(Role.ADMIN)
def connect_facebook_choose(choice_id: str):
    form = ConfirmForm()
    posting = request.method == "POST"
    if posting and not form.validate_on_submit():
        abort(400)
    try:
        choice = fb.load_choice(choice_id, current_user.id, current_user.session_id, take=posting)
    except ConnectRefused as exc:
        return _refused(str(exc))
    offers = fb.offers(choice.pages)
    existing = {
        (c.platform, c.external_account_id): c
        for c in db.session.scalars(
            select(Channel).where(
                Channel.external_account_id.in_([o.account_id for o in offers] or [""])
            )
        )
    }
    if not posting:
        return render_template(
            "admin/connect_facebook_choose.html",
            offers=offers,
            existing=existing,
            choice_id=choice_id,
        )
    wanted = set(request.form.getlist("account"))
    chosen = [o for o in offers if o.key in wanted and o.available]
    if not chosen:
        return _refused("You chose no Page or Instagram account. Nothing was changed.")
    done = []
    for offer in chosen:
        token = fb.page_token(choice, offer.page_id)
        channel = existing.get((offer.platform, offer.account_id))
        action = "channel.reconnected" if channel is not None else "channel.connected"
        if channel is None:
            suffix = "Facebook Page" if offer.platform == "facebook" else "on Instagram"
            channel = Channel(
                platform=offer.platform,
                display_name=f"{offer.name} {suffix}",
                external_account_id=offer.account_id,
                base_url=choice.base_url,
                enabled=True,
                language=choice.language,
            )
            db.session.add(channel)
            db.session.flush()
        channel.credentials_encrypted = encrypt_credentials(channel.id, {"access_token": token})
        channel.auth_method = AUTH_METHOD
        channel.token_expires_at = None  # a Page token from a long-lived user token
        channel.token_scopes = " ".join(fb.SCOPES)
        channel.token_type = graph_token.PAGE  # from /me/accounts: the Page's own token
        channel.token_user_id = None
        channel.data_access_expires_at = None
        _describe(channel, token)
        channel.granted_by_id = current_user.id
        channel.granted_at = utcnow()
        channel.health_checked_at = utcnow()
        channel.token_version = (channel.token_version or 0) + 1
        channel.needs_reauthorisation = False
        release_after_reconnect(channel)
        record(
            action,
            actor=Actor.of(current_user),
            obj=("channel", channel.id),
            payload={
                "platform": offer.platform,
                "external_account_id": offer.account_id,
                "page_id": offer.page_id,
                "name": offer.name,
                "scopes": " ".join(fb.SCOPES),
                "method": AUTH_METHOD,
                "base_url": choice.base_url,
            },
        )
        done.append(channel.display_name)
    db.session.commit()
    flash("Connected: " + ", ".join(done) + ".")
    return redirect(url_for("admin.channel_list"))

"""Admin, Platform apps (issue 15): the council's own X app and Meta app, whose id and secret
"Connect with X" and "Connect with Facebook" sign in with. One per platform; the secret is
encrypted at rest (gateway.oauth.apps) and never shown back or logged; each change is a
publish-log entry naming the platform and the app's id, never the secret.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from markupsafe import Markup

from gateway.admin.forms import ConfirmForm, PlatformAppForm
from gateway.admin.views import bp
from gateway.audit import Actor, record
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.oauth import apps
from gateway.oauth import facebook as fb
from gateway.oauth import x as x_oauth
from gateway.security import requires

#: What each platform's app is called at the platform, and where its id and secret are found
#: (the labels name a secret; bandit's B105 takes them for one).
LABELS = {
    "x": {
        "id_label": "OAuth 2.0 Client ID",
        "secret_label": "OAuth 2.0 Client Secret (none for a public client)",  # nosec B105
        "where": "the X developer portal, the app's Keys and tokens page",
        "register": "the callback URI in the app's User authentication settings",
        "callback": x_oauth.redirect_uri,
    },
    "facebook": {
        "id_label": "App ID",
        "secret_label": "App Secret",  # nosec B105 - a field label, not a password
        "where": "Meta for Developers, the app's Settings, Basic page",
        "register": "a Valid OAuth Redirect URI in Facebook Login's settings",
        "callback": fb.redirect_uri,
    },
}


def _forms(**given: PlatformAppForm) -> dict[str, PlatformAppForm]:
    forms = {}
    for platform in apps.SETTINGS:
        form = given.get(platform)
        if form is None:
            row = apps.stored(platform)
            form = PlatformAppForm(
                prefix=platform, formdata=None, data={"client_id": row.client_id if row else ""}
            )
        forms[platform] = form
    return forms


def _page(status: int = 200, **given: PlatformAppForm):  # noqa: ANN202
    forms = _forms(**given)
    platforms = []
    for platform, form in forms.items():
        form.client_id.label.text = LABELS[platform]["id_label"]
        form.client_secret.label.text = LABELS[platform]["secret_label"]
        in_use = apps.credentials(platform)
        platforms.append(
            {
                "platform": platform,
                "name": apps.NAMES[platform],
                "form": form,
                "labels": LABELS[platform],
                "callback_html": Markup('<code id="redirect-uri-{}">{}</code>').format(
                    platform, LABELS[platform]["callback"]()
                ),
                "in_use": in_use,
                "setting": "GATEWAY_" + apps.SETTINGS[platform][0],
                "stored": apps.stored(platform) is not None,
                "secret_hint": apps.secret_hint(platform),
            }
        )
    return render_template("admin/platform_apps.html", platforms=platforms), status


@bp.get("/platform-apps")
@requires(Role.ADMIN)
def platform_apps():
    return _page()


@bp.post("/platform-apps/<platform>")
@requires(Role.ADMIN)
def platform_app_save(platform: str):
    if platform not in apps.SETTINGS:
        abort(404)
    form = PlatformAppForm(prefix=platform)
    if not form.validate_on_submit():
        return _page(400, **{platform: form})
    client_id = form.client_id.data.strip()
    secret = (form.client_secret.data or "").strip() or None
    row = apps.stored(platform)
    keeps_secret = row is not None and row.secret_encrypted is not None
    if (
        platform == "facebook"
        and secret is None
        and (not keeps_secret or row.client_id != client_id)
    ):
        # Facebook Login needs the secret, and a stored one belongs to the App ID it came with.
        form.client_secret.errors.append("Enter the App Secret of this app")
        return _page(400, **{platform: form})
    what = apps.save(platform, client_id, secret, current_user.id)
    record(
        "platform_app.changed",
        actor=Actor.of(current_user),
        obj=("platform_app", platform),
        payload={"platform": platform, "client_id": client_id, "secret": what},
    )
    db.session.commit()
    flash(f"The {apps.NAMES[platform]} app is saved: connecting with it uses these from now on.")
    return redirect(url_for("admin.platform_apps"))


@bp.post("/platform-apps/<platform>/remove")
@requires(Role.ADMIN)
def platform_app_remove(platform: str):
    if platform not in apps.SETTINGS or not ConfirmForm().validate_on_submit():
        abort(400)
    if apps.remove(platform):
        record(
            "platform_app.removed",
            actor=Actor.of(current_user),
            obj=("platform_app", platform),
            payload={"platform": platform},
        )
        db.session.commit()
        flash(f"The {apps.NAMES[platform]} app entered here is removed.")
    return redirect(url_for("admin.platform_apps"))

"""Admin, Platform apps (issue 15): the council's X app and Meta app entered by an admin, the
secret encrypted at rest and never shown back or logged, the form's app winning over the
settings, each change a publish-log entry; admins only, CSRF on every form."""

from __future__ import annotations

import logging

from sqlalchemy import select

from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import Channel, PlatformApp
from gateway.oauth import apps
from tests.conftest import AuthActions
from tests.oauth.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    COUNCIL_X,
    PUBLIC_URL,
    audit,
    audit_text,
    connect,
)
from tests.web.helpers import get, submit

PAGE = "/admin/platform-apps"


def _save(admin, platform: str, **fields):
    page = get(admin, PAGE)
    values = {f"{platform}-{name}": value for name, value in fields.items()}
    return submit(admin, page, values, selector=f"#app-{platform} form")


def test_the_x_app_entered_here_is_encrypted_never_shown_and_connects_a_channel(
    app, admin, fake_x, fake_server, caplog
):
    caplog.set_level(logging.DEBUG)
    app.config.update(X_CLIENT_ID=None, X_CLIENT_SECRET=None)  # nothing from the settings
    page = get(admin, PAGE)
    assert page.soup.select_one("#redirect-uri-x").get_text() == (
        PUBLIC_URL + "/admin/channels/connect/x/callback"
    )
    assert "is not possible yet" in page.soup.select_one("#app-x").get_text()

    saved = _save(admin, "x", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert saved.status == 302, saved.text()
    with app.app_context():
        row = db.session.scalar(select(PlatformApp).where(PlatformApp.platform == "x"))
        assert row.client_id == CLIENT_ID
        assert CLIENT_SECRET.encode() not in bytes(row.secret_encrypted)
    shown = get(admin, PAGE)
    section = shown.soup.select_one("#app-x").get_text(" ", strip=True)
    assert f"Set, ending …{CLIENT_SECRET[-4:]}" in section
    assert f"The app entered here: {CLIENT_ID}" in section
    assert CLIENT_SECRET not in shown.html
    assert shown.soup.select_one("#x-client_secret").get("value") in (None, "")

    # The form's app signs in at X (a confidential client: the fake checks its secret).
    channel_id = connect(admin, fake_server)
    with app.app_context():
        assert db.session.get(Channel, channel_id).external_account_id == COUNCIL_X

    (entry,) = audit(app, "platform_app.changed")
    assert entry["payload"] == {"platform": "x", "client_id": CLIENT_ID, "secret": "replaced"}
    assert CLIENT_SECRET not in audit_text(app)
    assert CLIENT_SECRET not in caplog.text


def test_the_form_wins_over_the_settings_and_removing_it_brings_the_settings_back(
    app, admin, fake_x, fake_server
):
    app.config.update(X_CLIENT_ID="an-app-x-does-not-know", X_CLIENT_SECRET="wrong-secret")
    with app.app_context():
        assert apps.credentials("x").source == "settings"
    assert _save(admin, "x", client_id=CLIENT_ID, client_secret=CLIENT_SECRET).status == 302
    with app.app_context():
        used = apps.credentials("x")
        assert (used.client_id, used.secret, used.source) == (CLIENT_ID, CLIENT_SECRET, "form")
        assert CLIENT_SECRET not in repr(used)
    connect(admin, fake_server)  # with the setting's app X would refuse the client

    page = get(admin, PAGE)
    removed = submit(admin, page, action="/admin/platform-apps/x/remove")
    assert removed.status == 302
    with app.app_context():
        assert apps.credentials("x").client_id == "an-app-x-does-not-know"
    assert "The server setting GATEWAY_X_CLIENT_ID" in get(admin, PAGE).text()
    assert [e["action"] for e in audit(app) if e["action"].startswith("platform_app.")] == [
        "platform_app.changed",
        "platform_app.removed",
    ]


def test_an_empty_secret_keeps_the_stored_one_and_another_app_id_drops_it(app, admin):
    assert _save(admin, "facebook", client_id="1234", client_secret="s3cret-value-abcdef").status
    assert _save(admin, "facebook", client_id="1234", client_secret="").status == 302
    with app.app_context():
        assert apps.credentials("facebook").secret == "s3cret-value-abcdef"
    # A new App ID without its secret: refused (Facebook Login needs one), nothing changed.
    refused = _save(admin, "facebook", client_id="5678", client_secret="")
    assert refused.status == 400
    with app.app_context():
        assert apps.credentials("facebook").client_id == "1234"
    # X's public clients have no secret: another Client ID without one drops the old secret.
    _save(admin, "x", client_id="first-client", client_secret="first-secret-0123456789")
    _save(admin, "x", client_id="second-client", client_secret="")
    with app.app_context():
        used = apps.credentials("x")
        assert (used.client_id, used.secret) == ("second-client", None)
    payloads = [e["payload"]["secret"] for e in audit(app, "platform_app.changed")]
    assert payloads == ["replaced", "kept", "replaced", "removed"]


def test_only_admins_reach_the_page_and_every_form_needs_its_csrf_token(app, client, admin):
    officer = app.test_client()
    officer.environ_base["HTTP_REFERER"] = "https://localhost/"  # as a browser's same-site form
    AuthActions(app, officer).sign_in_as(Role.OFFICER)
    assert officer.get(PAGE).status_code == 403
    page = get(admin, PAGE)
    token = page.soup.select_one("#app-x input[name='x-csrf_token']")["value"]
    answer = officer.post(
        "/admin/platform-apps/x", data={"x-csrf_token": token, "x-client_id": "evil"}
    )
    assert answer.status_code in (400, 403)
    assert officer.post("/admin/platform-apps/x/remove").status_code in (400, 403)
    # The admin's own session without the token: refused, nothing stored.
    assert admin.post("/admin/platform-apps/x", data={"x-client_id": "evil"}).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(PlatformApp)) is None


def test_gateway_keys_rotate_reseals_the_app_secrets(app, admin, runner):
    from gateway.cli import main
    from gateway.settings import new_encryption_key, parse_encryption_keys

    _save(admin, "facebook", client_id="1234", client_secret="s3cret-value-abcdef")
    with app.app_context():
        before = bytes(apps.stored("facebook").secret_encrypted)
    new_key = parse_encryption_keys(new_encryption_key())[0]
    app.config["ENCRYPTION_KEYS"] = [new_key, *app.config["ENCRYPTION_KEYS"]]
    result = runner.invoke(main, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "1 platform app secret(s)" in result.output
    app.config["ENCRYPTION_KEYS"] = [new_key]  # the old key gone: still readable
    with app.app_context():
        assert bytes(apps.stored("facebook").secret_encrypted) != before
        assert apps.credentials("facebook").secret == "s3cret-value-abcdef"

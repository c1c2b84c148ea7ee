"""Single sign-on in real Chromium against the real OpenID provider (issue 16): the sign-in
page offers the provider first, the browser signs in at the provider and comes back; an admin
links and sets up break-glass; the provider goes down and the page says so. axe-core runs on
the gateway's pages, and the README's pictures of the gateway's side are taken here."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import User
from tests.browser.conftest import DESKTOP, Window, serve_with_waitress
from tests.conftest import AuthActions, _config
from tests.support.network import free_port
from tests.support.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    GROUP_OFFICERS,
    IDP_PASSWORD,
    OpenIdProvider,
)

PROVIDER_NAME = "Harbourside Microsoft account"


@pytest.fixture
def gateway_port():
    return free_port()


@pytest.fixture
def idp(tmp_path, gateway_port):
    folder = tmp_path / "idp"
    folder.mkdir()
    provider = OpenIdProvider(folder, f"http://localhost:{gateway_port}/sign-in/oidc/callback")
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def app(idp, database_url, tmp_path, redis_conn, monkeypatch):
    env = {
        "GATEWAY_OIDC_ISSUER": idp.issuer,
        "GATEWAY_OIDC_CLIENT_ID": CLIENT_ID,
        "GATEWAY_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "GATEWAY_OIDC_PROVIDER_NAME": PROVIDER_NAME,
        "GATEWAY_OIDC_ROLE_GROUPS": json.dumps({GROUP_OFFICERS: "officer"}),
        "GATEWAY_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("DATABASE_URL", "REDIS_URL", "GATEWAY_ENV", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    from gateway.app import create_app

    app = create_app(_config(database_url, tmp_path / "instance"))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def site(app, gateway_port):
    _, stop = serve_with_waitress(app, port=gateway_port)
    app.config["SERVER_NAME"] = f"localhost:{gateway_port}"
    app.config["PUBLIC_URL"] = f"http://localhost:{gateway_port}"
    yield f"http://localhost:{gateway_port}"
    stop()


def _sign_in_at_provider(page, login: str) -> None:
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", IDP_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Allow access")
    page.click("button[type=submit]")


def test_single_sign_on_in_the_browser(app, site, idp, browser, axe, screenshots):
    base_url = site
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    page.goto(f"{base_url}/sign-in")
    axe.check(page, "sso-sign-in")
    page.screenshot(path=str(screenshots / "sso-sign-in.png"), full_page=True)
    button = page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}")
    assert button.is_visible()

    # Alice: no group, so no role yet.
    button.click()
    page.wait_for_url(f"{idp.issuer}/interaction/**")
    _sign_in_at_provider(page, "alice")
    page.wait_for_url(f"{base_url}/account/no-role")
    assert "You do not have a role yet" in page.locator("main").inner_text()
    axe.check(page, "sso-no-role")
    page.screenshot(path=str(screenshots / "sso-no-role.png"), full_page=True)
    page.get_by_role("button", name="Sign out").click()

    # An admin, with a password, sees Alice's account and its link, and sets break-glass.
    auth = AuthActions(app, app.test_client())
    auth.create_user(Role.ADMIN, email="admin@harbourside.gov.uk")
    admin = Window(browser, base_url, "admin@harbourside.gov.uk", axe, screenshots)
    with app.app_context():
        alice = db.session.scalar(
            select(User).where(User.email == "alice.jones@harbourside.gov.uk")
        )
    admin.go(f"/admin/users/{alice.id}", "sso-user")
    assert "sub-alice-0001" in admin.main_text()
    admin.page.screenshot(path=str(screenshots / "sso-user.png"), full_page=True)
    admin.go("/admin/sign-in", "sso-admin-sign-in")
    admin.page.check("input[value=break_glass_only]")
    admin.page.select_option("select[name=break_glass]", label="admin@harbourside.gov.uk")
    admin.page.get_by_role("button", name="Save").click()
    assert "only the break-glass administrator" in admin.main_text()
    admin.page.screenshot(path=str(screenshots / "sso-admin-sign-in.png"), full_page=True)
    admin.close()

    # Bob, on his own computer, is in the officers' group: he lands on the dashboard.
    context.close()
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    page.goto(f"{base_url}/sign-in")
    assert "break-glass administrator only" in page.locator("main").inner_text()
    page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}").click()
    _sign_in_at_provider(page, "bob")
    page.wait_for_url(f"{base_url}/")
    page.get_by_role("button", name="Sign out").click()

    # The provider goes down: a clear page, and the way to break-glass.
    idp.stop()
    page.goto(f"{base_url}/sign-in")
    page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}").click()
    assert "is not answering" in page.locator("main").inner_text()
    axe.check(page, "sso-provider-down")
    page.screenshot(path=str(screenshots / "sso-provider-down.png"), full_page=True)
    context.close()
    axe.assert_clean()

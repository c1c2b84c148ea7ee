"""Connect with X in real Chromium (issue 15): the admin presses "Connect with X", approves at
the fake platform's X consent page, comes back to the new channel's page, and the channel then
publishes with the token it was given. axe-core runs on the gateway's pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import Channel, Delivery
from gateway.oauth.x import CALLBACK_PATH
from gateway.publishing import attempt
from tests.browser.conftest import Window
from tests.oauth.conftest import CLIENT_ID, CLIENT_SECRET, COUNCIL_X, FakeX
from tests.publishing.conftest import Officers, approved_post


@pytest.fixture
def site(live_site, clock, fake_server, app):
    base_url, emails = live_site(
        "Harbourside", {"admin": (Role.ADMIN, "ade.admin@harbourside.example")}
    )
    with FakeX(fake_server) as fake:
        fake.register_account(
            "x",
            COUNCIL_X,
            {
                "consumer_key": "unused-ck",
                "consumer_secret": "unused-cs",
                "access_token": "unused-at",
                "access_token_secret": "unused-ats",
            },
            name="Harbourside Council",
            username="harbourside",
        )
        fake._send(
            "POST",
            "/_fake/x/oauth2/apps",
            json={
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [base_url + CALLBACK_PATH],
            },
        )
    app.config.update(X_CLIENT_ID=CLIENT_ID, X_CLIENT_SECRET=CLIENT_SECRET)
    return base_url, emails


def test_an_admin_connects_x_in_the_browser_and_the_channel_publishes(
    app, site, browser, axe, screenshots, clock, fake_server
):
    base_url, emails = site
    admin = Window(browser, base_url, emails["admin"], axe, screenshots)
    page = admin.page
    admin.go("/admin/channels", "admin-channels")
    page.get_by_role("link", name="Connect with X").click()
    page.wait_for_url(base_url + "/admin/channels/connect/x")
    admin.check("admin-connect-x", shot=True)
    assert page.locator("#redirect-uri").inner_text() == base_url + CALLBACK_PATH
    page.get_by_label("Name officers see (optional)").fill("Harbourside on X (connected)")
    page.get_by_label("API address (only for training)").fill(fake_server)
    page.get_by_role("button", name="Continue to X").click()

    # The fake platform's X consent page: choose the council's account and authorize.
    page.wait_for_url(lambda url: url.startswith(fake_server + "/i/oauth2/authorize"))
    assert "wants to access your X account" in page.locator("h1").inner_text()
    page.get_by_label("Harbourside Council (@harbourside)").check()
    page.get_by_role("button", name="Authorize app").click()

    page.wait_for_url(
        lambda url: url.startswith(base_url + "/admin/channels/") and "connect" not in url
    )
    main = admin.main_text()
    assert "Connected: Harbourside on X (connected) publishes as @harbourside." in main, main
    assert "Connected with X (OAuth 2.0)" in main and "offline.access" in main
    assert "ade.admin@harbourside.example" in main  # who granted it
    admin.check("admin-channel-connected-x", shot=True)
    admin.close()

    with app.app_context():
        channel_id = db.session.scalar(
            select(Channel.id).where(Channel.external_account_id == COUNCIL_X)
        )
    officers = Officers(app)
    post_id = approved_post(app, officers, [channel_id], text="The harbour wall path reopens.")
    clock.shift(timedelta(seconds=2))
    with app.app_context():
        delivery_id = db.session.scalar(select(Delivery.id).where(Delivery.post_id == post_id))
        assert attempt.publish(delivery_id) == "published"
        db.session.remove()
    with FakeX(fake_server) as fake:
        assert [p["text"] for p in fake.posts("x", COUNCIL_X)] == ["The harbour wall path reopens."]
    axe.assert_clean()

"""Connect with Facebook in real Chromium (issue 15): at the fake's Facebook dialog the admin
ticks one Page and not another, and ticks Instagram accounts with and without their Page; the
gateway offers only what can publish, says why for the rest, and the new Page channel then
publishes with its own Page token. axe-core runs on the gateway's pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import Channel, Delivery
from gateway.oauth.facebook import CALLBACK_PATH
from gateway.publishing import attempt
from tests.browser.conftest import Window
from tests.oauth.test_connect_facebook import (
    APP_ID,
    APP_SECRET,
    IG_A,
    IG_B,
    PAGE_A,
    PAGE_B,
    PERSON,
)
from tests.publishing.conftest import Officers, approved_post


@pytest.fixture
def site(live_site, clock, fake_server, app):
    base_url, emails = live_site(
        "Harbourside", {"admin": (Role.ADMIN, "ade.admin@harbourside.example")}
    )
    with requests.Session() as control:

        def send(path, body):
            answer = control.post(fake_server + path, json=body, timeout=10)
            assert answer.status_code in (200, 201), answer.text

        for platform, account, name in (
            ("facebook", PAGE_A, "Harbourside Council"),
            ("facebook", PAGE_B, "Harbourside Libraries"),
            ("instagram", IG_A, "harbourside"),
            ("instagram", IG_B, "harbourside.libraries"),
        ):
            send(
                "/_fake/accounts",
                {
                    "platform": platform,
                    "account_id": account,
                    "name": name,
                    "username": name,
                    "credentials": {"access_token": f"unused-{account}"},
                },
            )
        send(
            "/_fake/facebook/apps",
            {
                "app_id": APP_ID,
                "app_secret": APP_SECRET,
                "redirect_uris": [base_url + CALLBACK_PATH],
            },
        )
        send(
            "/_fake/facebook/people",
            {
                "user_id": PERSON,
                "name": "Sam Comms",
                "pages": {PAGE_A: ["CREATE_CONTENT", "MANAGE"], PAGE_B: ["CREATE_CONTENT"]},
                "instagram": {PAGE_A: IG_A, PAGE_B: IG_B},
            },
        )
    app.config.update(FACEBOOK_APP_ID=APP_ID, FACEBOOK_APP_SECRET=APP_SECRET)
    return base_url, emails


def test_an_admin_connects_facebook_pages_in_the_browser_and_the_page_publishes(
    app, site, browser, axe, screenshots, clock, fake_server
):
    base_url, emails = site
    admin = Window(browser, base_url, emails["admin"], axe, screenshots)
    page = admin.page
    admin.go("/admin/channels", "admin-channels")
    page.get_by_role("link", name="Connect with Facebook").click()
    page.wait_for_url(base_url + "/admin/channels/connect/facebook")
    admin.check("admin-connect-facebook")
    page.get_by_label("API address (only for training)").fill(fake_server)
    page.get_by_role("button", name="Continue to Facebook").click()

    # The fake's Facebook dialog: one Page ticked, the other not; both Instagram accounts.
    page.wait_for_url(lambda url: url.startswith(fake_server + "/v23.0/dialog/oauth"))
    page.get_by_label("Harbourside Council", exact=True).check()
    page.get_by_label("Instagram: harbourside", exact=True).check()
    page.get_by_label("Instagram: harbourside.libraries", exact=True).check()
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(lambda url: "/admin/channels/connect/facebook/choose/" in url)
    admin.check("admin-connect-facebook-choose", shot=True)
    offered = page.locator("input[name=account]")
    assert offered.count() == 4
    assert page.get_by_label("Harbourside Council (Facebook Page)").is_enabled()
    assert page.get_by_label("@harbourside (Instagram)").is_enabled()
    assert page.get_by_label("Harbourside Libraries (Facebook Page)").is_disabled()
    assert page.get_by_label("@harbourside.libraries (Instagram)").is_disabled()
    main = admin.main_text()
    assert "Not chosen in Facebook's dialog" in main
    assert "Its Facebook Page, Harbourside Libraries, was not chosen" in main
    page.get_by_role("button", name="Add these channels").click()

    page.wait_for_url(base_url + "/admin/channels")
    main = admin.main_text()
    assert "Connected: Harbourside Council Facebook Page, @harbourside on Instagram." in main
    assert "Connected with Facebook (a Page token)" in main
    admin.check("admin-channels-facebook-connected")
    admin.close()

    with app.app_context():
        channel_id = db.session.scalar(
            select(Channel.id).where(
                Channel.platform == "facebook", Channel.external_account_id == PAGE_A
            )
        )
    post_id = approved_post(app, Officers(app), [channel_id], text="The ferry runs on time.")
    clock.shift(timedelta(seconds=2))
    with app.app_context():
        delivery_id = db.session.scalar(select(Delivery.id).where(Delivery.post_id == post_id))
        assert attempt.publish(delivery_id) == "published"
        db.session.remove()
    posts = requests.get(f"{fake_server}/_fake/posts?platform=facebook", timeout=10).json()
    assert [(p["account_id"], p["text"]) for p in posts["posts"]] == [
        (PAGE_A, "The ferry runs on time.")
    ]
    axe.assert_clean()

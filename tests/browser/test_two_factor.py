"""Two-factor in real Chromium (issue 16): an admin who has not enrolled signs in, is sent to
enrol before any other page, reads the key under the QR code (the QR code itself a data: image
the CSP allows), confirms with a code their "app" (pyotp) makes, is shown ten recovery codes
once, and next time signs in with password then code, a reused code refused. axe-core runs on
each page, and the README's pictures are taken here."""

from __future__ import annotations

import time

import pytest

from gateway.domain import totp
from gateway.domain.roles import Role
from tests.browser.conftest import Window
from tests.conftest import TEST_PASSWORD, AuthActions
from tests.support.two_factor import Authenticator

EMAIL = "ada.admin@harbourside.example"


class _SignsInByHand(Window):
    def sign_in(self) -> None:
        pass


@pytest.fixture
def site(live_site, app):
    base_url, people = live_site("Harbourside", {})
    AuthActions(app, app.test_client()).create_user(Role.ADMIN, email=EMAIL, two_factor=False)
    return base_url


def _password(window: Window) -> None:
    page = window.page
    page.goto(f"{window.base_url}/sign-in")
    page.fill("#email", EMAIL)
    page.fill("#password", TEST_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_an_admin_enrols_in_the_browser_and_signs_in_with_a_code(
    app, site, browser, axe, screenshots
):
    window = _SignsInByHand(browser, site, EMAIL, axe, screenshots)
    page = window.page
    _password(window)
    page.wait_for_url(f"{site}/account/two-factor")
    assert "You must set up two-factor authentication" in window.main_text()
    window.check("two-factor-required")
    # No other page until it is done.
    page.goto(f"{site}/admin/users")
    assert page.url == f"{site}/account/two-factor"

    page.get_by_role("button", name="Set up two-factor authentication").click()
    page.wait_for_selector("#two-factor-qr")
    # The QR code drew: a data: image is allowed by the CSP (no inline scripts or styles).
    assert page.evaluate("document.getElementById('two-factor-qr').naturalWidth") > 100
    secret = page.inner_text("#two-factor-secret").replace(" ", "")
    assert len(secret) == 32
    window.check("two-factor-enrol", shot=True)
    app_on_phone = Authenticator(EMAIL, secret)

    # A mistyped code first: the error summary says so, and the same key is still shown.
    page.fill("#code", f"{(int(app_on_phone.now()) + 1) % 1_000_000:06d}")
    page.get_by_role("button", name="Confirm and turn on").click()
    page.locator(".govuk-error-summary").wait_for()
    assert "The code is not right" in page.locator(".govuk-error-summary").inner_text()
    assert page.inner_text("#two-factor-secret").replace(" ", "") == secret
    window.check("two-factor-enrol-wrong-code")

    page.fill("#code", app_on_phone.next_code())
    page.get_by_role("button", name="Confirm and turn on").click()
    page.wait_for_selector("#recovery-codes")
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10 and len(set(codes)) == 10
    window.check("two-factor-recovery-codes", shot=True)
    page.get_by_role("button", name="I have saved my recovery codes").click()
    page.wait_for_url(f"{site}/")
    window.go("/admin/users", "admin-users")

    # Next time: the password, then the code. The code just used is refused.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{site}/sign-in")
    _password(window)
    page.wait_for_url(f"{site}/sign-in/two-factor")
    window.check("two-factor-code", shot=True)
    used = app_on_phone.last_step
    page.fill("#code", app_on_phone.code_at(used))
    page.get_by_role("button", name="Continue", exact=True).click()
    page.locator(".govuk-error-summary").wait_for()
    if used >= totp.step_at(time.time()) - 1:  # still inside its window (a slow machine may
        # take longer, and then it is simply too old: tests/two_factor freezes the clock)
        assert "already been used" in page.locator(".govuk-error-summary").inner_text()
    window.check("two-factor-code-reused")
    page.fill("#code", app_on_phone.next_code())
    page.get_by_role("button", name="Continue", exact=True).click()
    page.wait_for_url(f"{site}/")
    window.go("/account/two-factor", "two-factor-on")
    assert "Two-factor authentication is on" in window.main_text()
    assert "10 unused recovery codes" in window.main_text()

    axe.assert_clean()
    window.close()

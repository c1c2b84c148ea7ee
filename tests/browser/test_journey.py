"""The officers' journey in real Chromium (issue 6): officer A drafts a post with an image and
alt text, sees a guardrail block and fixes the text, submits; A cannot approve it; officer B
approves; the worker publishes it to the fake platform; A sees it published with its link.
axe-core runs on every page of the journey and on the admin pages."""

from __future__ import annotations

import io
import re
from datetime import datetime

import pytest
from PIL import Image

from fakeplatform.client import FakePlatformControl
from fakeplatform.server import serve_in_thread
from gateway.credentials import encrypt_credentials
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import Channel
from gateway.publishing.release import release_due
from tests.browser.conftest import LONDON
from tests.conftest import TEST_PASSWORD, AuthActions
from workers.worker import build_worker

X_ACCOUNT = "1500000000000000077"
X_CREDENTIALS = {
    "consumer_key": "ck-browser",
    "consumer_secret": "cs-browser-secret",
    "access_token": f"{X_ACCOUNT}-at-browser",
    "access_token_secret": "ats-browser-secret",
}
PAGE_ID = "104000000000077"
PAGE_TOKEN = "EAABrowserPageToken"
BLOCKED = "Found a cat? Please call Jenny on 07700 900461 if you see her."
FIXED = "Found a ginger cat near the library? Please tell our animal welfare team."
#: After the post's time (Wednesday 10 March 2027, 10:30 in London).
AFTER_DUE = datetime(2027, 3, 10, 10, 31, tzinfo=LONDON)


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), (200, 120, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def fake_server():
    base_url, stop = serve_in_thread()
    yield base_url
    stop()


@pytest.fixture
def site(app, clock, fake_server):
    """The gateway on http://localhost:PORT (localhost: Chromium keeps Secure __Host- cookies
    there), two channels on the fake platform, and four people."""
    base_url, stop = serve_in_thread(app=app)
    port = base_url.rsplit(":", 1)[1]
    app.config["SERVER_NAME"] = f"localhost:{port}"
    app.config["PUBLIC_URL"] = f"http://localhost:{port}"
    with FakePlatformControl(fake_server) as control:
        control.reset()
        control.register_account("x", X_ACCOUNT, X_CREDENTIALS, name="Council", username="council")
        control.register_account("facebook", PAGE_ID, {"access_token": PAGE_TOKEN}, name="Council")
    with app.app_context():
        for platform, name, account, creds in [
            ("x", "Harbourside on X", X_ACCOUNT, X_CREDENTIALS),
            ("facebook", "Harbourside Facebook Page", PAGE_ID, {"access_token": PAGE_TOKEN}),
        ]:
            row = Channel(
                platform=platform,
                display_name=name,
                external_account_id=account,
                base_url=fake_server,
            )
            db.session.add(row)
            db.session.flush()
            row.credentials_encrypted = encrypt_credentials(row.id, creds)
        db.session.commit()
    auth = AuthActions(app, app.test_client())
    people = {
        "a": auth.create_user(Role.OFFICER, email="ann.author@harbourside.example")[1],
        "b": auth.create_user(Role.OFFICER, email="bo.approver@harbourside.example")[1],
        "admin": auth.create_user(Role.ADMIN, email="ade.admin@harbourside.example")[1],
    }
    yield f"http://localhost:{port}", people
    stop()


class Person:
    """One person's browser window, recording console errors and failed page loads."""

    def __init__(self, browser, base_url, email, axe, screenshots):
        self.context = browser.new_context(viewport={"width": 1200, "height": 900})
        self.page = self.context.new_page()
        self.base_url = base_url
        self.axe = axe
        self.screenshots = screenshots
        self.problems: list[str] = []
        # A refused form answers 400 by design (the page says what to fix), and Chromium logs
        # every 4xx page as a console error: failed *resources* are caught below instead.
        self.page.on(
            "console",
            lambda m: (
                self.problems.append(f"console {m.type}: {m.text}")
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None
            ),
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on(
            "response",
            lambda r: (
                self.problems.append(f"{r.status} {r.url}")
                if r.status >= 400 and r.request.resource_type != "document"
                else None
            ),
        )
        self.email = email
        self.sign_in()

    def sign_in(self):
        self.page.goto(f"{self.base_url}/sign-in")
        self.check("sign-in")
        self.page.fill("#email", self.email)
        self.page.fill("#password", TEST_PASSWORD)
        self.page.get_by_role("button", name="Sign in", exact=True).click()
        self.page.wait_for_url(f"{self.base_url}/")

    def go(self, path: str, name: str | None = None):
        response = self.page.goto(self.base_url + path)
        assert response.status == 200, (path, response.status)
        if name:
            self.check(name)

    def check(self, name: str, *, shot: bool = False):
        """axe-core on the page as it is now; optionally a screenshot for the README."""
        self.axe.check(self.page, name)
        if shot:
            self.page.screenshot(path=str(self.screenshots / f"{name}.png"), full_page=True)

    def close(self):
        self.context.close()
        assert not self.problems, self.problems


def test_the_officers_journey(app, site, browser, axe, screenshots, clock):
    base_url, people = site
    a = Person(browser, base_url, people["a"], axe, screenshots)
    a.check("dashboard", shot=True)
    page = a.page

    # A drafts a post with an image and its alt text. The text has a private phone number.
    a.go("/posts/new", "new-post")
    page.fill("#text", BLOCKED)
    page.check("label:has-text('Harbourside on X')")
    page.check("label:has-text('Harbourside Facebook Page')")
    page.fill("#publish_date-day", "10")
    page.fill("#publish_date-month", "3")
    page.fill("#publish_date-year", "2027")
    page.fill("#publish_time", "10:30am")
    page.set_input_files(
        "#images-0-file", files=[{"name": "cat.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}]
    )
    page.fill("#images-0-alt_text", "A ginger cat sitting on a library step")
    a.check("new-post-filled", shot=True)
    page.get_by_role("button", name="Submit for approval", exact=True).click()

    # The guardrails block it: the error summary says so, with the policy clause.
    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    assert "cannot be submitted" in summary.inner_text()
    assert page.title().startswith("Error: ")
    assert "Policy:" in page.locator("main").inner_text()
    a.check("guardrail-block", shot=True)

    # A fixes the text and submits; the image and its alt text were kept.
    assert page.locator("img[alt='A ginger cat sitting on a library step']").count() >= 1
    page.fill("#text", FIXED)
    page.get_by_role("button", name="Submit for approval", exact=True).click()
    page.wait_for_load_state()
    assert re.search(r"/posts/\d+$", page.url), (page.url, page.locator("main").inner_text())
    post_path = page.url.removeprefix(base_url)
    assert "Awaiting approval" in page.locator("main").inner_text()
    a.check("post-awaiting")

    # A cannot approve it: the server refuses, whatever the page offers.
    page.get_by_role("button", name="Approve", exact=True).click()
    assert "You cannot approve your own post" in page.locator(".govuk-error-summary").inner_text()
    a.check("own-approval-refused")

    # B approves it from the queue.
    b = Person(browser, base_url, people["b"], axe, screenshots)
    b.go("/approvals")
    b.check("approvals", shot=True)
    b.page.click(f"a[href='{post_path}']")
    b.check("post-to-approve", shot=True)
    b.page.get_by_role("button", name="Approve", exact=True).click()
    b.page.wait_for_load_state()
    assert b.page.url == base_url + post_path, b.page.locator("main").inner_text()[:1500]
    assert "Approved" in b.page.locator(".govuk-notification-banner").inner_text()

    # Its time comes; the worker publishes it to the fake platform.
    clock.move_to(AFTER_DUE)
    # The sweep re-enqueues any due delivery whose job is gone (the database is the source of
    # truth), then a burst worker runs what is due.
    with app.app_context():
        release_due(app)
    build_worker(app).work(burst=True, with_scheduler=True)

    # The next day A signs in again (the idle timeout ended yesterday's session) and sees it
    # published, with its link on each platform.
    a.sign_in()
    a.go(post_path)
    main = page.locator("main").inner_text()
    assert "Published" in main, main
    links = page.locator("a:has-text('View on')")
    assert links.count() == 2
    assert all(links.nth(i).get_attribute("href") for i in range(2))
    a.check("post-published", shot=True)

    a.go("/schedule?start=2027-03-08", "schedule-week")
    a.check("schedule-week", shot=True)
    a.go("/schedule/month?month=2027-03", "schedule-month")
    a.go("/", "dashboard-after")
    a.close()
    b.close()

    admin = Person(browser, base_url, people["admin"], axe, screenshots)
    for path, name in [
        ("/admin/", "admin"),
        ("/admin/users", "admin-users"),
        ("/admin/users/new", "admin-user-new"),
        ("/admin/channels", "admin-channels"),
        ("/admin/channels/new", "admin-channel-new"),
        ("/admin/channels/1", "admin-channel"),
        ("/admin/elections", "admin-elections"),
        ("/admin/elections/new", "admin-election-new"),
        ("/admin/register", "admin-register"),
        ("/admin/contacts", "admin-contacts"),
        ("/admin/closures", "admin-closures"),
    ]:
        admin.go(path, name)
    admin.check("admin-channels-shot")
    admin.go("/admin/channels", None)
    admin.check("admin-channels", shot=True)
    # A form refused: the error summary and messages are accessible too.
    admin.go("/admin/elections/new")
    admin.page.get_by_role("button", name="Save election", exact=True).click()
    admin.page.locator(".govuk-error-summary").wait_for()
    admin.check("admin-election-errors", shot=True)
    admin.close()
    axe.assert_clean()


def test_the_accessibility_check_does_catch_a_violation(browser, axe):
    """The checker itself: a page with an image without alt text and an unlabelled field."""
    context = browser.new_context()
    page = context.new_page()
    page.set_content(
        "<!DOCTYPE html><html lang='en'><head><title>t</title></head><body><main>"
        "<h1>Bad</h1><img src='data:,'><input type='text'></main></body></html>"
    )
    found = {v["id"] for v in axe.check(page, "deliberately-bad")}
    context.close()
    assert {"image-alt", "label"} <= found

"""The emergency path in real Chromium (issue 7's Tests): at 3am, outside office hours, a duty
officer signs in through the sign-in form, fills in the emergency form on a phone and on a
desktop, posts, and sees the post arrive on the fake platform and its status; another officer
reviews it from the review list. axe-core runs on the emergency form and the review list.

The clock is moved the way the other tests move it (time_machine): the gateway is served from a
thread of this process, so the server's clock is the test's.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime

import pytest
import time_machine
from aiosmtpd.controller import Controller
from waitress.server import create_server

from fakeplatform.client import FakePlatformControl
from fakeplatform.server import serve_in_thread
from gateway.credentials import encrypt_credentials
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import Channel
from tests.browser.conftest import LONDON
from tests.conftest import TEST_PASSWORD, AuthActions
from tests.notifications.conftest import LEADS, Inbox, free_port
from workers.worker import build_worker

X_ACCOUNT = "1500000000000000099"
X_CREDENTIALS = {
    "consumer_key": "ck-emergency",
    "consumer_secret": "cs-emergency-secret",
    "access_token": f"{X_ACCOUNT}-at-emergency",
    "access_token_secret": "ats-emergency-secret",
}
PAGE_ID = "104000000000099"
PAGE_TOKEN = "EAAEmergencyPageToken"
#: 3am on Wednesday 10 March 2027 in London: outside office hours (09:00-17:00 on weekdays).
NIGHT = datetime(2027, 3, 10, 3, 0, tzinfo=LONDON)
#: Viewports: a small phone (iPhone SE's CSS size) and a desktop.
PHONE = {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1200, "height": 900}}
FLOOD = "Flood warning: the river Swale is rising at Saltmarsh. Avoid the quayside road tonight."
ROAD = "The A249 is closed northbound at Bobbing after a collision. Please use the A2 instead."


@pytest.fixture
def night():
    with time_machine.travel(NIGHT, tick=True) as traveller:
        yield traveller


@pytest.fixture(scope="module")
def fake_server():
    base_url, stop = serve_in_thread()
    yield base_url
    stop()


def serve_with_waitress(app):
    """The gateway under waitress, the server ``gateway web`` runs, in a thread of this process
    (so it shares the test's clock). waitress closes each response as soon as it is written,
    which is when the emergency email goes."""
    server = create_server(app, host="127.0.0.1", port=0, threads=4, ident="gateway")
    thread = threading.Thread(target=server.run, name="gateway-web", daemon=True)
    thread.start()

    def stop():
        server.close()
        server.task_dispatcher.shutdown()
        thread.join(timeout=5)

    return f"http://127.0.0.1:{server.effective_port}", stop


@pytest.fixture
def inbox(app):
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port, EMERGENCY_NOTIFY_EMAILS=LEADS
    )
    yield handler
    controller.stop()


@pytest.fixture
def site(app, night, fake_server, inbox):
    """The gateway on http://localhost:PORT, X and Facebook channels on the fake platform, a
    duty officer and an officer who reviews."""
    base_url, stop = serve_with_waitress(app)
    port = base_url.rsplit(":", 1)[1]
    app.config["SERVER_NAME"] = f"localhost:{port}"
    app.config["PUBLIC_URL"] = f"http://localhost:{port}"
    with FakePlatformControl(fake_server) as control:
        control.reset()
        control.register_account("x", X_ACCOUNT, X_CREDENTIALS, name="Council", username="council")
        control.register_account("facebook", PAGE_ID, {"access_token": PAGE_TOKEN}, name="Council")
    with app.app_context():
        for platform, name, account, creds in [
            ("x", "Swale on X", X_ACCOUNT, X_CREDENTIALS),
            ("facebook", "Swale Facebook Page", PAGE_ID, {"access_token": PAGE_TOKEN}),
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
        "duty": auth.create_user(Role.DUTY_OFFICER, email="dee.duty@swale.example")[1],
        "reviewer": auth.create_user(Role.OFFICER, email="rob.reviewer@swale.example")[1],
    }
    yield f"http://localhost:{port}", people
    stop()


class Officer:
    """One officer's browser, signed in through the sign-in form; console errors, failed
    resources and page errors fail the test when it closes."""

    def __init__(self, browser, base_url, email, axe, screenshots, device):
        self.context = browser.new_context(**device)
        self.page = self.context.new_page()
        self.base_url, self.axe, self.screenshots = base_url, axe, screenshots
        self.problems: list[str] = []
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
        self.page.goto(f"{base_url}/sign-in")
        self.page.fill("#email", email)
        self.page.fill("#password", TEST_PASSWORD)
        self.page.get_by_role("button", name="Sign in", exact=True).click()
        self.page.wait_for_url(f"{base_url}/")

    def check(self, name: str, *, shot: bool = False) -> None:
        self.axe.check(self.page, name)
        if shot:
            self.page.screenshot(path=str(self.screenshots / f"{name}.png"), full_page=True)

    def fits_the_screen(self) -> bool:
        """Nothing wider than the viewport: no sideways scrolling on a phone."""
        return self.page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )

    def main_text(self) -> str:
        return self.page.locator("main").inner_text()

    def close(self) -> None:
        self.context.close()
        assert not self.problems, self.problems


@pytest.mark.parametrize(
    ("device", "text", "shot"),
    [(PHONE, FLOOD, True), (DESKTOP, ROAD, False)],
    ids=["phone", "desktop"],
)
def test_a_duty_officer_posts_an_emergency_at_3am(
    app, site, fake_server, inbox, browser, axe, screenshots, device, text, shot
):
    base_url, people = site
    duty = Officer(browser, base_url, people["duty"], axe, screenshots, device)
    page = duty.page
    response = page.goto(f"{base_url}/emergency")
    assert response.status == 200
    duty.check("emergency-form")
    assert duty.fits_the_screen()
    # Every enabled channel is chosen already: at 3am there is no time to tick boxes.
    assert page.locator("input[name='channels']:checked").count() == 2

    page.get_by_label("Flooding" if text == FLOOD else "Road closure or traffic incident").check()
    page.fill("#text", text)
    duty.check("emergency-form-filled")
    if shot:  # the README's picture: the form as a duty officer sees it on a phone
        page.screenshot(path=str(screenshots / "emergency-form.png"), full_page=True)
    page.get_by_role("button", name="Post now", exact=True).click()
    page.wait_for_url(re.compile(rf"{re.escape(base_url)}/posts/\d+$"))
    assert "going out now" in page.locator(".govuk-notification-banner").inner_text()
    post_path = page.url.removeprefix(base_url)

    # A worker takes it from the emergency queue and publishes it to the fake platform.
    build_worker(app).work(burst=True)
    with FakePlatformControl(fake_server) as fake:
        x, facebook = fake.posts("x"), fake.posts("facebook")
    assert [p["text"] for p in x] == [text]
    assert [p["text"] for p in facebook] == [text]

    # The communications team's leads are told, once the page has gone to the officer.
    for _ in range(100):  # a wait for the mail thread, not a timing check
        if len(inbox.messages) >= len(LEADS):
            break
        page.wait_for_timeout(100)
    assert sorted(r for rcpts, _ in inbox.messages for r in rcpts) == sorted(LEADS)
    assert all(text[:40] in m.get_content() for _, m in inbox.messages)

    # The officer sees it published, with its link on each platform.
    page.reload()
    main = duty.main_text()
    assert "Published" in main, main
    links = page.locator("a:has-text('View on')")
    assert links.count() == 2
    assert all(links.nth(i).get_attribute("href") for i in range(2))
    duty.check("emergency-published")
    assert duty.fits_the_screen()
    duty.close()

    # Another officer reviews it from the review list; the author could not have.
    reviewer = Officer(browser, base_url, people["reviewer"], axe, screenshots, device)
    assert reviewer.page.goto(f"{base_url}/emergency/reviews").status == 200
    reviewer.check("emergency-reviews", shot=not shot)
    assert text in reviewer.main_text()
    # Posted at 3am on Wednesday 10 March by the server's clock too: due the next working day.
    assert "Due 11 March 2027" in reviewer.main_text()
    post_id = post_path.rsplit("/", 1)[1]
    reviewer.page.check(f"#outcome-{post_id}-reviewed")
    reviewer.page.get_by_role("button", name="Record review", exact=True).click()
    reviewer.page.wait_for_url(f"{base_url}/emergency/reviews")
    assert "Review recorded" in reviewer.page.locator(".govuk-notification-banner").inner_text()
    assert "no emergency posts waiting" in reviewer.main_text()
    reviewer.check("emergency-reviews-done")
    reviewer.close()
    axe.assert_clean()

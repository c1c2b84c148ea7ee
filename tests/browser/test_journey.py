"""The officers' journey in real Chromium (issue 6): officer A drafts a post with an image and
alt text, sees a guardrail block and fixes the text, submits; A is not offered Approve; officer B
approves; the worker publishes it to the fake platform; A sees it published with its link.
axe-core runs on every page of the journey and on the admin pages."""

from __future__ import annotations

import io
import re
from datetime import datetime

import pytest
from PIL import Image

from gateway.domain.roles import Role
from gateway.publishing.release import release_due
from tests.browser.conftest import LONDON, Window
from workers.worker import build_worker

BLOCKED = "Found a cat? Please call Jenny on 07700 900461 if you see her."
FIXED = "Found a ginger cat near the library? Please tell our animal welfare team."
#: After the post's time (Wednesday 10 March 2027, 10:30 in London).
AFTER_DUE = datetime(2027, 3, 10, 10, 31, tzinfo=LONDON)


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), (200, 120, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def site(live_site, clock):
    """The gateway with Harbourside's two channels, two officers and an admin."""
    return live_site(
        "Harbourside",
        {
            "a": (Role.OFFICER, "ann.author@harbourside.example"),
            "b": (Role.OFFICER, "bo.approver@harbourside.example"),
            "admin": (Role.ADMIN, "ade.admin@harbourside.example"),
        },
    )


def test_the_officers_journey(app, site, browser, axe, screenshots, clock):
    base_url, people = site
    a = Window(browser, base_url, people["a"], axe, screenshots)
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

    # A fixes the text and submits. Nothing was saved (issue 22), so A chooses the image again
    # (a browser never refills a file input); its alt text was kept in the form.
    assert page.locator("h1").inner_text() == "New post"
    assert page.input_value("#images-0-alt_text") == "A ginger cat sitting on a library step"
    page.fill("#text", FIXED)
    page.set_input_files(
        "#images-0-file", files=[{"name": "cat.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}]
    )
    page.get_by_role("button", name="Submit for approval", exact=True).click()
    page.wait_for_load_state()
    assert re.search(r"/posts/\d+$", page.url), (page.url, page.locator("main").inner_text())
    post_path = page.url.removeprefix(base_url)
    assert "Awaiting approval" in page.locator("main").inner_text()
    a.check("post-awaiting")

    # A is not offered Approve, and the page says why (the server refuses it anyway:
    # tests/web/test_posts.py posts it regardless).
    assert page.get_by_role("button", name="Approve", exact=True).count() == 0
    assert "You cannot approve your own post" in page.locator("#approve-refusal").inner_text()

    # B approves it from the queue.
    b = Window(browser, base_url, people["b"], axe, screenshots)
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
    links = page.locator("table a:has-text('View on')")
    assert links.count() == 2
    hrefs = [links.nth(i).get_attribute("href") for i in range(2)]
    assert all(hrefs)
    # Each channel's "Published" in the history links to the same pages (issue 22).
    history = page.locator("#history a:has-text('View on')")
    assert sorted(history.nth(i).get_attribute("href") for i in range(history.count())) == sorted(
        hrefs
    )
    a.check("post-published", shot=True)

    a.go("/schedule?start=2027-03-08", "schedule-week")
    a.check("schedule-week", shot=True)
    a.go("/schedule/month?month=2027-03", "schedule-month")
    a.go("/", "dashboard-after")
    a.close()
    b.close()

    admin = Window(browser, base_url, people["admin"], axe, screenshots)
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

"""A blocked "Submit for approval" on the new-post page leaves no draft behind (issue 22, item 4):
the officer stays on the new-post page with the GOV.UK error summary, and the post is saved
only when they choose "Save as draft"."""

from __future__ import annotations

from sqlalchemy import func, select

from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import Post
from tests.browser.conftest import Window

BLOCKED = "Found a cat? Please call Jenny on 07700 900461 if you see her."


def _posts(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Post))


def test_a_blocked_submit_saves_nothing_until_the_officer_saves_a_draft(
    app, live_site, browser, axe, screenshots, clock
):
    base_url, people = live_site(
        "Harbourside", {"a": (Role.OFFICER, "ann.author@harbourside.example")}
    )
    a = Window(browser, base_url, people["a"], axe, screenshots)
    page = a.page
    before = _posts(app)
    a.go("/posts/new", "new-post")
    page.fill("#text", BLOCKED)
    page.check("label:has-text('Harbourside on X')")
    page.fill("#publish_date-day", "10")
    page.fill("#publish_date-month", "3")
    page.fill("#publish_date-year", "2027")
    page.fill("#publish_time", "10:30am")
    for _ in range(2):  # pressed twice, as an officer who thinks it did not work would
        page.get_by_role("button", name="Submit for approval", exact=True).click()
        summary = page.locator(".govuk-error-summary")
        summary.wait_for()
        assert "cannot be submitted" in summary.inner_text()
        assert "Nothing was saved" in summary.inner_text()
        assert page.title().startswith("Error: ")
        assert page.locator("h1").inner_text() == "New post"
        assert page.url == f"{base_url}/posts/new"
        assert page.input_value("#text") == BLOCKED  # what was typed is still there
        assert _posts(app) == before
    a.check("new-post-blocked")

    page.get_by_role("button", name="Save as draft", exact=True).click()
    page.wait_for_url(f"{base_url}/posts/*/edit")
    assert "Draft saved" in page.locator(".govuk-notification-banner").inner_text()
    assert _posts(app) == before + 1
    a.close()
    axe.assert_clean()

"""The emergency path in real Chromium (issue 7's Tests): at 3am, outside office hours, a duty
officer signs in through the sign-in form, fills in the emergency form on a phone and on a
desktop, posts, and sees the post arrive on the fake platform and its status; another officer
reviews it from the review list. axe-core runs on the emergency form and the review list.

The clock is moved the way the other tests move it (time_machine): the gateway is served from a
thread of this process, so the server's clock is the test's.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest
import time_machine

from fakeplatform.client import FakePlatformControl
from gateway.domain.roles import Role
from tests.browser.conftest import DESKTOP, LONDON, Window
from tests.support.smtp import LEADS
from workers.worker import build_worker

#: 3am on Wednesday 10 March 2027 in London: outside office hours (09:00-17:00 on weekdays).
NIGHT = datetime(2027, 3, 10, 3, 0, tzinfo=LONDON)
#: Viewports: a small phone (iPhone SE's CSS size) and a desktop.
PHONE = {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True}
FLOOD = "Flood warning: the river Swale is rising at Saltmarsh. Avoid the quayside road tonight."
ROAD = "The A249 is closed northbound at Bobbing after a collision. Please use the A2 instead."


@pytest.fixture
def night():
    with time_machine.travel(NIGHT, tick=True) as traveller:
        yield traveller


@pytest.fixture
def site(live_site, night, inbox):
    """The gateway with Swale's two channels, a duty officer and an officer who reviews."""
    return live_site(
        "Swale",
        {
            "duty": (Role.DUTY_OFFICER, "dee.duty@swale.example"),
            "reviewer": (Role.OFFICER, "rob.reviewer@swale.example"),
        },
    )


@pytest.mark.parametrize(
    ("device", "text", "shot"),
    [(PHONE, FLOOD, True), (DESKTOP, ROAD, False)],
    ids=["phone", "desktop"],
)
def test_a_duty_officer_posts_an_emergency_at_3am(
    app, site, fake_server, inbox, browser, axe, screenshots, device, text, shot
):
    base_url, people = site
    duty = Window(browser, base_url, people["duty"], axe, screenshots, device)
    page = duty.page
    # A duty officer who is not an officer lands on the emergency form (issue 22).
    assert page.url == f"{base_url}/emergency"
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
    links = page.locator("table a:has-text('View on')")
    assert links.count() == 2
    hrefs = [links.nth(i).get_attribute("href") for i in range(2)]
    assert all(hrefs)
    # Each channel's "Published" in the history links to the same pages (issue 22).
    history = page.locator("#history a:has-text('View on')")
    assert sorted(history.nth(i).get_attribute("href") for i in range(history.count())) == sorted(
        hrefs
    )
    duty.check("emergency-published")
    assert duty.fits_the_screen()
    duty.close()

    # Another officer reviews it from the review list; the author could not have.
    reviewer = Window(browser, base_url, people["reviewer"], axe, screenshots, device)
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


def test_an_emergency_leaves_out_a_channel_that_cannot_take_it(
    app, live_site, night, fake_server, browser, axe, screenshots
):
    # Issue 22: Instagram, ticked by default, cannot take a post with no image. It is left
    # out with a note on its check box; X and Facebook get the flood warning at once.
    from fakeplatform.client import FakePlatformControl
    from tests.platforms.accounts import IG_TOKEN, IG_USER
    from tests.support.channels import ChannelSpec, add_channels

    base_url, people = live_site("Swale", {"duty": (Role.DUTY_OFFICER, "dee.duty@swale.example")})
    with FakePlatformControl(fake_server) as control:
        control.register_account("instagram", IG_USER, {"access_token": IG_TOKEN}, name="Swale")
    add_channels(
        app,
        fake_server,
        [ChannelSpec("instagram", "Swale Instagram", IG_USER, {"access_token": IG_TOKEN})],
    )
    duty = Window(browser, base_url, people["duty"], axe, screenshots, PHONE)
    page = duty.page
    assert page.url == f"{base_url}/emergency"  # straight to the form, on a phone
    assert page.locator("input[name='channels']:checked").count() == 3
    page.get_by_label("Flooding").check()
    page.fill("#text", FLOOD)

    page.get_by_role("button", name="Check it first", exact=True).click()
    page.wait_for_load_state()
    instagram = page.get_by_label("Swale Instagram (Instagram)")
    note = page.locator(f"#{instagram.get_attribute('aria-describedby')}").inner_text()
    assert "Left out" in note and "Instagram posts need an image" in note
    assert page.locator("#text-error").count() == 0  # on the channel, not the text
    duty.check("emergency-channel-left-out")
    assert duty.fits_the_screen()

    page.get_by_role("button", name="Post now", exact=True).click()
    page.wait_for_url(re.compile(rf"{re.escape(base_url)}/posts/\d+$"))
    banner = page.locator(".govuk-notification-banner").inner_text()
    assert "going out now on" in banner and "Left out: Swale Instagram" in banner
    build_worker(app).work(burst=True)
    with FakePlatformControl(fake_server) as fake:
        assert [p["text"] for p in fake.posts("x")] == [FLOOD]
        assert [p["text"] for p in fake.posts("facebook")] == [FLOOD]
        assert fake.posts("instagram") == []
    page.reload()
    row = page.locator("tr", has_text="Swale Instagram").inner_text()
    assert "Skipped" in row and "Left out: Instagram posts need an image" in row
    duty.check("emergency-skipped-channel")
    assert duty.fits_the_screen()
    duty.close()
    axe.assert_clean()


def test_a_duty_officer_starts_from_the_bilingual_template_on_a_phone(
    app, live_site, night, fake_server, browser, axe, screenshots
):
    # Issue 18: the admin's prepared Welsh and English flood warning fills both boxes at 3am;
    # both go out together, Welsh first.
    from fakeplatform.client import FakePlatformControl
    from gateway.extensions import db
    from gateway.models import EmergencyTemplate

    app.config["BILINGUAL"] = "cy-en"
    app.config["BILINGUAL_LAYOUT"] = "combined"
    welsh = "Rhybudd llifogydd: mae'r afon yn codi. Osgowch ffordd y cei heno."
    english = "Flood warning: the river is rising. Avoid the quayside road tonight."
    with app.app_context():
        db.session.add(EmergencyTemplate(category="flooding", text_cy=welsh, text_en=english))
        db.session.commit()
    base_url, people = live_site("Swale", {"duty": (Role.DUTY_OFFICER, "dee.duty@swale.example")})
    duty = Window(browser, base_url, people["duty"], axe, screenshots, PHONE)
    page = duty.page
    assert page.url == f"{base_url}/emergency"
    page.locator("#emergency-templates").get_by_role("link", name="Flooding").click()
    page.wait_for_load_state()
    assert page.input_value("#text_cy") == welsh
    assert page.input_value("#text") == english
    assert page.get_by_label("Flooding").is_checked()
    duty.check("emergency-from-template")
    assert duty.fits_the_screen()
    page.fill("#text", english + " Updates at 6am.")
    page.get_by_role("button", name="Post now", exact=True).click()
    page.wait_for_url(re.compile(rf"{re.escape(base_url)}/posts/\d+$"))
    build_worker(app).work(burst=True)
    with FakePlatformControl(fake_server) as fake:
        facebook = [p["text"] for p in fake.posts("facebook")]
    assert facebook == [f"{welsh}\n\n{english} Updates at 6am."]
    duty.close()
    axe.assert_clean()

"""Live checks as an officer types (issue 22, item 3), in real Chromium: each chosen channel's
remaining characters as its platform counts them, the guardrails' findings and a preview per
platform (with the chosen image) all change while typing, before anything is submitted, and
nothing is saved by them. axe-core runs on the form as the checks have filled it in."""

from __future__ import annotations

import io
from datetime import date

from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import func, select

from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import AuditEntry, Channel, Delivery, Election, Post
from tests.browser.conftest import Window

#: Naming a party: blocked inside a pre-election period.
PARTY = " The Labour Party group visited the depot today."
BINS = "Bins are collected on Wednesday this week."
LINK = " Details at https://www.harbourside.gov.uk/bins/this-week-and-next"


def _rows(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Post, Delivery, AuditEntry)
        )


def _channel_ids(app) -> dict[str, int]:
    with app.app_context():
        return {c.platform: c.id for c in db.session.scalars(select(Channel))}


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (20, 110, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_counts_findings_and_previews_change_while_typing_and_nothing_is_saved(
    app, live_site, browser, axe, screenshots, clock
):
    base_url, people = live_site(
        "Harbourside", {"a": (Role.OFFICER, "ann.author@harbourside.example")}
    )
    with app.app_context():
        db.session.add(Election(kind="local", polling_day=date(2027, 4, 1)))
        db.session.commit()
    ids = _channel_ids(app)
    a = Window(browser, base_url, people["a"], axe, screenshots)
    page = a.page
    a.go("/posts/new", "new-post")
    before = _rows(app)
    form = page.locator("form[data-live-check]")
    expect(form).to_have_attribute("data-live-state", "ready")

    # X ticked, then typed: X's own limit counts down, not Facebook's 63,206.
    page.get_by_label("Harbourside on X (X)").check()
    x_count = page.locator(f"#count-{ids['x']}")
    expect(x_count).to_contain_text("you have 280 characters remaining")
    page.locator("#text").press_sequentially(BINS)
    expect(x_count).to_contain_text(f"you have {280 - len(BINS)} characters remaining")
    expect(page.locator("#live-findings")).to_contain_text("found nothing to change")

    # A link weighs 23 on X whatever its length; Facebook counts every character.
    page.get_by_label("Harbourside Facebook Page (Facebook Page)").check()
    page.locator("#text").press_sequentially(LINK)
    x_left = 280 - len(BINS) - len(" Details at ") - 23
    expect(x_count).to_contain_text(f"you have {x_left} characters remaining")
    facebook_left = 63_206 - len(BINS + LINK)
    expect(page.locator(f"#count-{ids['facebook']}")).to_contain_text(
        f"you have {facebook_left:,} characters remaining"
    )

    # A party named in the pre-election period: the finding appears, with its policy, unsent.
    page.locator("#text").press_sequentially(PARTY)
    findings = page.locator("#live-findings")
    expect(findings).to_contain_text("Blocked:")
    expect(findings).to_contain_text("names a political party")
    expect(findings).to_contain_text("Policy:")
    assert findings.get_attribute("aria-live") == "polite"
    previews = page.locator("#live-previews")
    expect(previews).to_contain_text("Harbourside on X (X)")
    expect(previews).to_contain_text("The Labour Party group visited the depot today.")

    # An image chosen with its alt text: its thumbnail is in each platform's preview.
    page.set_input_files(
        "#images-0-file", files=[{"name": "depot.png", "mimeType": "image/png", "buffer": _png()}]
    )
    page.fill("#images-0-alt_text", "The depot yard with two bin lorries parked")
    thumbnails = previews.locator("img.app-post-preview__image")
    expect(thumbnails).to_have_count(2)
    assert thumbnails.first.get_attribute("src").startswith("data:image/jpeg")
    expect(thumbnails.first).to_have_attribute("alt", "The depot yard with two bin lorries parked")

    a.check("new-post-live-checks", shot=True)

    # Unticking X: its counter and preview go.
    page.get_by_label("Harbourside on X (X)").uncheck()
    expect(x_count).to_have_count(0)
    expect(thumbnails).to_have_count(1)

    a.check("new-post-live-checks-facebook-only")
    assert page.url == f"{base_url}/posts/new"
    assert _rows(app) == before  # no post, no delivery, no audit entry
    a.close()
    axe.assert_clean()


def test_the_emergency_form_says_live_which_channel_is_left_out(
    app, live_site, browser, axe, screenshots, clock
):
    base_url, people = live_site(
        "Harbourside", {"duty": (Role.DUTY_OFFICER, "dee.duty@harbourside.example")}
    )
    ids = _channel_ids(app)
    duty = Window(browser, base_url, people["duty"], axe, screenshots)
    page = duty.page
    duty.go("/emergency", "emergency-form")
    before = _rows(app)
    page.get_by_label("Flooding").check()
    # Over X's 280 as X counts it (each of these characters weighs 2): X would be left out,
    # the Facebook Page still gets it.
    page.locator("#text").press_sequentially("Flood warning: " + "\u6c34" * 140)
    x_count = page.locator(f"#count-{ids['x']}")
    expect(x_count).to_contain_text("characters too many")
    expect(x_count).to_contain_text("Left out:")
    expect(page.locator(f"#count-{ids['facebook']}")).to_contain_text("characters remaining")
    expect(page.locator("#live-findings")).to_contain_text("Checked for now")
    duty.check("emergency-form-live-checks")
    assert _rows(app) == before
    duty.close()
    axe.assert_clean()


def test_a_bilingual_form_checks_the_welsh_text_while_typing(
    app, live_site, browser, axe, screenshots, clock
):
    # Issue 18: the Welsh text is checked with the English, each planned post counted: a
    # private number in the Welsh only is found, named as the Welsh text's, and nothing saved.
    app.config["BILINGUAL"] = "cy-en"
    app.config["BILINGUAL_LAYOUT"] = "combined"
    base_url, people = live_site(
        "Harbourside", {"a": (Role.OFFICER, "ann.author@harbourside.example")}
    )
    ids = _channel_ids(app)
    a = Window(browser, base_url, people["a"], axe, screenshots)
    page = a.page
    a.go("/posts/new", "new-post-bilingual")
    before = _rows(app)
    expect(page.locator("form[data-live-check]")).to_have_attribute("data-live-state", "ready")
    page.get_by_label("Harbourside on X (X)").check()
    welsh = "Bydd biniau'n cael eu casglu ddydd Mercher."
    page.locator("#text_cy").press_sequentially(welsh)
    # Only the Welsh written so far: counted alone, as the Welsh post.
    expect(page.locator(f"#count-{ids['x']}-cy")).to_contain_text(
        f"you have {280 - len(welsh)} characters remaining"
    )
    page.locator("#text").press_sequentially(BINS)
    # Both fit X together: one bilingual post, counted with the blank line between them.
    both = f"#count-{ids['x']}-cy-en"
    expect(page.locator(both)).to_contain_text(
        f"you have {280 - len(welsh) - 2 - len(BINS)} characters remaining"
    )
    page.locator("#text_cy").press_sequentially(" Ffoniwch Siân ar 07700 900461.")
    findings = page.locator("#live-findings")
    expect(findings).to_contain_text("Welsh text")
    expect(findings).to_contain_text("07700 900461")
    expect(page.locator("#live-previews [lang=cy]")).to_contain_text("Ffoniwch Siân")
    a.check("new-post-bilingual-live")
    assert _rows(app) == before
    a.close()
    axe.assert_clean()

"""Dashboard, schedule and the shape of every page; output escaping everywhere (issue 6)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from gateway.extensions import db
from gateway.models import ClosureDay, Election, Post
from tests.web.conftest import CLEAN_TEXT, png
from tests.web.helpers import get, submit

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _draft(client, channels, text=CLEAN_TEXT, day="10", button="save", **extra):
    page = get(client, "/posts/new")
    fields = {
        "text": text,
        "channels": [str(channels["x"])],
        "publish_date": [day, "3", "2027"],
        "publish_time": "11:00",
    }
    fields.update(extra)
    response = submit(client, page, fields, button=("action", button))
    assert response.status == 302, response.errors()
    return int(response.response.headers["Location"].split("/")[2])


def test_the_dashboard_counts_each_section(app, people, channels):
    a, b = people["a"], people["b"]
    _draft(a, channels)
    waiting = _draft(a, channels, button="submit")
    _draft(b, channels, button="submit")
    board = get(a, "/")
    counts = {
        node["data-count"]: int(node.get_text()) for node in board.soup.select("[data-count]")
    }
    assert counts["drafts"] == 1
    assert counts["mine-awaiting"] == 1
    assert counts["to-approve"] == 1  # B's post, never A's own
    submit(b, get(b, f"/posts/{waiting}"), action=f"/posts/{waiting}/approve")
    counts_after = {
        node["data-count"]: int(node.get_text()) for node in get(a, "/").soup.select("[data-count]")
    }
    assert counts_after["mine-awaiting"] == 0
    assert counts_after["week"] == 1  # Wednesday of this week
    assert counts_after["today"] == 0


def test_the_schedule_shows_posts_holidays_closures_and_pre_election_periods(app, people, channels):
    a = people["a"]
    post_id = _draft(a, channels)
    with app.app_context():
        db.session.add(ClosureDay(day=date(2027, 3, 12), reason="Staff training"))
        db.session.add(Election(kind="local", polling_day=date(2027, 5, 6)))
        db.session.commit()
    week = get(a, "/schedule?start=2027-03-08")
    cell_text = week.text()
    assert f"/posts/{post_id}" in week.html
    assert "Closed: Staff training" in cell_text
    assert "Pre-election period" not in cell_text  # the assumed period starts in late March
    # Good Friday 2027 is 26 March, Easter Monday 29 March: bank holidays.
    easter = get(a, "/schedule?start=2027-03-29")
    assert "Bank holiday" in easter.text()
    assert "Pre-election period" in easter.text()
    month = get(a, "/schedule/month?month=2027-03")
    assert f"/posts/{post_id}" in month.html
    assert month.text().count("Bank holiday") >= 2  # Good Friday and Easter Monday
    # Nonsense in the address gives this week, not an error.
    assert get(a, "/schedule?start=not-a-date").status == 200
    assert get(a, "/schedule/month?month=99999-99").status == 200


def test_every_page_has_one_h1_a_matching_title_and_unique_ids(app, people, channels):
    a, admin = people["a"], people["admin"]
    post_id = _draft(a, channels)
    for client, url in [
        (a, "/"),
        (a, "/posts/new"),
        (a, f"/posts/{post_id}"),
        (a, f"/posts/{post_id}/edit"),
        (a, "/approvals"),
        (a, "/schedule"),
        (a, "/schedule/month"),
        (admin, "/admin/"),
        (admin, "/admin/users"),
        (admin, "/admin/users/new"),
        (admin, "/admin/channels"),
        (admin, "/admin/channels/new"),
        (admin, f"/admin/channels/{channels['x']}"),
        (admin, "/admin/elections"),
        (admin, "/admin/elections/new"),
        (admin, "/admin/register"),
        (admin, "/admin/contacts"),
        (admin, "/admin/closures"),
        (admin, "/admin/api-tokens"),
        (a, "/account/api-tokens"),
    ]:
        page = get(client, url)  # get() checks the shape
        assert page.soup.select_one("link[href$='gateway.css']") is not None, url
        # No inline script or style: the Content-Security-Policy allows this site's files only.
        assert not [s for s in page.soup.find_all("script") if not s.get("src")], url
        assert not page.soup.find_all(style=True), url


def test_an_auditor_reads_posts_but_has_no_buttons(app, people, channels):
    post_id = _draft(people["a"], channels)
    page = get(people["auditor"], f"/posts/{post_id}")
    assert page.soup.select("main form") == []
    assert people["auditor"].get("/posts/new").status_code == 403


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_html_and_script_typed_anywhere_appear_as_text(app, people, channels):
    a, b, admin = people["a"], people["b"], people["admin"]
    page = get(a, "/posts/new")
    response = submit(
        a,
        page,
        {
            "text": f"Road closed {HOSTILE}",
            "channels": [str(channels["x"])],
            "publish_date": ["10", "3", "2027"],
            "publish_time": "11:00",
            "images-0-alt_text": f"A map {HOSTILE}",
        },
        files={"images-0-file": (png(), f"map{HOSTILE}.png")},
        button=("action", "submit"),
    )
    assert response.status == 302, response.errors()
    with app.app_context():
        post_id = db.session.scalars(select(Post.id)).one()
    page = get(b, f"/posts/{post_id}")
    submit(b, page, {"reject-reason": f"No {HOSTILE}"}, action=f"/posts/{post_id}/reject")
    # A channel and a contact note with markup in them, too.
    submit(
        admin,
        get(admin, "/admin/contacts"),
        {"kind": "email-domain", "value": "harbourside.gov.uk", "note": HOSTILE},
        selector="#add-contact",
    )
    with app.app_context():
        from gateway.models import Channel

        db.session.get(Channel, channels["x"]).display_name = f"X {HOSTILE}"
        db.session.commit()
    pages = [
        get(a, "/"),
        get(a, f"/posts/{post_id}"),
        get(a, f"/posts/{post_id}/edit"),
        get(a, "/schedule?start=2027-03-08"),
        get(a, "/schedule/month?month=2027-03"),
        get(admin, "/admin/contacts"),
        get(admin, "/admin/channels"),
    ]
    for page in pages:
        assert "<script>alert" not in page.html
        assert "<img src=x" not in page.html
        assert not page.soup.find_all(onerror=True)
        assert not [s for s in page.soup.find_all("script") if not s.get("src")]
    post_page = pages[1]
    assert "<script>" in post_page.soup.select_one("#post-text").get_text()  # shown as text
    assert "<script>" in post_page.soup.select_one("#rejection-reason").get_text()
    assert re.search(r"&lt;script&gt;", post_page.html)
    assert "<script>" in pages[5].text()


def test_two_messages_on_one_page_each_have_their_own_banner_title(people):
    # Two flashes at once (say an approval and a warning) must not give two elements one id:
    # each banner is labelled by its own title (get() fails a page with duplicate ids).
    a = people["a"]
    with a.session_transaction() as session:
        session["_flashes"] = [("message", "Approved."), ("message", "Check the channel.")]
    page = get(a, "/")
    banners = page.soup.select(".govuk-notification-banner")
    assert [
        b.select_one(".govuk-notification-banner__content").get_text(strip=True) for b in banners
    ] == ["Approved.", "Check the channel."]
    titles = [b["aria-labelledby"] for b in banners]
    assert len(set(titles)) == 2
    for banner, title in zip(banners, titles, strict=True):
        assert banner.select_one(f"#{title}") is not None

"""A published post's page (issue 22, item 7): when it went out, a link on every channel
(Instagram's too), pointing in training at the fake platform's page for the post; and its
history names each channel's "Published", with the time and the link."""

from __future__ import annotations

from datetime import timedelta

import requests
from sqlalchemy import select

from gateway.extensions import db
from gateway.models import Delivery
from gateway.posts.service import NewImage
from gateway.web.display import london
from tests.conftest import AuthActions
from tests.platforms.accounts import JPEG
from tests.publishing.conftest import approved_post, post_status
from tests.web.helpers import get
from workers.worker import build_worker

TEXT = "The library reopens on Monday at 9am after its new roof."


def _author_client(app, client):
    client.environ_base["HTTP_REFERER"] = "https://localhost/"
    signed = AuthActions(app, client).sign_in("author@council.example")
    assert signed.status_code == 302
    return client


def _published(app, post_id):
    with app.app_context():
        return {
            d.channel.platform: (d.platform_url, d.published_at, d.channel.display_name)
            for d in db.session.scalars(select(Delivery).where(Delivery.post_id == post_id))
        }


def test_a_published_post_says_when_it_went_out_with_a_link_on_every_channel(
    app, client, clock, fake, fake_server, channels, officers, gateway_server
):
    image = NewImage("roof.jpg", "image/jpeg", JPEG, "The library's new slate roof")
    post_id = approved_post(
        app,
        officers,
        [channels["x"], channels["facebook"], channels["instagram"]],
        text=TEXT,
        images=[image],
    )
    page = get(_author_client(app, client), f"/posts/{post_id}")
    summary = page.soup.select_one(".govuk-summary-list").get_text(" ")
    assert "Goes out" in summary and "Went out" not in summary

    build_worker(app).work(burst=True)
    assert post_status(app, post_id) == "published"
    published = _published(app, post_id)

    # Every delivery has a link, Instagram's included, and in training each is the fake
    # platform's page for the post, which shows it; none is the real site.
    for platform, (url, _, _) in published.items():
        assert url and url.startswith(f"{fake_server}/_fake/posts/"), (platform, url)
        assert TEXT in requests.get(url, timeout=5).text
    posted = {p["platform"]: p["url"] for p in fake.posts()}
    assert posted == {platform: url for platform, (url, _, _) in published.items()}

    page = get(client, f"/posts/{post_id}")
    rows = {
        row.select_one("dt").get_text(strip=True): row.select_one("dd").get_text(" ", strip=True)
        for row in page.soup.select(".govuk-summary-list__row")
    }
    assert "Goes out" not in rows
    times = {london(at) for _, at, _ in published.values()}
    if len(times) == 1:
        assert rows["Went out"] == times.pop()
    else:  # each channel's own time, when the three fell either side of a minute
        for _, at, name in published.values():
            assert f"{name}: {london(at)}" in rows["Went out"]

    links = {a["href"] for a in page.soup.select("table.govuk-table a.govuk-link")}
    assert links == {url for url, _, _ in published.values()}
    assert "View on Instagram" in page.text()

    # The history: one "Published" a channel, with its time and its link, after the approval.
    history = page.soup.select_one("#history")
    entries = [li.get_text(" ", strip=True) for li in history.select("li")]
    approved_at = next(i for i, e in enumerate(entries) if e.startswith("Approved"))
    for _, (url, at, name) in published.items():
        [entry] = [li for li in history.select("li") if f"Published on {name}" in li.get_text()]
        text = entry.get_text(" ", strip=True)
        assert "by The gateway" in text
        # The log's time is the moment the outcome was recorded: the same minute, or the next.
        assert london(at) in text or london(at + timedelta(minutes=1)) in text
        assert entry.select_one("a")["href"] == url
        assert entries.index(text) > approved_at


def test_a_failed_channel_is_in_the_history_with_the_platforms_reason(
    app, client, clock, fake, channels, officers
):
    # X refuses the post (a 400 is final: no retry), so it never goes out.
    fake.inject_fault("error", platform="x", method="POST", status=400, times=None)
    post_id = approved_post(app, officers, [channels["x"]], text=TEXT)
    build_worker(app).work(burst=True)
    assert post_status(app, post_id) == "failed"
    page = get(_author_client(app, client), f"/posts/{post_id}")
    entry = next(
        li for li in page.soup.select("#history li") if "Failed on Council on X" in li.get_text()
    )
    assert "Reason:" in entry.get_text() and entry.select_one("a") is None
    rows = [dt.get_text(strip=True) for dt in page.soup.select(".govuk-summary-list__key")]
    assert "Was to go out" in rows and "Goes out" not in rows and "Went out" not in rows
    assert "Published on" not in page.soup.select_one("#history").get_text()

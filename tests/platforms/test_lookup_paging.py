"""The look-up after an unknown outcome reads every post since the attempt began (issue 19).

The Facebook and Instagram look-ups used to read one page of 50 posts: with more newer posts on
the account (a busy hour, a shared page) a post that was there was reported missing, and
following the held message's advice published it twice. Each look-up now pages back (Graph
cursor paging, X's next_token) and, when it cannot read far enough, says so (LookupIncomplete)
instead of answering "not there".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from gateway.platforms import DeliveryRequest, LookupIncomplete, MediaItem, OutcomeUnknown, graph, x
from tests.platforms.accounts import IG_USER, PAGE_ID, PAGE_TOKEN, X_ACCOUNT

#: More posts than one page of any platform's look-up (Graph and X: 100 at most a page).
BUSY = 230


def req(text: str, url: str | None = None) -> DeliveryRequest:
    media = (MediaItem(None, url, "image/jpeg", "A view of the high street"),) if url else ()
    return DeliveryRequest(delivery_id=11, attempt_id="d4", text=text, media=media)


def a_minute_ago() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=1)


def _lost_then_busy(fake, publisher, platform, image_server=None):
    """Our post is accepted but its answer lost; then BUSY other posts land on the account."""
    path = {"facebook": "/feed", "instagram": "/media_publish", "x": "/2/tweets"}[platform]
    fake.inject_fault("lost_answer", platform=platform, path_contains=path, method="POST")
    adapter = publisher(platform)
    url = f"{image_server}/photo.jpg" if platform == "instagram" else None
    with pytest.raises(OutcomeUnknown):
        adapter.publish(req("Leisure centre pool reopens on Monday.", url))
    (ours,) = fake.posts(platform)
    account = {"facebook": PAGE_ID, "instagram": IG_USER, "x": X_ACCOUNT}[platform]
    fake.seed_posts(platform, account, [f"Another team's post number {i}" for i in range(BUSY)])
    return adapter, ours["id"]


def test_the_fake_graph_api_pages_with_cursors(fake, fake_server):
    fake.seed_posts("facebook", PAGE_ID, [f"post {i}" for i in range(7)])
    url = f"{fake_server}/v23.0/{PAGE_ID}/feed"
    params = {"access_token": PAGE_TOKEN, "limit": 3, "fields": "id,message"}
    seen, pages = [], 0
    while url:
        answer = requests.get(url, params=params, timeout=5).json()
        seen += [item["message"] for item in answer["data"]]
        pages += 1
        assert set(answer["paging"]["cursors"]) == {"before", "after"}
        next_url = answer["paging"].get("next")
        if next_url:
            # Graph's next URL: the same query with the last item's cursor as ``after``
            assert next_url.startswith("https://graph.facebook.com/v23.0/")
            assert f"after={answer['paging']['cursors']['after']}" in next_url
            url, params = next_url.replace("https://graph.facebook.com", fake_server), {}
        else:
            url = None
    assert pages == 3
    assert seen == [f"post {i}" for i in reversed(range(7))]  # newest first, each once


def test_a_cursor_is_not_shifted_by_posts_made_while_paging(fake, fake_server):
    fake.seed_posts("facebook", PAGE_ID, [f"post {i}" for i in range(4)])
    url = f"{fake_server}/v23.0/{PAGE_ID}/feed"
    first = requests.get(url, params={"access_token": PAGE_TOKEN, "limit": 2}, timeout=5).json()
    fake.seed_posts("facebook", PAGE_ID, ["a new post at the top"])
    after = first["paging"]["cursors"]["after"]
    second = requests.get(
        url, params={"access_token": PAGE_TOKEN, "limit": 2, "after": after}, timeout=5
    ).json()
    assert [p["message"] for p in second["data"]] == ["post 1", "post 0"]


def test_facebook_finds_a_post_behind_more_than_a_page_of_newer_ones(fake, publisher):
    adapter, ours = _lost_then_busy(fake, publisher, "facebook")
    found = adapter.find_existing(req("Leisure centre pool reopens on Monday."), a_minute_ago())
    assert found is not None and found.platform_post_id == ours


def test_instagram_finds_a_post_behind_more_than_a_page_of_newer_ones(
    fake, publisher, image_server
):
    adapter, ours = _lost_then_busy(fake, publisher, "instagram", image_server)
    found = adapter.find_existing(req("Leisure centre pool reopens on Monday."), a_minute_ago())
    assert found is not None and found.platform_post_id == ours


def test_x_finds_a_post_behind_more_than_a_page_of_newer_ones(fake, publisher):
    adapter, ours = _lost_then_busy(fake, publisher, "x")
    found = adapter.find_existing(req("Leisure centre pool reopens on Monday."), a_minute_ago())
    assert found is not None and found.platform_post_id == ours


def test_a_post_that_is_not_there_is_not_found_after_reading_every_page(fake, publisher):
    fake.seed_posts("facebook", PAGE_ID, [f"Another team's post number {i}" for i in range(BUSY)])
    assert publisher("facebook").find_existing(req("Never posted"), a_minute_ago()) is None


@pytest.mark.parametrize(
    ("platform", "module"), [("facebook", graph), ("instagram", graph), ("x", x)]
)
def test_a_look_up_that_reaches_its_page_limit_says_it_cannot_be_sure(
    fake, publisher, image_server, monkeypatch, platform, module
):
    adapter, _ = _lost_then_busy(fake, publisher, platform, image_server)
    monkeypatch.setattr(module, "LOOKUP_MAX_PAGES", 2)  # 200 of the 231 posts
    with pytest.raises(LookupIncomplete):
        adapter.find_existing(req("Leisure centre pool reopens on Monday."), a_minute_ago())
    # ... but a post within the limit is still found
    assert adapter.find_existing(req("Another team's post number 229"), a_minute_ago())


def test_a_post_the_gateway_knows_is_another_deliverys_is_not_taken_for_this_one(fake, publisher):
    adapter = publisher("facebook")
    [earlier] = fake.seed_posts("facebook", PAGE_ID, ["Road closed on the A259 tonight."])
    text = req("Road closed on the A259 tonight.")
    assert adapter.find_existing(text, a_minute_ago()).platform_post_id == earlier
    assert adapter.find_existing(text, a_minute_ago(), exclude={earlier}) is None

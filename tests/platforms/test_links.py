"""Where each published post can be seen (issue 22, item 7): on the platform itself its real
address; in training (a channel pointed at the fake platform) the fake's own page for the post,
which shows it; on Instagram the permalink asked of the platform, since the publish answer
holds only the media id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from fakeplatform.pages import POST_PAGE_PATH
from gateway.platforms import (
    ChannelConfig,
    DeliveryRequest,
    MediaItem,
    OutcomeUnknown,
    adapter_for,
)
from gateway.platforms.adapter import PlatformAdapter
from gateway.platforms.base import FAKE_POST_PAGE_PATH
from tests.platforms.accounts import (
    IG_TOKEN,
    IG_USER,
    PAGE_ID,
    PAGE_TOKEN,
    X_ACCOUNT,
    X_CREDENTIALS,
)


def req(text: str, *media: MediaItem) -> DeliveryRequest:
    return DeliveryRequest(delivery_id=3, attempt_id="l1", text=text, media=media)


def _page(url: str) -> str:
    answer = requests.get(url, timeout=5)
    assert answer.status_code == 200, url
    assert answer.headers["Content-Type"].startswith("text/html")
    return answer.text


def test_the_gateway_and_the_fake_agree_on_where_a_post_page_is():
    assert FAKE_POST_PAGE_PATH == POST_PAGE_PATH


@pytest.mark.parametrize("platform", ["x", "facebook", "instagram"])
def test_in_training_every_link_is_the_fake_platforms_page_showing_the_post(
    platform, fake, fake_server, publisher, image_server
):
    text = f"Library opening hours change on Monday ({platform})."
    media = (MediaItem(None, f"{image_server}/photo.jpg", "image/jpeg", "The library"),)
    ref = publisher(platform).publish(req(text, *media) if platform == "instagram" else req(text))

    assert ref.url == f"{fake_server}/_fake/posts/{ref.platform_post_id}"
    assert "x.com" not in ref.url and "facebook.com" not in ref.url
    (post,) = fake.posts(platform)
    assert post["url"] == ref.url  # the fake's own permalink: the same page
    page = _page(ref.url)
    assert text in page and "Training" in page


def test_an_instagram_post_found_after_a_lost_answer_has_its_link_too(
    fake, fake_server, publisher, image_server
):
    fake.inject_fault("lost_answer", account_id=IG_USER, path_contains="/media_publish")
    adapter = publisher("instagram")
    with pytest.raises(OutcomeUnknown):
        adapter.publish(req("Lost", MediaItem(None, f"{image_server}/photo.jpg", "image/jpeg", "")))
    found = adapter.find_existing(req("Lost"), datetime.now(UTC) - timedelta(hours=1))
    assert found is not None
    assert found.url == f"{fake_server}/_fake/posts/{found.platform_post_id}"


def test_the_fakes_post_page_escapes_the_text_and_shows_the_image_with_its_alt_text(
    fake, publisher, image_server
):
    ref = publisher("instagram").publish(
        req(
            "<script>alert(1)</script> Fun day",
            MediaItem(None, f"{image_server}/photo.jpg", "image/jpeg", 'A "fair"'),
        )
    )
    page = _page(ref.url)
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert 'alt="A &quot;fair&quot;"' in page


def test_an_unknown_post_page_is_a_404(fake_server):
    answer = requests.get(f"{fake_server}/_fake/posts/nope", timeout=5)
    assert answer.status_code == 404


def test_the_graph_api_gives_a_published_media_its_permalink(
    fake, fake_server, publisher, image_server
):
    ref = publisher("instagram").publish(
        req("Asked for", MediaItem(None, f"{image_server}/photo.jpg", "image/jpeg", ""))
    )
    answer = requests.get(
        f"{fake_server}/v23.0/{ref.platform_post_id}",
        params={"fields": "permalink", "access_token": IG_TOKEN},
        timeout=5,
    ).json()
    assert answer["permalink"] == ref.url
    # Another account's token cannot read it.
    other = requests.get(
        f"{fake_server}/v23.0/{ref.platform_post_id}",
        params={"fields": "permalink", "access_token": PAGE_TOKEN},
        timeout=5,
    )
    assert other.status_code == 400


@pytest.mark.parametrize(
    ("platform", "account", "credentials"),
    [
        ("x", X_ACCOUNT, X_CREDENTIALS),
        ("facebook", PAGE_ID, {"access_token": PAGE_TOKEN}),
        ("instagram", IG_USER, {"access_token": IG_TOKEN}),
    ],
)
def test_on_the_platform_itself_the_link_is_the_real_sites(platform, account, credentials):
    """No base URL: the real platform, whose address is kept. (Building an adapter sends
    nothing.)"""
    real = "https://www.example-platform.test/p/123/"
    with adapter_for(ChannelConfig(platform, account, credentials)) as adapter:
        assert adapter.page_url("123", real) == real
        assert adapter.page_url("123", None) is None


def test_a_permalink_that_is_not_a_web_address_is_never_a_link():
    assert PlatformAdapter.web_link("https://www.instagram.com/p/Abc123/") is not None
    assert PlatformAdapter.web_link("javascript:alert(1)") is None
    assert PlatformAdapter.web_link(None) is None
    assert PlatformAdapter.web_link(["https://x"]) is None

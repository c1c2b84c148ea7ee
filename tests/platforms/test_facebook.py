"""The Facebook Page adapter publishing through the real facebook-sdk to the fake platform."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import facebook
import pytest

from fakeplatform.client import FakePlatformControl
from fakeplatform.server import serve_in_thread
from gateway.platforms import (
    DeliveryRequest,
    MediaItem,
    NeedsReauthorisation,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    Retryable,
    RetryIfAbsent,
    adapter_for,
)
from tests.platforms.accounts import JPEG, OTHER_JPEG, PAGE_ID, PAGE_TOKEN
from tests.platforms.conftest import LOOPBACK


def req(text: str, *media: MediaItem) -> DeliveryRequest:
    return DeliveryRequest(delivery_id=7, attempt_id="b2", text=text, media=media)


def an_hour_ago() -> datetime:
    return datetime.now(UTC) - timedelta(hours=1)


def test_text_post_goes_to_the_page_feed(fake, fake_server, publisher):
    ref = publisher("facebook").publish(req("Recycling centre opens at 9am on Saturday."))

    (post,) = fake.posts("facebook")
    assert post["text"] == "Recycling centre opens at 9am on Saturday."
    assert ref.platform_post_id == post["id"]
    assert ref.platform_post_id.startswith(f"{PAGE_ID}_")
    assert ref.url == f"{fake_server}/_fake/posts/{ref.platform_post_id}" == post["url"]


def test_library_module_global_is_left_alone(fake, publisher):
    publisher("facebook").publish(req("global untouched"))
    assert facebook.FACEBOOK_GRAPH_URL == "https://graph.facebook.com/"


def test_one_image_is_a_photo_post_with_alt_text(fake, publisher):
    ref = publisher("facebook").publish(
        req("Our new library", MediaItem(JPEG, None, "image/jpeg", "The library's front door"))
    )

    (post,) = fake.posts("facebook")
    assert post["id"] == ref.platform_post_id
    assert post["text"] == "Our new library"
    assert post["media"][0]["alt_text"] == "The library's front door"
    assert post["media"][0]["sha256"]


def test_several_images_are_one_post(fake, publisher):
    publisher("facebook").publish(
        req(
            "Two pictures",
            MediaItem(JPEG, None, "image/jpeg", "First"),
            MediaItem(OTHER_JPEG, None, "image/jpeg", "Second"),
        )
    )

    (post,) = fake.posts("facebook")
    assert post["text"] == "Two pictures"
    assert [m["alt_text"] for m in post["media"]] == ["First", "Second"]


def test_image_by_url_is_fetched_by_the_platform(fake, publisher, image_server):
    publisher("facebook").publish(
        req("By URL", MediaItem(None, f"{image_server}/photo.jpg", "image/jpeg", "Alt"))
    )
    (post,) = fake.posts("facebook")
    assert post["media"][0]["size"] == len(JPEG)


def test_wrong_token_needs_reauthorisation(fake, publisher):
    with pytest.raises(NeedsReauthorisation) as caught:
        publisher("facebook", access_token="EAAwrong-token-0000").publish(req("hello"))
    assert "EAAwrong-token-0000" not in str(caught.value)
    assert fake.posts("facebook") == []


def test_not_an_image_is_rejected(fake, publisher):
    with pytest.raises(Rejected, match="Invalid image"):
        publisher("facebook").publish(req("x", MediaItem(b"GIF8", None, "image/gif", "alt")))


def test_duplicate_text_maps_to_the_existing_post(fake, publisher):
    adapter = publisher("facebook")
    first = adapter.publish(req("Council tax bills are on their way"))

    again = adapter.publish(req("Council tax bills are on their way"))

    assert again.platform_post_id == first.platform_post_id
    assert len(fake.posts("facebook")) == 1


def test_lost_answer_is_outcome_unknown_then_found(fake, publisher):
    fake.inject_fault("lost_answer", account_id=PAGE_ID, method="POST", path_contains="/feed")
    adapter = publisher("facebook")

    with pytest.raises(OutcomeUnknown):
        adapter.publish(req("Flood warning lifted"))

    (post,) = fake.posts("facebook")
    found = adapter.find_existing(req("Flood warning lifted"), an_hour_ago())
    assert found is not None and found.platform_post_id == post["id"]
    assert adapter.find_existing(req("Other"), an_hour_ago()) is None


def test_dropped_connection_is_outcome_unknown(fake, publisher):
    fake.inject_fault("drop", account_id=PAGE_ID, method="POST")
    with pytest.raises(OutcomeUnknown):
        publisher("facebook").publish(req("Dropped"))
    assert fake.posts("facebook") == []


def test_dropped_unpublished_photo_upload_is_retryable(fake, publisher):
    fake.inject_fault("drop", account_id=PAGE_ID, path_contains="/photos")
    images = (MediaItem(JPEG, None, "image/jpeg", "a"), MediaItem(JPEG, None, "image/jpeg", "b"))
    with pytest.raises(Retryable):
        publisher("facebook").publish(req("Two", *images))
    assert fake.posts("facebook") == []


def test_transient_error_on_the_post_is_retried_only_if_absent(fake, publisher):
    # Graph's outage answer (code 2, is_transient) on the call that makes the post says
    # "retry later", not "nothing was made": the post is looked up before it is sent again.
    fake.inject_fault("error", account_id=PAGE_ID, status=500)
    with pytest.raises(RetryIfAbsent) as caught:
        publisher("facebook").publish(req("Server error"))
    assert isinstance(caught.value, OutcomeUnknown) and not isinstance(caught.value, Retryable)
    assert caught.value.status == 500
    assert fake.posts("facebook") == []


def test_transient_error_after_the_post_was_made_is_found(fake, publisher):
    fake.inject_fault("error_after", platform="facebook", account_id=PAGE_ID, path_contains="/feed")
    adapter = publisher("facebook")
    with pytest.raises(RetryIfAbsent):
        adapter.publish(req("Bin collections move to Saturday"))
    (post,) = fake.posts("facebook")
    found = adapter.find_existing(req("Bin collections move to Saturday"), an_hour_ago())
    assert found is not None and found.platform_post_id == post["id"]


def test_transient_error_on_an_unpublished_photo_is_retryable(fake, publisher):
    # An unpublished photo of a multi-photo post is not a post: nothing can be on the Page.
    fake.inject_fault("error", account_id=PAGE_ID, status=500, path_contains="/photos")
    images = (MediaItem(JPEG, None, "image/jpeg", "a"), MediaItem(JPEG, None, "image/jpeg", "b"))
    with pytest.raises(Retryable):
        publisher("facebook").publish(req("Two", *images))
    assert fake.posts("facebook") == []


def test_rate_limit_uses_the_time_to_regain_access(fake, publisher):
    fake.inject_fault("rate_limit", account_id=PAGE_ID, reset_in=150)
    with pytest.raises(RateLimited) as caught:
        publisher("facebook").publish(req("Throttled"))
    assert caught.value.retry_after == 180  # Graph says 3 minutes (150 s rounded up)


def test_connection_test_names_the_page(fake, publisher):
    assert publisher("facebook").check_connection() == "Anytown Council"


def test_adapters_for_two_base_urls_work_side_by_side_in_threads(fake, channel):
    """The base URL lives in each adapter's session, not in facebook-sdk's module global, so
    channels pointed at different hosts can publish at the same time."""
    other_url, stop = serve_in_thread()
    try:
        with FakePlatformControl(other_url) as other:
            other.register_account("facebook", PAGE_ID, {"access_token": PAGE_TOKEN})
            configs = [channel("facebook"), replace(channel("facebook"), base_url=other_url)]

            def publish(i: int) -> None:
                adapter = adapter_for(configs[i % 2], allowed_hosts=LOOPBACK)
                try:
                    adapter.publish(req(f"Post number {i}"))
                finally:
                    adapter.close()

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(publish, range(40)))

            here = sorted(p["text"] for p in fake.posts("facebook"))
            there = sorted(p["text"] for p in other.posts("facebook"))
    finally:
        stop()
    assert here == sorted(f"Post number {i}" for i in range(0, 40, 2))
    assert there == sorted(f"Post number {i}" for i in range(1, 40, 2))

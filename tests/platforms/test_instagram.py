"""The Instagram adapter: container, status polling, publish, quota, through facebook-sdk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.platforms import (
    DeliveryRequest,
    MediaItem,
    NeedsReauthorisation,
    OutcomeUnknown,
    QuotaExceeded,
    RateLimited,
    Rejected,
    Retryable,
    RetryIfAbsent,
)
from tests.platforms.accounts import IG_USER, JPEG


def req(text: str, url: str | None, alt: str = "A view of the high street") -> DeliveryRequest:
    media = (MediaItem(None, url, "image/jpeg", alt),) if url else ()
    return DeliveryRequest(delivery_id=9, attempt_id="c3", text=text, media=media)


def an_hour_ago() -> datetime:
    return datetime.now(UTC) - timedelta(hours=1)


def test_container_is_fetched_polled_and_published(fake, publisher, image_server):
    ref = publisher("instagram").publish(
        req("Christmas lights switch-on", f"{image_server}/photo.jpg")
    )

    (post,) = fake.posts("instagram")
    assert post["id"] == ref.platform_post_id
    assert post["text"] == "Christmas lights switch-on"
    assert post["media"][0]["sha256"]
    assert post["media"][0]["size"] == len(JPEG)  # the fake fetched the very bytes we serve
    assert post["media"][0]["alt_text"] == "A view of the high street"


def test_a_post_without_an_image_is_rejected_before_calling(fake, publisher):
    with pytest.raises(Rejected, match="exactly one image"):
        publisher("instagram").publish(req("No picture", None))


def test_a_url_that_is_not_a_jpeg_fails_the_container(fake, publisher, image_server):
    with pytest.raises(Rejected, match="could not use the image"):
        publisher("instagram").publish(req("Broken", f"{image_server}/not-an-image.jpg"))
    assert fake.posts("instagram") == []


def test_an_image_instagram_cannot_fetch_is_retryable(fake, publisher, image_server):
    # The gateway's image URL was unreachable or expired; the next attempt gets a fresh one.
    with pytest.raises(Retryable, match="HTTP 404"):
        publisher("instagram").publish(req("Missing", f"{image_server}/gone.jpg"))
    assert fake.posts("instagram") == []


def test_caption_over_2200_characters_is_rejected(fake, publisher, image_server):
    with pytest.raises(Rejected, match="2200"):
        publisher("instagram").publish(req("a" * 2201, f"{image_server}/photo.jpg"))
    assert fake.posts("instagram") == []


def test_quota_is_read_and_exhausted_quota_holds(fake, publisher, image_server):
    fake.register_account("instagram", IG_USER, {"access_token": "EAAsmall-quota"}, quota_total=2)
    adapter = publisher("instagram", access_token="EAAsmall-quota")
    assert adapter.remaining_quota() == 2
    adapter.publish(req("One", f"{image_server}/photo.jpg"))
    adapter.publish(req("Two", f"{image_server}/photo.jpg"))
    assert adapter.remaining_quota() == 0

    with pytest.raises(QuotaExceeded) as caught:
        adapter.publish(req("Three", f"{image_server}/photo.jpg"))
    assert isinstance(caught.value, RateLimited)  # a hold with a retry time, not a failure
    assert caught.value.retry_after > 0
    assert [p["text"] for p in fake.posts("instagram")] == ["One", "Two"]


def test_wrong_token_needs_reauthorisation(fake, publisher, image_server):
    with pytest.raises(NeedsReauthorisation):
        publisher("instagram", access_token="EAAnope").publish(
            req("x", f"{image_server}/photo.jpg")
        )


def test_lost_answer_on_publish_is_outcome_unknown_then_found(fake, publisher, image_server):
    fake.inject_fault("lost_answer", account_id=IG_USER, path_contains="/media_publish")
    adapter = publisher("instagram")

    with pytest.raises(OutcomeUnknown):
        adapter.publish(req("Lost answer", f"{image_server}/photo.jpg"))

    (post,) = fake.posts("instagram")
    found = adapter.find_existing(req("Lost answer", None), an_hour_ago())
    assert found is not None and found.platform_post_id == post["id"]


def test_transient_error_on_media_publish_is_retried_only_if_absent(fake, publisher, image_server):
    # Instagram's media_publish is known to answer "An unexpected error has occurred" and
    # publish all the same: looked up, never sent again blindly.
    fake.inject_fault(
        "error_after", platform="instagram", account_id=IG_USER, path_contains="/media_publish"
    )
    adapter = publisher("instagram")
    with pytest.raises(RetryIfAbsent):
        adapter.publish(req("Market day", f"{image_server}/photo.jpg"))
    (post,) = fake.posts("instagram")
    found = adapter.find_existing(req("Market day", None), an_hour_ago())
    assert found is not None and found.platform_post_id == post["id"]


def test_transient_error_on_the_container_is_retryable(fake, publisher, image_server):
    fake.inject_fault("error", account_id=IG_USER, method="POST", path_contains=f"{IG_USER}/media")
    with pytest.raises(Retryable):
        publisher("instagram").publish(req("Outage", f"{image_server}/photo.jpg"))
    assert fake.posts("instagram") == []


def test_dropped_container_creation_is_retryable(fake, publisher, image_server):
    fake.inject_fault("drop", account_id=IG_USER, method="POST", path_contains=f"{IG_USER}/media")
    with pytest.raises(Retryable):
        publisher("instagram").publish(req("Dropped", f"{image_server}/photo.jpg"))
    assert fake.posts("instagram") == []


def test_rate_limited_container(fake, publisher, image_server):
    fake.inject_fault("rate_limit", account_id=IG_USER, reset_in=30)
    with pytest.raises(RateLimited) as caught:
        publisher("instagram").publish(req("Throttled", f"{image_server}/photo.jpg"))
    assert caught.value.retry_after == 60


def test_connection_test_names_the_account(fake, publisher):
    assert publisher("instagram").check_connection() == "anytowncouncil"

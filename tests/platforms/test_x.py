"""The X adapter publishing through the real tweepy to the fake platform over HTTP."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from gateway.platforms import (
    DeliveryRequest,
    MediaItem,
    NeedsReauthorisation,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    Retryable,
    adapter_for,
)
from tests.platforms.accounts import JPEG, OTHER_JPEG, X_ACCOUNT
from tests.platforms.conftest import LOOPBACK


def req(text: str, *media: MediaItem, delivery_id: int = 1) -> DeliveryRequest:
    return DeliveryRequest(delivery_id=delivery_id, attempt_id="a1", text=text, media=media)


def an_hour_ago() -> datetime:
    return datetime.now(UTC) - timedelta(hours=1)


def test_text_post_is_published_once(fake, fake_server, publisher):
    ref = publisher("x").publish(req("Bins are collected on Tuesday this week."))

    posts = fake.posts("x")
    assert [p["text"] for p in posts] == ["Bins are collected on Tuesday this week."]
    assert ref.platform_post_id == posts[0]["id"]
    # The channel points at the fake platform (training): the link is the fake's page for it.
    assert ref.url == f"{fake_server}/_fake/posts/{ref.platform_post_id}" == posts[0]["url"]


def test_images_are_uploaded_with_their_alt_text(fake, publisher):
    ref = publisher("x").publish(
        req(
            "New park opening",
            MediaItem(JPEG, None, "image/jpeg", "Children on the new swings"),
            MediaItem(OTHER_JPEG, None, "image/jpeg", "The park gates"),
        )
    )

    (post,) = fake.posts("x")
    assert post["id"] == ref.platform_post_id
    assert [m["alt_text"] for m in post["media"]] == [
        "Children on the new swings",
        "The park gates",
    ]
    assert [m["size"] for m in post["media"]] == [len(JPEG), len(OTHER_JPEG)]


def test_image_given_by_url_is_fetched_and_uploaded(fake, publisher, image_server):
    publisher("x").publish(
        req("From a URL", MediaItem(None, f"{image_server}/photo.jpg", "image/jpeg", "A photo"))
    )

    (post,) = fake.posts("x")
    assert post["media"][0]["alt_text"] == "A photo"
    assert post["media"][0]["size"] == len(JPEG)


def test_image_url_on_a_private_address_is_refused_without_allowance(fake, channel, image_server):
    image = MediaItem(None, f"{image_server}/photo.jpg", "image/jpeg", "alt")
    # Only the fake platform's own host and port are allowed: the image server's port is not.
    fake_host = channel("x").base_url.split("://", 1)[1]
    with (
        adapter_for(channel("x"), allowed_hosts=(fake_host,)) as adapter,
        pytest.raises(Rejected, match="public address"),
    ):
        adapter.publish(req("x", image))
    assert fake.posts("x") == []


def test_image_url_redirects_are_not_followed(fake, publisher, image_server):
    image = MediaItem(None, f"{image_server}/redirect.jpg", "image/jpeg", "alt")
    with pytest.raises(Rejected, match="redirects"):
        publisher("x").publish(req("x", image))
    assert fake.posts("x") == []


def test_something_that_is_not_an_image_is_rejected(fake, publisher):
    with pytest.raises(Rejected) as caught:
        publisher("x").publish(req("x", MediaItem(b"%PDF-1.7", None, "image/jpeg", "alt")))
    assert "Media type unrecognized" in caught.value.reason
    assert fake.posts("x") == []


def test_text_over_280_weighted_characters_is_rejected(fake, publisher):
    # CJK characters weigh 2 each (twitter-text): 141 of them are 282 weighted characters.
    with pytest.raises(Rejected) as caught:
        publisher("x").publish(req("市" * 141))
    assert caught.value.status == 400
    assert "too long" in caught.value.reason
    assert fake.posts("x") == []


def test_wrong_token_needs_reauthorisation(fake, publisher):
    with pytest.raises(NeedsReauthorisation) as caught:
        publisher("x", access_token_secret="not-the-secret").publish(req("hello"))
    assert caught.value.status == 401
    assert fake.posts("x") == []


def test_missing_credentials_fail_when_the_adapter_is_made(channel):
    with pytest.raises(NeedsReauthorisation, match="access_token_secret"):
        adapter_for(channel("x", access_token_secret=""))


def test_duplicate_maps_to_the_existing_post(fake, publisher):
    adapter = publisher("x")
    first = adapter.publish(req("Library closed on Monday"))

    again = adapter.publish(req("Library closed on Monday", delivery_id=2))

    assert again.platform_post_id == first.platform_post_id
    assert len(fake.posts("x")) == 1


def test_connection_test_names_the_account(fake, publisher):
    assert publisher("x").check_connection() == "council"
    assert publisher("x").remaining_quota() is None


def test_find_existing_matches_text_and_time(fake, publisher):
    adapter = publisher("x")
    ref = adapter.publish(req("Road closure & diversion on https://example.org/roads"))

    found = adapter.find_existing(
        req("Road closure & diversion on https://example.org/roads"), an_hour_ago()
    )
    assert found is not None and found.platform_post_id == ref.platform_post_id
    assert adapter.find_existing(req("Something else"), an_hour_ago()) is None
    future = datetime.now(UTC) + timedelta(minutes=5)
    assert adapter.find_existing(req("Road closure & diversion"), future) is None


def test_lost_answer_is_outcome_unknown_then_found(fake, publisher):
    fake.inject_fault("lost_answer", account_id=X_ACCOUNT, method="POST", path_contains="/tweets")
    adapter = publisher("x")
    text = "Council meeting tonight at 7pm"

    with pytest.raises(OutcomeUnknown):
        adapter.publish(req(text))

    (post,) = fake.posts("x")  # the platform did accept it
    found = adapter.find_existing(req(text), an_hour_ago())
    assert found is not None and found.platform_post_id == post["id"]


def test_dropped_connection_on_the_post_is_outcome_unknown_and_nothing_exists(fake, publisher):
    fake.inject_fault("drop", account_id=X_ACCOUNT, method="POST", path_contains="/tweets")
    adapter = publisher("x")

    with pytest.raises(OutcomeUnknown):
        adapter.publish(req("Dropped"))

    assert fake.posts("x") == []
    assert adapter.find_existing(req("Dropped"), an_hour_ago()) is None


def test_dropped_media_upload_is_retryable(fake, publisher):
    fake.inject_fault("drop", account_id=X_ACCOUNT, path_contains="/media/upload")

    with pytest.raises(Retryable):
        publisher("x").publish(req("With image", MediaItem(JPEG, None, "image/jpeg", "alt")))
    assert fake.posts("x") == []


def test_rate_limit_carries_the_reset_time(fake, publisher):
    fake.inject_fault("rate_limit", account_id=X_ACCOUNT, reset_in=120)

    with pytest.raises(RateLimited) as caught:
        publisher("x").publish(req("Too soon"))
    assert 110 <= caught.value.retry_after <= 121
    assert fake.posts("x") == []


def test_real_rate_limit_from_a_small_allowance(fake, publisher, channel):
    fake.register_account(
        "x", "42", {**channel("x").credentials, "access_token": "42-tok"}, rate_limit=1
    )
    adapter = publisher("x", access_token="42-tok")
    adapter.check_connection()
    with pytest.raises(RateLimited) as caught:
        adapter.check_connection()
    assert 0 < caught.value.retry_after <= 15 * 60 + 1


@pytest.mark.parametrize(
    ("status", "expected"),
    [(503, Retryable), (500, OutcomeUnknown), (502, OutcomeUnknown), (504, OutcomeUnknown)],
)
def test_server_errors_on_the_post(fake, publisher, status, expected):
    fake.inject_fault("error", account_id=X_ACCOUNT, status=status, path_contains="/tweets")

    with pytest.raises(expected) as caught:
        publisher("x").publish(req(f"Server error {status}"))
    assert caught.value.status == status
    assert fake.posts("x") == []


def test_server_error_on_a_read_is_retryable(fake, publisher):
    fake.inject_fault("error", account_id=X_ACCOUNT, status=500, method="GET")
    with pytest.raises(Retryable):
        publisher("x").check_connection()


def test_platform_down_is_retryable(channel):
    # Nothing listens on port 9 of 127.0.0.1: the connection is refused before a byte is sent.
    adapter = adapter_for(
        replace(channel("x"), base_url="http://127.0.0.1:9"), allowed_hosts=LOOPBACK
    )
    try:
        with pytest.raises(Retryable, match="could not connect"):
            adapter.publish(req("hello"))
    finally:
        adapter.close()


def test_slow_platform_after_sending_is_outcome_unknown(fake, channel):
    fake.inject_fault("latency", account_id=X_ACCOUNT, latency_ms=600, path_contains="/tweets")
    adapter = adapter_for(channel("x"), timeout=0.2, allowed_hosts=LOOPBACK)
    try:
        with pytest.raises(OutcomeUnknown, match="did not answer in time"):
            adapter.publish(req("Slow"))
    finally:
        adapter.close()
    # The platform finishes the slow request anyway, as a real one would.
    deadline = time.monotonic() + 5
    while not fake.posts("x") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p["text"] for p in fake.posts("x")] == ["Slow"]

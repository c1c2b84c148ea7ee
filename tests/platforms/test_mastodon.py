"""The Mastodon adapter on the real Mastodon.py against the fake platform's Mastodon API (issue
21): no Mastodon-API server installs from the registries here, so the fake is shaped from
Mastodon's own API documentation (fakeplatform/mastodon_api.py). Each test reads back from the
fake what the adapter sent."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from PIL import Image

from gateway.platforms import (
    ChannelConfig,
    DeliveryRequest,
    MediaItem,
    NeedsReauthorisation,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    Retryable,
    adapter_for,
)
from gateway.platforms.mastodon import MastodonPublisher, idempotency_key, plain_text
from tests.platforms.conftest import LOOPBACK

ACCOUNT = "109876543210987654"
TOKEN = "mastodon-test-token-0123456789abcdef"  # noqa: S105 - the fake's test account
URL = "https://www.harbourside.gov.uk/roadworks/quay-street-resurfacing-phase-two-details"


@pytest.fixture
def mastodon(fake, fake_server):
    fake.register_account(
        "mastodon", ACCOUNT, {"access_token": TOKEN}, name="Harbourside", username="harbourside"
    )
    requests.delete(f"{fake_server}/_fake/mastodon/instance", timeout=10)
    made = []

    def make(**credentials: str) -> MastodonPublisher:
        config = ChannelConfig(
            "mastodon", ACCOUNT, {"access_token": TOKEN, **credentials}, fake_server
        )
        publisher = adapter_for(config, allowed_hosts=LOOPBACK)
        made.append(publisher)
        return publisher

    yield make
    for publisher in made:
        publisher.close()
    requests.delete(f"{fake_server}/_fake/mastodon/instance", timeout=10)


def _limits(fake_server: str, **values: int) -> None:
    requests.post(
        f"{fake_server}/_fake/mastodon/instance", json=values, timeout=10
    ).raise_for_status()


def _request(text: str, media: tuple[MediaItem, ...] = ()) -> DeliveryRequest:
    return DeliveryRequest(1, str(uuid.uuid4()), text, media, started_at=datetime.now(UTC))


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), (20, 90, 160)).save(out, format="PNG")
    return out.getvalue()


def test_a_status_with_images_and_alt_text_is_posted_after_they_are_processed(
    mastodon, fake, fake_server
):
    _limits(fake_server, processing_polls=2)  # each image answers 206 twice, then 200
    publisher = mastodon()
    assert publisher.check_connection() == "@harbourside"
    images = (
        MediaItem(_png(), None, "image/png", "A blue square, the council's logo colour"),
        MediaItem(_png(), None, "image/png", "The same square again, for the test"),
    )
    ref = publisher.publish(_request("Quay Street reopens on Monday.", images))
    [post] = fake.posts("mastodon")
    assert post["id"] == ref.platform_post_id and post["text"] == "Quay Street reopens on Monday."
    assert [m["alt_text"] for m in post["media"]] == [i.alt_text for i in images]
    assert ref.url == f"{fake_server}/_fake/posts/{ref.platform_post_id}"


def test_limits_are_the_instances_not_500(mastodon, fake, fake_server):
    # A link counts 23 whatever its length: 480 letters and a 90-character link are 504 > 500.
    text = "a" * 480 + " " + URL
    assert len(text) > 560
    with pytest.raises(Rejected, match="504 characters"):
        mastodon().publish(_request(text))
    assert fake.posts("mastodon") == []
    # An instance with 1,000 characters takes it; its own count agrees.
    _limits(fake_server, max_characters=1000)
    publisher = mastodon()
    assert publisher.limits()["max_characters"] == 1000
    publisher.publish(_request(text))
    assert len(fake.posts("mastodon")) == 1
    # And one with 300 refuses what a stock one takes.
    _limits(fake_server, max_characters=300)
    with pytest.raises(Rejected, match="at most 300"):
        mastodon().publish(_request("b" * 301))


def test_every_image_needs_alt_text_within_the_instances_description_limit(
    mastodon, fake, fake_server
):
    no_alt = MediaItem(_png(), None, "image/png", "  ")
    with pytest.raises(Rejected, match="alt text"):
        mastodon().publish(_request("Bins.", (no_alt,)))
    _limits(fake_server, description_limit=20)
    long_alt = MediaItem(_png(), None, "image/png", "A very long description of a square")
    with pytest.raises(Rejected, match="at most 20"):
        mastodon().publish(_request("Bins.", (long_alt,)))
    _limits(fake_server, max_media_attachments=1)
    ok = MediaItem(_png(), None, "image/png", "A blue square")
    with pytest.raises(Rejected, match="at most 1 images"):
        mastodon().publish(_request("Bins.", (ok, ok)))
    assert fake.posts("mastodon") == []


def test_a_lost_answer_is_found_among_recent_statuses_and_the_key_prevents_a_second(
    mastodon, fake, fake_server
):
    fake.seed_posts("mastodon", ACCOUNT, ["Someone else's status", "Library closed today."])
    fake.inject_fault("lost_answer", platform="mastodon", path_contains="/api/v1/statuses")
    request = _request("Library closed today.\n\nSorry for any trouble & inconvenience.")
    with pytest.raises(OutcomeUnknown):
        mastodon().publish(request)
    [posted] = [p for p in fake.posts("mastodon") if "Sorry" in p["text"]]
    found = mastodon().find_existing(request, request.started_at - timedelta(minutes=5))
    assert found is not None and found.platform_post_id == posted["id"]
    # The same attempt's Idempotency-Key: sending it again returns the first status.
    again = mastodon().publish(request)
    assert again.platform_post_id == posted["id"]
    assert len([p for p in fake.posts("mastodon") if "Sorry" in p["text"]]) == 1
    # A status the gateway knows is another delivery's is not taken for this one.
    assert mastodon().find_existing(request, request.started_at, exclude={posted["id"]}) is None


def test_the_look_up_pages_back_until_before_the_attempt(mastodon, fake):
    request = _request("Parking charges change in April.")
    publisher = mastodon()
    publisher.publish(request)
    fake.seed_posts("mastodon", ACCOUNT, [f"Busy account, status {n}" for n in range(90)])
    found = mastodon().find_existing(request, request.started_at - timedelta(minutes=5))
    assert found is not None
    assert mastodon().find_existing(_request("Never posted."), request.started_at) is None


def test_errors_map_to_the_taxonomy(mastodon, fake, fake_server):
    with pytest.raises(NeedsReauthorisation):
        mastodon(access_token="revoked-token-xyz").check_connection()
    fake.inject_fault("rate_limit", platform="mastodon", path_contains="statuses", reset_in=120)
    with pytest.raises(RateLimited) as limited:
        mastodon().publish(_request("Rate limited."))
    assert 100 <= limited.value.retry_after <= 121
    fake.inject_fault("error", platform="mastodon", path_contains="/api/v1/statuses", status=503)
    with pytest.raises(OutcomeUnknown):
        mastodon().publish(_request("A 503 after the status was sent."))
    fake.inject_fault("drop", platform="mastodon", path_contains="/api/v2/media")
    image = MediaItem(_png(), None, "image/png", "A blue square")
    with pytest.raises(Retryable):  # an upload lost makes no status: known not sent
        mastodon().publish(_request("Dropped upload.", (image,)))
    assert fake.posts("mastodon") == []


def test_the_idempotency_key_and_plain_text():
    assert idempotency_key("a") == idempotency_key("a") != idempotency_key("b")
    assert plain_text("<p>One &amp; two<br />three</p><p>Four</p>") == "One & two\nthree\n\nFour"

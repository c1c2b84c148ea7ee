"""The fake platform's Bluesky (issue 21), which training channels and ``gateway up --demo`` talk
to: the real adapter on the real atproto SDK against it. The adapter's own behaviour is tested
against a real PDS (test_bluesky.py); these tests show the fake answers the SDK as a PDS does,
and is stricter where bsky.social is (blobs over 1,000,000 bytes, images without alt text)."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime

import pytest
import requests
from PIL import Image

from fakeplatform.demo import DEMO_ACCOUNTS
from gateway.platforms import (
    ChannelConfig,
    DeliveryRequest,
    MediaItem,
    NeedsReauthorisation,
    OutcomeUnknown,
    RateLimited,
    adapter_for,
)
from gateway.platforms.bluesky import BlueskyPublisher
from tests.platforms.conftest import LOOPBACK

DID = "did:plc:harboursidecouncil2345ab"
HANDLE = "harbourside.fake.invalid"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"  # noqa: S105 - the fake's test account


@pytest.fixture
def bluesky(fake, fake_server):
    fake.register_account(
        "bluesky", DID, {"app_password": APP_PASSWORD}, name="Harbourside", username=HANDLE
    )
    made = []

    def make(**credentials: str) -> BlueskyPublisher:
        config = ChannelConfig(
            "bluesky",
            DID,
            {"handle": HANDLE, "app_password": APP_PASSWORD, **credentials},
            fake_server,
        )
        publisher = adapter_for(config, allowed_hosts=LOOPBACK)
        made.append(publisher)
        return publisher

    yield make
    for publisher in made:
        publisher.close()


def _request(text: str, media: tuple[MediaItem, ...] = ()) -> DeliveryRequest:
    return DeliveryRequest(1, str(uuid.uuid4()), text, media, started_at=datetime.now(UTC))


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), (20, 90, 160)).save(out, format="PNG")
    return out.getvalue()


def test_a_post_with_an_image_alt_text_and_a_link_reaches_the_fake(bluesky, fake, fake_server):
    publisher = bluesky()
    assert publisher.check_connection() == HANDLE
    image = MediaItem(_png(), None, "image/png", "A blue square, the council's logo colour")
    text = "Café opening hours: harbourside.gov.uk/cafe"
    ref = publisher.publish(_request(text, (image,)))
    assert ref.platform_post_id.startswith(f"at://{DID}/app.bsky.feed.post/")
    [post] = fake.posts("bluesky")
    assert post["text"] == text and post["id"] == ref.platform_post_id
    assert post["media"][0]["alt_text"] == "A blue square, the council's logo colour"
    # The record as the fake keeps it: the link's facet at UTF-8 byte offsets (é is 2 bytes).
    rkey = ref.platform_post_id.rsplit("/", 1)[1]
    record = requests.get(
        f"{fake_server}/xrpc/com.atproto.repo.getRecord",
        params={"repo": DID, "collection": "app.bsky.feed.post", "rkey": rkey},
        timeout=10,
    ).json()["value"]
    [facet] = record["facets"]
    assert (facet["index"]["byteStart"], facet["index"]["byteEnd"]) == (21, 44)
    assert text.encode()[facet["index"]["byteStart"] : facet["index"]["byteEnd"]] == (
        b"harbourside.gov.uk/cafe"
    )
    # The post's page on the fake, for a person in training: the link the gateway shows.
    assert ref.url is not None and ref.url.startswith(f"{fake_server}/_fake/posts/")
    page = requests.get(ref.url, timeout=10)
    assert page.status_code == 200 and "Café opening hours" in page.text
    # The session the adapter now holds is offered to the gateway to store.
    assert publisher.refreshed_credentials() == {"session": publisher.session_string}


def test_a_lost_answer_is_found_by_its_record_key_and_not_sent_twice(bluesky, fake):
    fake.inject_fault("lost_answer", platform="bluesky", path_contains="createRecord")
    request = _request("Road closed on Quay Street until 4pm.")
    with pytest.raises(OutcomeUnknown):
        bluesky().publish(request)
    found = bluesky().find_existing(request, request.started_at)
    assert found is not None and len(fake.posts("bluesky")) == 1
    # Sending the same attempt again finds its own record and makes no second one.
    assert bluesky().publish(request).platform_post_id == found.platform_post_id
    assert len(fake.posts("bluesky")) == 1


def test_a_wrong_app_password_needs_reconnecting_and_a_rate_limit_says_when(bluesky, fake):
    with pytest.raises(NeedsReauthorisation):
        bluesky(app_password="wrong-wrong-wrong-wron").check_connection()
    fake.inject_fault("rate_limit", platform="bluesky", path_contains="createRecord", reset_in=90)
    with pytest.raises(RateLimited) as raised:
        bluesky().publish(_request("Library closed on Monday."))
    assert 80 <= raised.value.retry_after <= 91
    assert fake.posts("bluesky") == []


def test_a_stored_session_is_used_without_signing_in_again(bluesky, fake, fake_server):
    first = bluesky()
    first.check_connection()
    session = first.session_string
    again = bluesky(session=session)
    again.check_connection()
    assert again.refreshed_credentials() is None  # the stored one still works
    # A spoiled session falls back to the app password.
    assert bluesky(session="not-a-session").check_connection() == HANDLE


def test_the_fake_refuses_what_bsky_social_would_not_show(bluesky, fake, fake_server):
    publisher = bluesky()
    publisher.check_connection()
    headers = {"Authorization": f"Bearer {publisher.session_string.split(':::')[2]}"}
    big = requests.post(
        f"{fake_server}/xrpc/com.atproto.repo.uploadBlob",
        data=b"\xff" * 1_000_001,
        headers={**headers, "Content-Type": "image/jpeg"},
        timeout=10,
    )
    assert big.status_code == 400 and big.json()["error"] == "BlobTooLarge"
    blob = requests.post(
        f"{fake_server}/xrpc/com.atproto.repo.uploadBlob",
        data=_png(),
        headers={**headers, "Content-Type": "image/png"},
        timeout=10,
    ).json()["blob"]
    record = {
        "$type": "app.bsky.feed.post",
        "text": "No alt text",
        "createdAt": datetime.now(UTC).isoformat(),
        "embed": {"$type": "app.bsky.embed.images", "images": [{"alt": "", "image": blob}]},
    }
    refused = requests.post(
        f"{fake_server}/xrpc/com.atproto.repo.createRecord",
        data=json.dumps({"repo": DID, "collection": "app.bsky.feed.post", "record": record}),
        headers={**headers, "Content-Type": "application/json"},
        timeout=10,
    )
    assert refused.status_code == 400 and "alt" in refused.json()["message"]
    long_text = {**record, "text": "é" * 301}
    long_text.pop("embed")
    too_long = requests.post(
        f"{fake_server}/xrpc/com.atproto.repo.createRecord",
        json={"repo": DID, "collection": "app.bsky.feed.post", "record": long_text},
        headers=headers,
        timeout=10,
    )
    assert too_long.status_code == 400 and "300 graphemes" in too_long.json()["message"]
    assert fake.posts("bluesky") == []


def test_the_demo_has_a_bluesky_account():
    [account] = [a for a in DEMO_ACCOUNTS if a["platform"] == "bluesky"]
    assert account["account_id"].startswith("did:plc:") and len(account["account_id"]) == 32
    assert set(account["credentials"]) == {"handle", "app_password"}

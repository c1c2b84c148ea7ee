"""The Bluesky adapter against a real PDS (issue 21): @atproto/dev-env's PDS 0.5.35 with a local
PLC directory on loopback (tests/support/bluesky_pds.py). Each test reads back from the PDS
what the adapter wrote: the record's text, its facets' byte ranges, its blobs and alt text."""

from __future__ import annotations

import io
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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
    adapter_for,
)
from gateway.platforms.bluesky import (
    MAX_GRAPHEMES,
    PLC_URL_SETTING,
    BlueskyPublisher,
    count_graphemes,
    record_key,
)
from tests.support.bluesky_pds import Account, BlueskyPds, running_pds

pytestmark = pytest.mark.timeout(1800)  # the first run installs the PDS from npm
LOOPBACK = ("localhost", "127.0.0.1")

FLAG = "\U0001f1ec\U0001f1e7"  # 🇬🇧: two regional indicators, one grapheme
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # 👨‍👩‍👧: a ZWJ sequence, one grapheme
COMBINING = "e\u0301\u0323"  # e with an acute and a dot below: one grapheme, three code points
THUMBS = "\U0001f44d\U0001f3fd"  # 👍🏽: emoji with a skin-tone modifier, one grapheme


@pytest.fixture(scope="session")
def pds(tmp_path_factory) -> Iterator[BlueskyPds]:
    yield from running_pds(tmp_path_factory.mktemp("bluesky-pds"))


@pytest.fixture(scope="session")
def account(pds: BlueskyPds) -> Account:
    return pds.create_account()


def _channel(account: Account, base_url: str | None, **credentials: str) -> ChannelConfig:
    return ChannelConfig(
        platform="bluesky",
        external_account_id=account.did,
        credentials={"handle": account.handle, "app_password": account.app_password} | credentials,
        base_url=base_url,
    )


def _publisher(account: Account, base_url: str | None) -> BlueskyPublisher:
    publisher = adapter_for(_channel(account, base_url), allowed_hosts=LOOPBACK)
    assert isinstance(publisher, BlueskyPublisher)
    return publisher


def _request(text: str, media: tuple[MediaItem, ...] = ()) -> DeliveryRequest:
    return DeliveryRequest(
        delivery_id=1,
        attempt_id=str(uuid.uuid4()),
        text=text,
        media=media,
        started_at=datetime.now(UTC),
    )


def _jpeg(width: int, height: int, colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def _rkey(ref) -> str:
    return ref.platform_post_id.rsplit("/", 1)[1]


def _byte_range(text: str, part: str) -> tuple[int, int]:
    """Where ``part`` sits in ``text``'s UTF-8, found in the bytes (not from character counts)."""
    encoded, needle = text.encode("utf-8"), part.encode("utf-8")
    start = encoded.index(needle)
    return start, start + len(needle)


class _Proxy:
    """A loopback HTTP proxy in front of the PDS. ``spoil`` chooses what happens to a
    createRecord: None forwards it; "drop" forwards it and closes the connection without the
    answer (the post is made, the gateway never hears); "429" answers a rate limit unsent."""

    def __init__(self, upstream: str) -> None:
        self.spoil: str | None = None
        self.creates_forwarded = 0
        self.released = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                creating = "com.atproto.repo.createRecord" in self.path
                if creating and proxy.spoil == "500":
                    payload = b'{"error":"InternalServerError","message":"Internal Server Error"}'
                    self.send_response(500)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if creating and proxy.spoil == "429":
                    self.send_response(429)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("ratelimit-limit", "1666")
                    self.send_header("ratelimit-remaining", "0")
                    self.send_header("ratelimit-reset", str(int(time.time()) + 120))
                    payload = b'{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}'
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "content-length", "connection")
                }
                answer = requests.request(
                    self.command, upstream + self.path, headers=headers, data=body, timeout=30
                )
                if creating:
                    proxy.creates_forwarded += 1
                    if proxy.spoil == "drop":
                        self.close_connection = True
                        return  # the PDS made the record; its answer goes nowhere
                    if proxy.spoil == "slow":
                        proxy.released.wait(10)  # past the adapter's timeout
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in (
                        "content-length",
                        "content-encoding",
                        "transfer-encoding",
                        "connection",
                    ):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = _forward  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(pds: BlueskyPds) -> Iterator[_Proxy]:
    server = _Proxy(pds.url)
    yield server
    server.close()


# Posting and reading back -----------------------------------------------------------------------
def test_post_with_images_alt_text_and_link_facets_reads_back(pds, account):
    link = "https://www.harbourside.gov.uk/bins?week=2"
    text = (
        f"{FLAG} {FAMILY} Caf{COMBINING} {THUMBS} bin days change: see {link}. "
        "Also harbourside.gov.uk #BinDay"
    )
    first, second = _jpeg(64, 32, "red"), _jpeg(30, 60, "blue")
    media = (
        MediaItem(first, None, "image/jpeg", "A red bin lorry, side view"),
        MediaItem(second, None, "image/jpeg", "Map of the new collection rounds"),
    )
    req = _request(text, media)
    with _publisher(account, pds.url) as publisher:
        ref = publisher.publish(req)

    rkey = _rkey(ref)
    assert rkey == record_key(req.attempt_id, req.started_at)
    assert ref.platform_post_id == f"at://{account.did}/app.bsky.feed.post/{rkey}"
    assert ref.url == f"https://bsky.app/profile/{account.handle}/post/{rkey}"

    record = pds.get_post(account.did, rkey)["value"]
    assert record["text"] == text
    facets = {
        (f["index"]["byteStart"], f["index"]["byteEnd"]): f["features"][0] for f in record["facets"]
    }
    assert facets[_byte_range(text, link)] == {
        "$type": "app.bsky.richtext.facet#link",
        "uri": link,
    }
    bare_start = _byte_range(text, "Also harbourside.gov.uk")[0] + len("Also ")
    assert facets[(bare_start, bare_start + len("harbourside.gov.uk"))] == {
        "$type": "app.bsky.richtext.facet#link",
        "uri": "https://harbourside.gov.uk",
    }
    assert facets[_byte_range(text, "#BinDay")]["tag"] == "BinDay"
    # The link's facet starts past the multi-byte characters, in bytes: far beyond its index
    # in code points.
    assert _byte_range(text, link)[0] > text.index(link)

    images = record["embed"]["images"]
    assert [i["alt"] for i in images] == [m.alt_text for m in media]
    assert [(i["aspectRatio"]["width"], i["aspectRatio"]["height"]) for i in images] == [
        (64, 32),
        (30, 60),
    ]
    for image, item in zip(images, media, strict=True):
        assert image["image"]["mimeType"] == "image/jpeg"
        assert image["image"]["size"] == len(item.data)
        assert pds.get_blob(account.did, image["image"]["ref"]["$link"]) == item.data


def test_a_link_at_the_very_start_and_a_mention_are_facets(pds, account):
    other = pds.create_account("libraries")
    text = f"https://example.org/{FLAG} opens today, thanks @{other.handle}"
    with _publisher(account, pds.url) as publisher:
        ref = publisher.publish(_request(text))
    record = pds.get_post(account.did, _rkey(ref))["value"]
    features = {
        (f["index"]["byteStart"], f["index"]["byteEnd"]): f["features"][0] for f in record["facets"]
    }
    # The link runs to the first space: the flag is part of its path, as Bluesky's app reads it.
    url = f"https://example.org/{FLAG}"
    assert features[(0, len(url.encode()))]["uri"] == url
    assert features[_byte_range(text, "@" + other.handle)] == {
        "$type": "app.bsky.richtext.facet#mention",
        "did": other.did,
    }


def test_text_only_post_has_no_embed(pds, account):
    with _publisher(account, pds.url) as publisher:
        ref = publisher.publish(_request("Road closed on Quay Street until 4pm."))
        assert publisher.check_connection() == account.handle
    record = pds.get_post(account.did, _rkey(ref))["value"]
    assert "embed" not in record
    assert "facets" not in record


# Exactly once -----------------------------------------------------------------------------------
def test_outcome_unknown_post_is_found_by_its_record_key_and_not_repeated(pds, account, proxy):
    req = _request(f"Library hours change {FLAG} https://example.org/hours")
    proxy.spoil = "drop"
    with _publisher(account, proxy.url) as publisher:
        with pytest.raises(OutcomeUnknown):
            publisher.publish(req)
        assert proxy.creates_forwarded == 1
        rkey = record_key(req.attempt_id, req.started_at)
        assert pds.get_post(account.did, rkey)["value"]["text"] == req.text  # it was made

        proxy.spoil = None
        found = publisher.find_existing(req, req.started_at)
        assert found is not None
        assert _rkey(found) == rkey
        # Sending the same attempt again returns the record that is there; no second create.
        again = publisher.publish(req)
    assert again == found
    assert proxy.creates_forwarded == 1
    same_text = [r for r in pds.list_posts(account.did) if r["value"]["text"] == req.text]
    assert len(same_text) == 1


def test_a_create_that_times_out_is_outcome_unknown_and_then_found(pds, account, proxy):
    req = _request("Slow answer")
    proxy.spoil = "slow"
    channel = _channel(account, proxy.url)
    with adapter_for(channel, timeout=2, allowed_hosts=LOOPBACK) as publisher:
        with pytest.raises(OutcomeUnknown, match="in time"):
            publisher.publish(req)
        proxy.released.set()
        proxy.spoil = None
        found = publisher.find_existing(req, req.started_at)
    assert found is not None
    assert _rkey(found) == record_key(req.attempt_id, req.started_at)


def test_a_server_error_on_create_is_outcome_unknown_and_the_look_up_is_certain(
    pds, account, proxy
):
    req = _request("Server error")
    proxy.spoil = "500"
    with _publisher(account, proxy.url) as publisher:
        with pytest.raises(OutcomeUnknown) as caught:
            publisher.publish(req)
        assert caught.value.status == 500
        proxy.spoil = None
        # The proxy never passed it on: the key holds nothing, and the look-up says so.
        assert publisher.find_existing(req, req.started_at) is None


def test_find_existing_is_none_for_an_attempt_that_never_posted(pds, account):
    req = _request("Never sent")
    with _publisher(account, pds.url) as publisher:
        assert publisher.find_existing(req, req.started_at) is None
        ref = publisher.publish(req)
        assert publisher.find_existing(req, req.started_at) == ref
        # A post the gateway knows is another delivery's is never this one's.
        assert publisher.find_existing(req, req.started_at, exclude={ref.platform_post_id}) is None


def test_rate_limit_is_rate_limited_with_the_reset_time(pds, account, proxy):
    proxy.spoil = "429"
    with _publisher(account, proxy.url) as publisher, pytest.raises(RateLimited) as caught:
        publisher.publish(_request("Rate limited"))
    assert 60 < caught.value.retry_after <= 121
    assert proxy.creates_forwarded == 0


# Credentials and the PDS ------------------------------------------------------------------------
def test_bad_app_password_needs_reauthorisation(pds, account):
    channel = ChannelConfig(
        platform="bluesky",
        external_account_id=account.did,
        credentials={"handle": account.handle, "app_password": "aaaa-bbbb-cccc-dddd"},
        base_url=pds.url,
    )
    with (
        adapter_for(channel, allowed_hosts=LOOPBACK) as publisher,
        pytest.raises(NeedsReauthorisation) as caught,
    ):
        publisher.publish(_request("Should not post"))
    assert "aaaa-bbbb-cccc-dddd" not in str(caught.value)
    assert all(r["value"]["text"] != "Should not post" for r in pds.list_posts(account.did))


def test_missing_app_password_needs_reauthorisation():
    channel = ChannelConfig("bluesky", "did:plc:x", {"handle": "a.test"}, base_url=None)
    with pytest.raises(NeedsReauthorisation):
        adapter_for(channel)


def test_stored_session_is_reused_and_a_spoiled_one_falls_back_to_the_app_password(pds, account):
    with _publisher(account, pds.url) as publisher:
        publisher.check_connection()
        session = publisher.session_string
    assert session
    channel = _channel(account, pds.url, session=session)
    with adapter_for(channel, allowed_hosts=LOOPBACK) as publisher:
        assert publisher.check_connection() == account.handle
    spoiled = _channel(account, pds.url, session="not-a-session")
    with adapter_for(spoiled, allowed_hosts=LOOPBACK) as publisher:
        assert publisher.check_connection() == account.handle
        assert publisher.session_string != "not-a-session"


def test_the_pds_is_resolved_from_the_did_document(pds, account, monkeypatch):
    monkeypatch.setenv(PLC_URL_SETTING, pds.plc_url)
    with _publisher(account, None) as publisher:
        assert publisher.check_connection() == account.handle
        ref = publisher.publish(_request("Found my PDS through the PLC directory"))
    assert pds.get_post(account.did, _rkey(ref)) is not None


def test_blob_limit_is_read_from_the_server(pds, account):
    with _publisher(account, pds.url) as publisher:
        # describeServer says 5 MB; the AppView shows images up to 1,000,000 bytes.
        assert publisher.blob_limit() == 1_000_000


# What the gateway checks itself -----------------------------------------------------------------
def test_every_image_needs_alt_text(pds, account):
    image = MediaItem(_jpeg(8, 8, "green"), None, "image/jpeg", "  ")
    before = len(pds.list_posts(account.did))
    with _publisher(account, pds.url) as publisher, pytest.raises(Rejected, match="alt text"):
        publisher.publish(_request("No alt", (image,)))
    assert len(pds.list_posts(account.did)) == before


def test_at_most_four_images(pds, account):
    image = MediaItem(_jpeg(8, 8, "green"), None, "image/jpeg", "Green square")
    with _publisher(account, pds.url) as publisher, pytest.raises(Rejected, match="4 images"):
        publisher.publish(_request("Five", (image,) * 5))


def test_an_image_over_the_blob_limit_is_refused_before_upload(pds, account):
    big = MediaItem(b"\xff\xd8" + b"\0" * 1_000_001, None, "image/jpeg", "Too big")
    with _publisher(account, pds.url) as publisher, pytest.raises(Rejected, match="at most"):
        publisher.publish(_request("Big", (big,)))


@pytest.mark.parametrize(
    ("text", "graphemes"),
    [
        ("abc", 3),
        (FLAG, 1),
        (FLAG * 3, 3),
        (FAMILY, 1),
        (COMBINING, 1),
        (THUMBS, 1),
        (f"{FAMILY} {FLAG}{COMBINING}", 4),
        ("\u0915\u094d\u0937", 1),  # Devanagari conjunct kṣa
    ],
)
def test_graphemes_are_counted_as_people_see_them(text, graphemes):
    assert count_graphemes(text) == graphemes


def test_three_hundred_graphemes_post_and_three_hundred_and_one_do_not(pds, account):
    # 300 flags: 600 code points and 2,400 bytes, but 300 graphemes: the PDS takes it.
    at_limit = FLAG * MAX_GRAPHEMES
    combining = COMBINING * MAX_GRAPHEMES  # 900 code points
    with _publisher(account, pds.url) as publisher:
        ref = publisher.publish(_request(at_limit))
        assert pds.get_post(account.did, _rkey(ref))["value"]["text"] == at_limit
        ref = publisher.publish(_request(combining))
        assert pds.get_post(account.did, _rkey(ref))["value"]["text"] == combining
        with pytest.raises(Rejected, match="300"):
            publisher.publish(_request(FLAG * (MAX_GRAPHEMES + 1)))
        # Within 300 graphemes but over the 3,000 bytes the record allows.
        with pytest.raises(Rejected, match="bytes"):
            publisher.publish(_request(FAMILY * 200))


def test_record_key_is_a_tid_fixed_by_the_attempt():
    started = datetime(2026, 12, 3, 12, 0, 0, 123456, tzinfo=UTC)
    key = record_key("attempt-1", started)
    assert len(key) == 13
    assert key[0] in "234567abcdefghij"
    assert set(key) <= set("234567abcdefghijklmnopqrstuvwxyz")
    assert record_key("attempt-1", started) == key
    assert record_key("attempt-2", started) != key
    later = record_key("attempt-1", started.replace(second=1))
    assert later > key  # TIDs sort by time

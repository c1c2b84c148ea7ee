"""Credentials never reach a log line, an exception message or a repr (issue #5)."""

from __future__ import annotations

import logging
import traceback
from datetime import UTC, datetime, timedelta

import pytest

from gateway.platforms import ChannelConfig, DeliveryRequest, MediaItem, PublishError
from gateway.platforms.transport import REDACTED, scrub
from tests.platforms.accounts import ALL_SECRETS, IG_USER, JPEG, PAGE_ID, X_ACCOUNT


def assert_no_secrets(text: str) -> None:
    leaked = [s for s in ALL_SECRETS if s in text]
    assert not leaked, f"credentials leaked: {leaked}"


def test_channel_repr_hides_credentials(channel):
    for platform in ("x", "facebook", "instagram"):
        assert_no_secrets(repr(channel(platform)))


def test_media_repr_does_not_dump_bytes():
    assert "bytes" in repr(MediaItem(JPEG, None, "image/jpeg", "alt"))
    assert str(JPEG[:8]) not in repr(MediaItem(JPEG, None, "image/jpeg", "alt"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /v23.0/me?access_token=EAAabc123&x=1", f"GET /v23.0/me?access_token={REDACTED}&x=1"),
        ('OAuth oauth_token="15-abc", oauth_signature="x%3D"', None),
        ("Authorization: Bearer AAAAAAAAAAAAAAAAAAAAAMLhe%2BuSeid", None),
    ],
)
def test_scrub_removes_credential_shaped_values(text, expected):
    cleaned = scrub(text)
    if expected is not None:
        assert cleaned == expected
    for secret in ("EAAabc123", "15-abc", "x%3D", "AAAAAAAAAAAAAAAAAAAAAMLhe"):
        assert secret not in cleaned


def test_scrub_removes_known_values_anywhere():
    assert scrub("token is abcdef123456 here", ["abcdef123456"]) == f"token is {REDACTED} here"


def test_nothing_logged_or_raised_contains_a_credential(fake, publisher, image_server, caplog):
    """Drive every adapter through successes and failures with all loggers at DEBUG
    (urllib3 logs each URL, query string included; tweepy and requests-oauthlib log headers)."""
    caplog.set_level(logging.DEBUG)
    fake.inject_fault("lost_answer", account_id=X_ACCOUNT, path_contains="/tweets")
    fake.inject_fault("error", account_id=PAGE_ID, status=500)
    fake.inject_fault("drop", account_id=IG_USER, path_contains="media_publish")
    since = datetime.now(UTC) - timedelta(hours=1)
    errors: list[PublishError] = []
    jobs = [
        ("x", DeliveryRequest(1, "a", "Hello", (MediaItem(JPEG, None, "image/jpeg", "alt"),))),
        ("facebook", DeliveryRequest(2, "b", "Hello", ())),
        (
            "instagram",
            DeliveryRequest(
                3, "c", "Hello", (MediaItem(None, f"{image_server}/photo.jpg", "image/jpeg", "a"),)
            ),
        ),
    ]
    for platform, request in jobs:
        for adapter in (publisher(platform), publisher(platform, access_token="EAAwrong-secret")):
            for action in (
                lambda a=adapter, r=request: a.publish(r),
                lambda a=adapter, r=request: a.find_existing(r, since),
                lambda a=adapter: a.check_connection(),
            ):
                try:
                    action()
                except PublishError as exc:
                    errors.append(exc)

    assert len(errors) >= 6  # wrong tokens and injected faults did fail
    for exc in errors:
        assert_no_secrets(str(exc))
        assert_no_secrets(repr(exc))
        assert_no_secrets("".join(traceback.format_exception(exc)))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "access_token=" in logged  # urllib3 did log Graph URLs ...
    assert_no_secrets(logged)  # ... but with the token scrubbed
    assert ChannelConfig.__dataclass_fields__["credentials"].repr is False

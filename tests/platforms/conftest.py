"""Fixtures: the fake platform and an image server, both real HTTP servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from fakeplatform.client import FakePlatformControl
from fakeplatform.server import serve_in_thread
from gateway.platforms import ChannelConfig, Publisher, adapter_for
from tests.platforms.accounts import (
    IG_TOKEN,
    IG_USER,
    JPEG,
    OTHER_JPEG,
    PAGE_ID,
    PAGE_TOKEN,
    X_ACCOUNT,
    X_CREDENTIALS,
)

#: GATEWAY_PLATFORM_ALLOWED_HOSTS for the fake platform and the image server, both on loopback.
LOOPBACK = ("127.0.0.1",)


@pytest.fixture(scope="session")
def fake_server() -> Iterator[str]:
    base_url, stop = serve_in_thread()
    yield base_url
    stop()


def _images_app(environ, start_response):
    """Serves /photo.jpg (a JPEG), /other.jpg, /not-an-image.jpg (text), anything else 404."""
    path = environ["PATH_INFO"]
    bodies = {
        "/photo.jpg": (JPEG, "image/jpeg"),
        "/other.jpg": (OTHER_JPEG, "image/jpeg"),
        "/not-an-image.jpg": (b"<html>not an image</html>", "image/jpeg"),
    }
    if path == "/redirect.jpg":
        # A public-looking URL that sends the fetcher somewhere private.
        start_response("302 Found", [("Location", "http://169.254.169.254/latest/meta-data/")])
        return [b""]
    if path not in bodies:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    body, content_type = bodies[path]
    start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture(scope="session")
def image_server() -> Iterator[str]:
    base_url, stop = serve_in_thread(app=_images_app)
    yield base_url
    stop()


@pytest.fixture
def fake(fake_server: str) -> Iterator[FakePlatformControl]:
    """A control client on a freshly reset fake platform with the three test accounts."""
    with FakePlatformControl(fake_server) as control:
        control.reset()
        control.register_account("x", X_ACCOUNT, X_CREDENTIALS, name="Council", username="council")
        control.register_account(
            "facebook", PAGE_ID, {"access_token": PAGE_TOKEN}, name="Anytown Council"
        )
        control.register_account(
            "instagram", IG_USER, {"access_token": IG_TOKEN}, username="anytowncouncil"
        )
        yield control


@pytest.fixture
def channel(fake_server: str) -> Callable[..., ChannelConfig]:
    def make(platform: str, **credentials: str) -> ChannelConfig:
        defaults = {
            "x": (X_ACCOUNT, X_CREDENTIALS),
            "facebook": (PAGE_ID, {"access_token": PAGE_TOKEN}),
            "instagram": (IG_USER, {"access_token": IG_TOKEN}),
        }
        account, creds = defaults[platform]
        return ChannelConfig(platform, account, {**creds, **credentials}, fake_server)

    return make


@pytest.fixture
def publisher(channel: Callable[..., ChannelConfig]) -> Iterator[Callable[..., Publisher]]:
    """Builds adapters for the fake platform and closes them after the test."""
    made: list[Publisher] = []

    def make(platform: str, **credentials: str) -> Publisher:
        # Instagram fetches images from the test image server on 127.0.0.1: allow it.
        adapter = adapter_for(channel(platform, **credentials), allowed_hosts=LOOPBACK)
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.close()

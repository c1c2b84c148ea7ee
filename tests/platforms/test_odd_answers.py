"""Answers no platform documents but every platform sends sometimes: a load balancer's HTML
error page, or a 200 whose body is not JSON. No library exception may leak past an adapter."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from fakeplatform.server import serve_in_thread
from gateway.platforms import (
    DeliveryRequest,
    OutcomeUnknown,
    PublishError,
    Retryable,
    adapter_for,
)
from tests.platforms.conftest import LOOPBACK


def _bad_gateway(environ, start_response):
    start_response("502 Bad Gateway", [("Content-Type", "text/html")])
    return [b"<html><body><h1>502 Bad Gateway</h1></body></html>"]


def _garbage_ok(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b"{not json"]


@pytest.fixture(scope="module")
def bad_gateway() -> Iterator[str]:
    url, stop = serve_in_thread(app=_bad_gateway)
    yield url
    stop()


@pytest.fixture(scope="module")
def garbage_ok() -> Iterator[str]:
    url, stop = serve_in_thread(app=_garbage_ok)
    yield url
    stop()


REQUEST = DeliveryRequest(1, "a", "Hello", ())


@pytest.mark.parametrize("platform", ["x", "facebook"])
def test_html_502_on_the_post_is_outcome_unknown_and_on_a_read_retryable(
    channel, bad_gateway, platform
):
    adapter = adapter_for(replace(channel(platform), base_url=bad_gateway), allowed_hosts=LOOPBACK)
    try:
        with pytest.raises(OutcomeUnknown) as caught:
            adapter.publish(REQUEST)
        assert caught.value.status == 502
        with pytest.raises(Retryable):
            adapter.check_connection()
    finally:
        adapter.close()


@pytest.mark.parametrize("platform", ["x", "facebook", "instagram"])
def test_unreadable_success_is_never_a_library_exception(channel, garbage_ok, platform):
    adapter = adapter_for(replace(channel(platform), base_url=garbage_ok), allowed_hosts=LOOPBACK)
    try:
        with pytest.raises(PublishError):
            adapter.check_connection()
        if platform != "instagram":
            # A 200 we cannot read, on the post itself: it may well have been published.
            with pytest.raises(OutcomeUnknown):
                adapter.publish(REQUEST)
    finally:
        adapter.close()


def test_adapters_do_not_import_the_web_stack():
    import subprocess
    import sys

    code = (
        "import sys, gateway.platforms;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'flask','sqlalchemy','rq'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

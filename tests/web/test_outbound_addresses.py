""" "Test connection" calls only public addresses, or hosts GATEWAY_PLATFORM_ALLOWED_HOSTS names,
and never follows a redirect (server-side request forgery through a channel's base URL,
issue #20)."""

from __future__ import annotations

import json

import pytest
import urllib3.util.connection

from tests.support.channels import ChannelSpec, add_channels
from tests.support.network import RecordingServer
from tests.web.conftest import PAGE_ID, PAGE_TOKEN
from tests.web.helpers import get, submit

#: What an internal service would answer: a Graph-shaped success naming something secret.
INTERNAL_ANSWER = json.dumps({"id": "1", "name": "internal-secret-of-the-intranet"}).encode()


def _channel(app, base_url: str) -> int:
    spec = ChannelSpec("facebook", "Council Page", PAGE_ID, {"access_token": PAGE_TOKEN})
    return add_channels(app, base_url, [spec])["facebook"]


def _test_connection(admin, channel_id: int):
    page = get(admin, f"/admin/channels/{channel_id}")
    return submit(admin, page, action=f"/admin/channels/{channel_id}/test")


@pytest.fixture
def no_outside_connections(monkeypatch):
    """Records every connection the gateway tries, and lets none leave loopback."""
    attempts: list[tuple[str, int]] = []
    real = urllib3.util.connection.create_connection

    def connect(address, *args, **kwargs):
        attempts.append(address)
        if address[0] != "127.0.0.1":
            raise ConnectionRefusedError("the test lets no connection leave 127.0.0.1")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", connect)
    return attempts


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_base_url_on_loopback_is_refused_unless_allowed(app, people, host):
    app.config["PLATFORM_ALLOWED_HOSTS"] = ()
    with RecordingServer(body=INTERNAL_ANSWER) as internal:
        channel_id = _channel(app, f"http://{host}:{internal.port}")
        refused = _test_connection(people["admin"], channel_id)
        assert refused.status == 400
        [problem] = refused.errors()
        assert "does not call this address" in problem
        assert "GATEWAY_PLATFORM_ALLOWED_HOSTS" in problem
        assert "internal-secret" not in refused.html
        assert internal.requests == []  # nothing was sent at all

        # Allowed by name (host, or host and port), the same channel connects.
        app.config["PLATFORM_ALLOWED_HOSTS"] = (f"{host}:{internal.port}",)
        allowed = _test_connection(people["admin"], channel_id)
        assert allowed.status == 302
        assert len(internal.requests) == 1


def test_allowing_127_0_0_1_does_not_allow_a_name_that_resolves_to_it(app, people):
    app.config["PLATFORM_ALLOWED_HOSTS"] = ("127.0.0.1",)
    with RecordingServer(body=INTERNAL_ANSWER) as internal:
        channel_id = _channel(app, f"http://localhost:{internal.port}")
        assert _test_connection(people["admin"], channel_id).status == 400
        assert internal.requests == []


@pytest.mark.parametrize(
    "base_url",
    [
        "http://[::1]:8080",
        "http://169.254.169.254",  # the cloud metadata service
        "http://[::ffff:169.254.169.254]",  # the same, IPv4-mapped
        "http://[fe80::1]:8080",
        "http://10.0.0.8",
        "http://0.0.0.0:8080",
    ],
)
def test_link_local_private_and_ipv6_loopback_base_urls_are_refused(
    app, people, no_outside_connections, base_url
):
    app.config["PLATFORM_ALLOWED_HOSTS"] = ("127.0.0.1",)
    channel_id = _channel(app, base_url)
    refused = _test_connection(people["admin"], channel_id)
    assert refused.status == 400
    assert "does not call this address" in " ".join(refused.errors())
    assert no_outside_connections == []  # refused before any connection was tried


def test_a_redirect_is_not_followed(app, people):
    app.config["PLATFORM_ALLOWED_HOSTS"] = ("127.0.0.1",)
    with (
        RecordingServer(body=INTERNAL_ANSWER) as target,
        RecordingServer(
            status=302, headers={"Location": f"{target.url}/me"}, body=b"redirect-body-text"
        ) as redirecting,
    ):
        channel_id = _channel(app, redirecting.url)
        refused = _test_connection(people["admin"], channel_id)
        assert refused.status == 400
        assert "redirect" in " ".join(refused.errors())
        assert "redirect-body-text" not in refused.html
        assert "internal-secret" not in refused.html
        assert len(redirecting.requests) == 1
        assert target.requests == []  # the redirect was not followed

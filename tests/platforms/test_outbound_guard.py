"""The transport connects only to the address it has just checked (DNS rebinding), keeps the
name for the Host header, and refuses redirects (issue #20)."""

from __future__ import annotations

import socket

import pytest
import requests
import urllib3.util.connection

from gateway.platforms import urls
from gateway.platforms.transport import RefusedRedirect, guarded_session
from tests.support.network import RecordingServer


@pytest.fixture
def connections(monkeypatch):
    """Every address a connection is opened to; none may leave 127.0.0.1."""
    attempts: list[tuple[str, int]] = []
    real = urllib3.util.connection.create_connection

    def connect(address, *args, **kwargs):
        attempts.append(address)
        if address[0] != "127.0.0.1":
            raise ConnectionRefusedError("the test lets no connection leave 127.0.0.1")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", connect)
    return attempts


def _resolving(monkeypatch, answers: list[str]) -> list[str]:
    """Resolve every name to the next of ``answers`` (the last one repeats)."""
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append(host)
        address = answers[min(len(asked), len(answers)) - 1]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_name_that_rebinds_to_loopback_after_the_check_is_not_connected_to(
    monkeypatch, connections
):
    with RecordingServer() as internal:
        # First answer public (the check before sending), then loopback (at connect time).
        asked = _resolving(monkeypatch, ["8.8.8.8", "127.0.0.1"])
        with guarded_session(2.0) as session, pytest.raises(requests.ConnectionError):
            session.get(f"http://rebind.test:{internal.port}/latest/meta-data/")
        assert len(asked) == 2
        assert connections == []
        assert internal.requests == []


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(monkeypatch, connections):
    with RecordingServer(body=b"{}") as platform:
        _resolving(monkeypatch, ["127.0.0.1"])
        # Pretend the address is public, as a platform's is.
        monkeypatch.setattr(urls, "_is_public", lambda address: True)
        with guarded_session(2.0) as session:
            response = session.get(f"http://api.platform.test:{platform.port}/me")
        assert response.status_code == 200
        assert connections == [("127.0.0.1", platform.port)]  # the vetted address itself
        assert platform.requests == ["/me"]


def test_redirects_are_refused_even_between_allowed_hosts():
    with (
        RecordingServer() as target,
        RecordingServer(status=307, headers={"Location": f"{target.url}/x"}) as redirecting,
    ):
        with (
            guarded_session(2.0, ("127.0.0.1",)) as session,
            pytest.raises(RefusedRedirect),
        ):
            session.post(f"{redirecting.url}/2/tweets", json={"text": "hi"})
        assert target.requests == []

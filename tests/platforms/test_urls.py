"""is_public_url refuses private, loopback and link-local targets (server-side request forgery)."""

from __future__ import annotations

import socket

import pytest

from gateway.platforms.urls import is_public_url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/image.jpg",
        "http://127.1.2.3:8080/image.jpg",
        "http://localhost/image.jpg",
        "http://10.0.0.5/image.jpg",
        "http://172.16.3.4/image.jpg",
        "http://192.168.1.10/image.jpg",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata service
        "http://[::1]/image.jpg",
        "http://[fe80::1]/image.jpg",
        "http://[fd00::1]/image.jpg",
        "http://[::ffff:127.0.0.1]/image.jpg",  # IPv4-mapped loopback
        "http://0.0.0.0/image.jpg",
        "http://100.64.0.1/image.jpg",  # carrier-grade NAT
        "http://2130706433/image.jpg",  # 127.0.0.1 as one decimal number
    ],
)
def test_private_targets_are_refused(url):
    assert is_public_url(url) is False


@pytest.mark.parametrize(
    "url",
    [
        "ftp://8.8.8.8/image.jpg",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://user:pass@8.8.8.8/image.jpg",
        "http:///no-host",
        "http://8.8.8.8:99999/image.jpg",  # invalid port
        "http://no-such-host.invalid/image.jpg",
        "not a url",
    ],
)
def test_malformed_or_non_http_urls_are_refused(url):
    assert is_public_url(url) is False


def test_public_address_is_accepted():
    assert is_public_url("https://8.8.8.8/image.jpg") is True
    assert is_public_url("http://[2001:4860:4860::8888]/image.jpg") is True


def test_a_host_with_any_private_address_is_refused(monkeypatch):
    def resolve(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    assert is_public_url("https://images.example.org/a.jpg") is False


def test_explicit_allowance_for_the_fake_platform():
    assert is_public_url("http://127.0.0.1:8025/x.jpg", allowed_hosts=("127.0.0.1",)) is True
    assert is_public_url("http://127.0.0.1:8025/x.jpg", allowed_hosts=("127.0.0.1:8025",)) is True
    assert is_public_url("http://127.0.0.1:9999/x.jpg", allowed_hosts=("127.0.0.1:8025",)) is False
    assert is_public_url("http://10.0.0.1/x.jpg", allowed_hosts=("127.0.0.1",)) is False

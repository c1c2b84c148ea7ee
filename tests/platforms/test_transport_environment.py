"""The adapters' HTTP sessions honour a council's proxy and CA settings, read once per session."""

from __future__ import annotations

import requests

from gateway.platforms.transport import mount_transport

HOSTS = ("https://graph.facebook.com", "https://graph.instagram.com")


def _session():
    return mount_transport(requests.Session(), HOSTS, "http://127.0.0.1:9", 5.0)


def test_the_proxy_in_the_environment_is_used(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.council.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = _session()
    assert session.proxies["https"] == "http://proxy.council.example:3128"
    # read once: later requests do not walk the environment again
    assert session.trust_env is False


def test_no_proxy_for_the_platform_host_is_honoured(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.council.example:3128")
    monkeypatch.setenv("NO_PROXY", "graph.facebook.com")
    assert "https" not in _session().proxies


def test_a_ca_bundle_in_the_environment_is_used(monkeypatch, tmp_path):
    bundle = tmp_path / "council-ca.pem"
    bundle.write_text("not read until a request is made")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    assert _session().verify == str(bundle)


def test_without_settings_nothing_changes(monkeypatch):
    for name in (
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    ):
        monkeypatch.delenv(name, raising=False)
    session = _session()
    assert session.proxies == {} and session.verify is True

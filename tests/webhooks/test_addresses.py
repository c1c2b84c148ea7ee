"""Server-side request forgery (issue 17): addresses inside the network are refused when an
endpoint is registered and again when a message is sent, after DNS, unless
GATEWAY_WEBHOOKS_ALLOW_PRIVATE is on; plain http only with it; no redirect is followed."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import select

from gateway.extensions import db
from gateway.models import WebhookAttempt, WebhookEndpoint, WebhookMessage
from gateway.webhooks import endpoints
from gateway.webhooks.addresses import AddressRefused, check_url
from gateway.webhooks.delivery import deliver_message
from tests.webhooks.conftest import register

REFUSED = [
    "https://10.0.0.5/hooks",
    "https://127.0.0.1/hooks",
    "https://127.1.2.3:8443/hooks",
    "https://[::1]/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
    "https://[::ffff:a00:1]/hooks",  # 10.0.0.1, IPv4-mapped in hex
    "https://169.254.169.254/latest/meta-data",
    "https://192.168.1.10/hooks",
    "https://172.16.0.1/hooks",
    "https://[fe80::1]/hooks",
    "https://[fd00::1]/hooks",
    "https://224.0.0.1/hooks",
    "https://0.0.0.0/hooks",
    "https://240.0.0.1/hooks",
    "https://localhost/hooks",  # a name that resolves to loopback
]


@pytest.mark.parametrize("url", REFUSED)
def test_private_loopback_link_local_and_reserved_addresses_are_refused(url):
    with pytest.raises(AddressRefused, match="inside the network"):
        check_url(url, allow_private=False)


def test_a_name_resolving_to_loopback_is_refused(monkeypatch):
    """A public-looking name whose DNS answer is 127.0.0.1 (or has one private address)."""
    real = socket.getaddrinfo

    def fake_dns(host, *args, **kwargs):
        if host == "hooks.example.org":
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443)),
            ]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    with pytest.raises(AddressRefused, match="inside the network"):
        check_url("https://hooks.example.org/in", allow_private=False)


@pytest.mark.parametrize(
    "url,words",
    [
        ("http://93.184.216.34/hooks", "https://"),
        ("ftp://93.184.216.34/hooks", "https://"),
        ("https://user:pw@93.184.216.34/hooks", "user name"),
        ("not a url", "https://"),
    ],
)
def test_plain_http_and_odd_addresses_are_refused(url, words):
    with pytest.raises(AddressRefused, match=words):
        check_url(url, allow_private=False)


def test_a_public_address_is_accepted():
    assert check_url("https://93.184.216.34/hooks", allow_private=False)


def test_the_setting_allows_loopback_and_http():
    assert check_url("http://127.0.0.1:9/hooks", allow_private=True)


def test_registration_refuses_loopback_with_the_setting_off(app):
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
    with app.app_context():
        for url in ("https://127.0.0.1/h", "https://[::1]/h", "https://10.1.2.3/h"):
            with pytest.raises(endpoints.EndpointError, match="inside the network"):
                endpoints.create(
                    url=url,
                    description="",
                    events=["post.published"],
                    enabled=True,
                    actor=_system(),
                )
            db.session.rollback()
        assert db.session.scalars(select(WebhookEndpoint)).all() == []


def _system():
    from gateway.audit import Actor

    return Actor.system()


def test_delivery_checks_again_and_sends_nothing_inside_the_network(
    app, clock, channels, officers, receiver
):
    """Registered while the setting was on; with it off, the message is refused at send time
    (after DNS, by the guarded transport) and the receiver gets nothing."""
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    _, receiver.secret = register(app, receiver.url.replace("http://", "https://"))
    from tests.publishing.conftest import approved_post

    app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
    approved_post(app, officers, [channels["x"]])
    with app.app_context():
        ids = db.session.scalars(select(WebhookMessage.message_id)).all()
    assert ids
    with app.app_context():
        assert [deliver_message(i) for i in ids] == ["retry"] * len(ids)
        errors = db.session.scalars(select(WebhookAttempt.error)).all()
    assert errors and all("refused" in e for e in errors), errors
    assert receiver.received == []


def test_a_redirect_is_not_followed(app, clock, channels, officers, receiver, allow_private):
    receiver.status = 307
    _, receiver.secret = register(app, receiver.url, ["post.submitted"])
    from gateway.posts import service
    from tests.publishing.conftest import user

    with app.app_context():
        from datetime import UTC, datetime, timedelta

        post = service.create_draft(
            user(officers.author),
            text="Bin collections on Monday will take place as normal.",
            channel_ids=[channels["x"]],
            scheduled_at=datetime.now(UTC) + timedelta(days=2),
        )
        service.submit(post, user(officers.author))
        db.session.commit()
        [message_id] = db.session.scalars(select(WebhookMessage.message_id)).all()
    with app.app_context():
        assert deliver_message(message_id) == "retry"
        [attempt] = db.session.scalars(select(WebhookAttempt)).all()
        assert attempt.status_code == 307 and "redirect" in attempt.error
    assert len(receiver.received) == 1

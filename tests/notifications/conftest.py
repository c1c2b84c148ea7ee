"""Notification fixtures: a real SMTP server on loopback (aiosmtpd) that keeps what it is sent,
and the publishing fixtures (the fake platform over HTTP, channels on it, officers)."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from tests.publishing.conftest import (  # noqa: F401 - fixtures, found by name
    channels,
    clock,
    fake,
    fake_server,
    officers,
)

#: The communications team's leads, as GATEWAY_EMERGENCY_NOTIFY_EMAILS would list them.
LEADS = ("comms.lead@council.example", "head.of.comms@council.example")


class Inbox:
    """What the SMTP server accepted: (envelope recipients, parsed message)."""

    def __init__(self) -> None:
        self.messages: list[tuple[tuple[str, ...], Message]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(
            (tuple(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for rcpts, m in self.messages if address in rcpts]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox(app):
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=controller.port,
        MAIL_FROM="gateway@council.example",
        EMERGENCY_NOTIFY_EMAILS=LEADS,
        PUBLIC_URL="https://gateway.council.example",
    )
    yield handler
    controller.stop()

"""A real SMTP server on loopback (aiosmtpd) that keeps what it is sent, for the email tests of
tests/web, tests/notifications and tests/browser."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from tests.support.network import free_port

#: The communications team's leads, as GATEWAY_EMERGENCY_NOTIFY_EMAILS would list them.
LEADS = ("comms.lead@council.example", "head.of.comms@council.example")
#: Where the emails' links point (a page's own address, not the test server's).
PUBLIC_URL = "https://gateway.council.example"


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


@pytest.fixture
def inbox(app):
    """The app sends its email to an :class:`Inbox`, and tells :data:`LEADS` of emergencies."""
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=controller.port,
        MAIL_FROM="gateway@council.example",
        EMERGENCY_NOTIFY_EMAILS=LEADS,
        PUBLIC_URL=PUBLIC_URL,
    )
    yield handler
    controller.stop()

"""Webhooks for the council's other systems (issue 17): signed messages about posts and
channels, written to an outbox in the transaction of the change and sent from a queue of
their own (gateway.webhooks.delivery)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    # Importing the outbox connects it to the publish log's commit-time signal.
    from gateway.webhooks import outbox  # noqa: F401

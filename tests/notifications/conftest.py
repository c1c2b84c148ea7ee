"""Notification fixtures: the publishing fixtures (the fake platform over HTTP, channels on it,
officers); the SMTP inbox is tests/support/smtp.py's, shared with tests/web and tests/browser."""

from __future__ import annotations

from tests.publishing.conftest import (  # noqa: F401 - fixtures, found by name
    channels,
    clock,
    fake,
    fake_server,
    officers,
)

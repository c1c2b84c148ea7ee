"""Email notifications (issues 6 and 7): approvers when a post awaits them; authors when their
post is approved, rejected, blocked at publish time, fails or is held for a person; the
communications leads when an emergency post goes out (docs/web.md, "Email").

Sent over SMTP with the standard library after the change is committed (an email about a change
that then rolled back would be a lie). A mail server that is down never undoes or fails the
officer's action: the failure is logged and the page carries on.

Settings (read from the environment in gateway.settings): ``SMTP_HOST`` (none: no email is
sent), ``SMTP_PORT`` (25), ``SMTP_USERNAME``/``SMTP_PASSWORD`` (optional), ``SMTP_STARTTLS``
(false), ``MAIL_FROM``, and ``GATEWAY_EMERGENCY_NOTIFY_EMAILS`` (who is told of an emergency).
"""

from flask import Flask

from gateway.notifications.mail import Email, send
from gateway.notifications.messages import (
    post_awaits_approval,
    post_blocked,
    post_decided,
    post_failed,
    post_held,
    post_taken_over,
)


def init_app(app: Flask) -> None:
    """Tell people when the publish job or the emergency form sends ``post_event``."""
    from gateway.notifications import subscribers

    subscribers.init_app(app)


__all__ = [
    "Email",
    "post_awaits_approval",
    "post_blocked",
    "post_decided",
    "post_failed",
    "post_held",
    "post_taken_over",
    "send",
]

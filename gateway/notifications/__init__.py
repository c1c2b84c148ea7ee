"""Email notifications (issue 6): approvers when a post awaits them; authors when their post is
approved, rejected, blocked at publish time or fails.

Sent over SMTP with the standard library after the change is committed (an email about a change
that then rolled back would be a lie). A mail server that is down never undoes or fails the
officer's action: the failure is logged and the page carries on.

Settings (Flask config, from the environment in the settings module): ``SMTP_HOST`` (none: no
email is sent), ``SMTP_PORT`` (25), ``SMTP_USERNAME``/``SMTP_PASSWORD`` (optional),
``SMTP_STARTTLS`` (false), ``MAIL_FROM``.
"""

from gateway.notifications.mail import Email, send
from gateway.notifications.messages import (
    post_awaits_approval,
    post_blocked,
    post_decided,
    post_failed,
)

__all__ = [
    "Email",
    "post_awaits_approval",
    "post_blocked",
    "post_decided",
    "post_failed",
    "send",
]

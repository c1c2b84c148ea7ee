"""One function that sends an email over SMTP, and never raises into the caller."""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app

from gateway.settings import DEFAULT_MAIL_FROM, DEFAULT_SMTP_PORT

log = logging.getLogger(__name__)

#: A slow mail server must not hold an officer's page for long.
SMTP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Email:
    to: tuple[str, ...]
    subject: str
    body: str


def _message(email: Email, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    # One message a recipient: approvers do not see each other's addresses.
    message["To"] = email.to[0]
    # Header injection: EmailMessage refuses CR/LF in a header, and the subject is ours anyway;
    # collapse whitespace so a post's text used in a subject stays on one line.
    message["Subject"] = " ".join(email.subject.split())
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    message.set_content(email.body)
    return message


def send(email: Email) -> int:
    """Send to each recipient. Returns how many were accepted; 0 when mail is not set up."""
    config = current_app.config
    host = config.get("SMTP_HOST")
    if not host or not email.to:
        return 0
    sender = config.get("MAIL_FROM") or DEFAULT_MAIL_FROM
    sent = 0
    try:
        with smtplib.SMTP(
            host, int(config.get("SMTP_PORT") or DEFAULT_SMTP_PORT), timeout=SMTP_TIMEOUT_SECONDS
        ) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls(context=ssl.create_default_context())
            if config.get("SMTP_USERNAME"):
                smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
            for recipient in sorted(set(email.to)):
                one = Email((recipient,), email.subject, email.body)
                try:
                    smtp.send_message(_message(one, sender))
                    sent += 1
                except smtplib.SMTPRecipientsRefused:
                    log.warning("mail server refused a recipient of %r", email.subject)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("could not send %r: %s", email.subject, exc.__class__.__name__)
    return sent

"""Webhooks (issue 17): the endpoints an admin registers, the outbox of messages for them, and
every attempt to deliver one.

The database is the source of truth and Redis only delivers: a message row is written in the
same transaction as the change it tells of (gateway.webhooks.outbox), so it commits or rolls
back with it, and the scheduler sweep sends any that is due and has no live job.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.extensions import db
from gateway.models.base import UTCDateTime, utcnow


class WebhookEndpoint(db.Model):
    """One HTTPS address an admin registered, the events it is sent, and its signing secret
    (encrypted with GATEWAY_ENCRYPTION_KEYS, bound to this row: gateway.webhooks.signing).

    Deleting one keeps its row (``deleted_at``) with its messages' history: a message being
    written for it by a publish at that moment must not fail its foreign key (and so the
    publish's own transaction)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    #: The event types it is sent, space-separated (gateway.webhooks.events.EVENT_TYPES).
    events: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(default=True, server_default=true())
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: After a rotation that keeps the old secret for a while, that secret (sealed for its own
    #: purpose: gateway.webhooks.signing) and until when it signs beside the new one.
    previous_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def event_types(self) -> list[str]:
        return self.events.split() if self.events else []

    def __repr__(self) -> str:
        return f"<WebhookEndpoint {self.id} {self.url}>"


class WebhookMessage(db.Model):
    """One event for one endpoint: the outbox row. Its body is fixed when it is written, so
    every attempt sends (and signs) the same bytes; each attempt signs with its own time."""

    __tablename__ = "webhook_messages"
    __table_args__ = (Index("ix_webhook_messages_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The ``webhook-id`` header: the same on every attempt, so a receiver can drop repeats.
    message_id: Mapped[str] = mapped_column(String(40), unique=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    event_type: Mapped[str] = mapped_column(String(40))
    #: The JSON body, exactly as sent.
    body: Mapped[str] = mapped_column(Text)
    #: gateway.webhooks.delivery.MessageStatus
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: While an attempt runs: past this, its worker died and the sweep sends it again.
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Why it was given up (after 24 hours, or its endpoint was disabled or deleted).
    gave_up_reason: Mapped[str | None] = mapped_column(Text)

    endpoint: Mapped[WebhookEndpoint] = relationship()
    attempt_rows: Mapped[list[WebhookAttempt]] = relationship(
        back_populates="message", order_by="WebhookAttempt.id", cascade="all, delete-orphan"
    )


class WebhookAttempt(db.Model):
    """One try at sending a message: when, the answer's status code, how long it took, or
    what went wrong (never the secret or the signature)."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(
        ForeignKey("webhook_messages.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    #: The first characters of the receiver's answer, for an admin reading why it failed.
    response_excerpt: Mapped[str | None] = mapped_column(Text)

    message: Mapped[WebhookMessage] = relationship(back_populates="attempt_rows")

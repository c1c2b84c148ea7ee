"""Column helpers shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, TypeDecorator

from gateway import clock


def utcnow() -> datetime:
    """Now, in UTC, by the gateway's clock (gateway.clock: the system clock in production)."""
    return clock.now()


class UTCDateTime(TypeDecorator):
    """Stores UTC, hands back aware UTC datetimes on PostgreSQL and SQLite alike.

    SQLite keeps no zone, so naive values read back are UTC by construction; a naive value
    written is refused, because nobody can tell what zone it meant.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given: times are stored in UTC, pass an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

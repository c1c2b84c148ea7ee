"""What the guardrails read: elections, the register, allowed contacts, closure days."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db
from gateway.models.base import UTCDateTime, utcnow


class Election(db.Model):
    __tablename__ = "elections"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    polling_day: Mapped[date] = mapped_column(Date)
    # The date the notice of election was actually published; None until an admin enters it,
    # and the period is then assumed (issue 4).
    notice_published: Mapped[date | None] = mapped_column(Date)
    wards: Mapped[str] = mapped_column(Text, default="")  # by-elections: one ward a line
    subject: Mapped[str | None] = mapped_column(Text)  # referendums: what it is about
    # What the council calls it ("Local elections, 6 May 2027"); None for that form of name,
    # made from the kind and polling day (gateway.domain.guardrails.model.default_election_name).
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RegisterPerson(db.Model):
    """A member or candidate on the register an admin keeps (never names in code)."""

    __tablename__ = "register_people"
    __table_args__ = (UniqueConstraint("name", "ward", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    party: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(40))  # councillor | candidate | ...
    ward: Mapped[str] = mapped_column(String(200), default="")


class AllowedContact(db.Model):
    """A departmental phone number or an email domain that may appear in posts."""

    __tablename__ = "allowed_contacts"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # phone | email-domain
    value: Mapped[str] = mapped_column(String(254))
    note: Mapped[str] = mapped_column(String(200), default="")


class ClosureDay(db.Model):
    """An extra day the accounts are closed, beyond bank holidays."""

    __tablename__ = "closure_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    reason: Mapped[str] = mapped_column(String(200), default="")


class PolicyVersion(db.Model):
    """One row whose number moves on with every change to the four tables above (database
    triggers, migration 0005), so the publish job sees a change without reading them all."""

    __tablename__ = "policy_version"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))


class PolicySetting(db.Model):
    """A choice an admin makes in the policy pages, by name (migration 0012): for now, how
    emergency posts are sent in office hours (gateway.posts.emergency.IN_HOURS_SETTING).
    A missing row is the default; every change writes a ``setting.changed`` audit entry."""

    __tablename__ = "policy_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

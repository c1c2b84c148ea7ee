"""Reviews of emergency posts, made the next working day by an officer other than the author."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.extensions import db
from gateway.models.base import UTCDateTime, utcnow


class EmergencyReview(db.Model):
    __tablename__ = "emergency_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), unique=True, index=True
    )
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str] = mapped_column(String(20))  # reviewed | concern
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    post = relationship("Post")
    reviewer = relationship("User")


class EmergencyTemplate(db.Model):
    """A prepared bilingual text for one emergency category, kept by an admin (issue 18), so a
    duty officer starts an emergency post in both languages rather than translating at 2am."""

    __tablename__ = "emergency_templates"

    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    text_cy: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

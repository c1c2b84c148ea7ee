"""Posts, their images, their deliveries (one per channel) and their approvals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.domain.statuses import DeliveryStatus, PostStatus
from gateway.extensions import db
from gateway.models.base import UTCDateTime, utcnow


class Post(db.Model):
    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_status_scheduled", "status", "scheduled_at"),
        # The officers' pages (migration 0005): the schedule by time whatever the status,
        # an officer's own drafts and posts awaiting approval, and the few emergency posts.
        Index("ix_posts_scheduled_at", "scheduled_at"),
        Index("ix_posts_author_status", "author_id", "status"),
        Index(
            "ix_posts_emergency_created",
            "created_at",
            postgresql_where=sql_text("emergency_category IS NOT NULL"),
            sqlite_where=sql_text("emergency_category IS NOT NULL"),
        ),
        # gateway.web.queries.PROBLEM_STATUSES: the dashboard's latest failures.
        Index(
            "ix_posts_problems_updated",
            "updated_at",
            "id",
            postgresql_where=sql_text("status IN ('failed', 'partly_published', 'blocked')"),
            sqlite_where=sql_text("status IN ('failed', 'partly_published', 'blocked')"),
        ),
        # The officers' post search (gateway.web.search, migration 0014): words anywhere in
        # the text, case-insensitive, through pg_trgm on PostgreSQL; SQLite reads the table.
        Index(
            "ix_posts_text_trgm",
            func.lower(sql_text("text")).label("text_lower"),
            postgresql_using="gin",
            postgresql_ops={"text_lower": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        # The same for a bilingual post's Welsh text (migration 0025, issue 18).
        Index(
            "ix_posts_text_cy_trgm",
            func.lower(sql_text("text_cy")).label("text_cy_lower"),
            postgresql_using="gin",
            postgresql_ops={"text_cy_lower": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The post's text; on a bilingual post (issue 18) its English text, beside ``text_cy``.
    text: Mapped[str] = mapped_column(Text)
    # The Welsh text of a bilingual post; None on a post in one language (migration 0017).
    text_cy: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(32), default=PostStatus.DRAFT.value)
    # None for an ordinary post; the category (issue 7) for an emergency post.
    emergency_category: Mapped[str | None] = mapped_column(String(40))
    # How an emergency post was sent (gateway.domain.emergency.Release: at once, or to
    # fast-track approval in office hours), fixed when it is made; the publish job reads it.
    emergency_release: Mapped[str | None] = mapped_column(String(20))
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Optimistic locking: two officers editing at once cannot silently overwrite each other.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Who may edit and submit it now: its author, until another officer takes it over
    # explicitly (issue 20; recorded in the publish log). None only on rows older than that.
    # A user id without a foreign key constraint (migration 0009 says why); users are never
    # deleted, only deactivated.
    holder_id: Mapped[int | None] = mapped_column(Integer)
    # How many times it has been approved: each edit belongs to the round it was made in, and
    # an approval closes the round (see PostEditor).
    approval_round: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    author = relationship("User", lazy="joined", foreign_keys=[author_id])
    holder = relationship(
        "User", lazy="select", primaryjoin="foreign(Post.holder_id) == User.id", viewonly=True
    )
    editors: Mapped[list[PostEditor]] = relationship(
        back_populates="post", cascade="all, delete-orphan", order_by="PostEditor.id"
    )
    images: Mapped[list[PostImage]] = relationship(
        back_populates="post", cascade="all, delete-orphan", order_by="PostImage.position"
    )
    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="post", cascade="all, delete-orphan", order_by="Delivery.id"
    )
    approvals: Mapped[list[Approval]] = relationship(
        back_populates="post", cascade="all, delete-orphan", order_by="Approval.id"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def status_enum(self) -> PostStatus:
        return PostStatus(self.status)

    @property
    def bilingual(self) -> bool:
        """In Welsh and English (issue 18): both texts, one approval, published together."""
        return self.text_cy is not None

    @property
    def current_holder_id(self) -> int:
        return self.holder_id if self.holder_id is not None else self.author_id

    def editor_ids(self, round_: int | None = None) -> frozenset[int]:
        """Who changed the post in ``round_`` (by default the open one)."""
        wanted = self.approval_round if round_ is None else round_
        return frozenset(e.user_id for e in self.editors if e.round == wanted)


class PostEditor(db.Model):
    """One person who wrote or changed a post in one approval round (issue 20).

    The approver of a round must be neither the post's author nor any of its editors, so an
    officer who rewrites someone else's post can never approve their own words.
    """

    __tablename__ = "post_editors"
    __table_args__ = (UniqueConstraint("post_id", "user_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    round: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    post: Mapped[Post] = relationship(back_populates="editors")


class PostImage(db.Model):
    __tablename__ = "post_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column()
    width: Mapped[int | None] = mapped_column()
    height: Mapped[int | None] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    alt_text: Mapped[str] = mapped_column(Text, default="")
    # The Welsh alt text on a bilingual post (``alt_text`` is then the English one).
    alt_text_cy: Mapped[str | None] = mapped_column(Text)
    # Images live in the instance folder under their hash; the row is the source of truth.
    storage_key: Mapped[str] = mapped_column(String(255))

    post: Mapped[Post] = relationship(back_populates="images")


class Delivery(db.Model):
    __tablename__ = "deliveries"
    __table_args__ = (
        # A bilingual post may go out as two posts on one channel, its Welsh and its English
        # one (issue 18): one delivery per post, channel and language.
        UniqueConstraint("post_id", "channel_id", "language"),
        Index("ix_deliveries_status_due", "status", "due_at"),
        # The release loop's deliveries waiting to be retried (migration 0007).
        Index("ix_deliveries_status_next_attempt", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), index=True)
    # Which text it publishes (gateway.domain.bilingual): "" the post's only text, "cy" or
    # "en" one language of a bilingual post, "cy+en" or "en+cy" both in one post, in that order.
    language: Mapped[str] = mapped_column(String(8), default="", server_default="")
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    # The claim: a worker owns the delivery while its attempt id is here and its lease is live.
    attempt_id: Mapped[str | None] = mapped_column(String(36))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempt_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    platform_post_id: Mapped[str | None] = mapped_column(String(120))
    platform_url: Mapped[str | None] = mapped_column(String(500))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    held_reason: Mapped[str | None] = mapped_column(Text)
    # Held with the delivery of the other language (this id) because that one failed, was
    # blocked or held: a post never goes out in English only because the Welsh one failed.
    held_with_id: Mapped[int | None] = mapped_column(Integer)
    # The officer who decided this delivery may go out without the other language after all.
    alone_by_id: Mapped[int | None] = mapped_column(Integer)

    post: Mapped[Post] = relationship(back_populates="deliveries")
    channel = relationship("Channel", lazy="joined")

    @property
    def status_enum(self) -> DeliveryStatus:
        return DeliveryStatus(self.status)


class Approval(db.Model):
    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    approver_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # SHA-256 of exactly what was approved (text, images, alt text, channels, time): the worker
    # publishes only while the post still matches it (issue 5).
    fingerprint: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(20))  # approved | rejected
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Cleared approvals stay for the history; only a current one lets a post go out.
    current: Mapped[bool] = mapped_column(default=True)
    # The post's approval round this approval closed (decision "approved"): its approver must
    # not be among that round's editors (PostEditor). None on other decisions.
    round: Mapped[int | None] = mapped_column(Integer)

    post: Mapped[Post] = relationship(back_populates="approvals")
    approver = relationship("User", lazy="joined")

"""What an adapter is given and what it answers: plain frozen dataclasses and one Protocol.

No Flask, SQLAlchemy or RQ here (issue #5): the publish job loads its rows and builds these.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, Self, runtime_checkable

Platform = Literal["x", "facebook", "instagram", "bluesky", "mastodon"]
PLATFORMS: tuple[Platform, ...] = ("x", "facebook", "instagram", "bluesky", "mastodon")

# How long one HTTP request to a platform may take before we give up on it. A read timeout
# after a post was sent is an OutcomeUnknown, so this is long enough for a slow platform but
# short enough that a stuck request does not hold a worker for minutes.
DEFAULT_TIMEOUT_SECONDS = 15.0
#: Where the fake platform shows a published post (fakeplatform.pages.POST_PAGE_PATH): the
#: link a channel pointed at the fake (training) gives, instead of the real site's.
FAKE_POST_PAGE_PATH = "/_fake/posts/"


@dataclass(frozen=True)
class ChannelConfig:
    """One connected account. ``credentials`` never appears in repr (so never in a log line)."""

    platform: Platform
    external_account_id: str
    credentials: Mapping[str, str] = field(repr=False)
    base_url: str | None = None


@dataclass(frozen=True)
class MediaItem:
    """One image: its bytes (X, Facebook upload them) and/or a URL (Instagram fetches it)."""

    data: bytes | None = field(repr=False)
    url: str | None
    content_type: str
    alt_text: str

    def __repr__(self) -> str:
        size = "no bytes" if self.data is None else f"{len(self.data)} bytes"
        return f"MediaItem({size}, url={self.url!r}, content_type={self.content_type!r})"


@dataclass(frozen=True)
class DeliveryRequest:
    """What to publish for one delivery attempt (one post on one channel)."""

    delivery_id: int
    attempt_id: str
    text: str
    media: tuple[MediaItem, ...] = ()
    #: When the attempt began (the delivery's attempt_started_at): Bluesky's record key is
    #: made from it and the attempt id, so a lost answer's record can be read back by its key.
    started_at: datetime | None = None


@dataclass(frozen=True)
class PostRef:
    """Where the platform put the post."""

    platform_post_id: str
    url: str | None


class ClosingMixin:
    """``with adapter_for(channel) as publisher: ...`` closes the HTTP pool on the way out."""

    def close(self) -> None:  # pragma: no cover - every adapter overrides it
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@runtime_checkable
class Publisher(Protocol):
    """One connected account on one platform. Every method raises only PublishError
    subclasses (see ``gateway.platforms.errors``); no library exception leaks out."""

    def publish(self, req: DeliveryRequest) -> PostRef:
        """Publish once. Never retries a request that may have reached the platform."""
        ...

    def find_existing(
        self, req: DeliveryRequest, since: datetime, *, exclude: Collection[str] = ()
    ) -> PostRef | None:
        """The account's newest post made since ``since`` whose text matches ``req`` and whose
        id is not in ``exclude`` (posts the gateway already knows are another delivery's), if
        any: the look-up to run after OutcomeUnknown, before anyone considers sending again.
        It pages back until it has read every post since ``since``; if it cannot (its page
        limit), it raises LookupIncomplete rather than answer None."""
        ...

    def check_connection(self) -> str:
        """The account's name as the platform knows it ("test the connection")."""
        ...

    def remaining_quota(self) -> int | None:
        """Posts the account may still publish in the platform's window (Instagram), else None."""
        ...

    def close(self) -> None:
        """Release the HTTP connection pool."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...

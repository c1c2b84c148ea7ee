"""Mastodon adapter on ``Mastodon.py`` (issue 21): statuses with images and alt text on any
instance, the instance's own limits, and exactly-once posting.

Exactly once: the status POST carries an ``Idempotency-Key`` made from the delivery attempt, so
a request the instance did receive is never turned into two statuses by anything that sends it
again with that key; and after an unknown outcome the account's statuses since the attempt
began are read back (``find_existing``) before anyone considers sending again.

Limits come from the instance (``GET /api/v2/instance``), never assumed: its
``max_characters`` (500 on a stock Mastodon, more on many), ``characters_reserved_per_url``
(23: every link counts that much whatever its length), ``max_media_attachments`` and the
media ``description_limit`` (1,500). Images are processed by the instance after upload
(``POST /api/v2/media`` answers with ``url: null``): the adapter polls ``/api/v1/media/{id}``
until each is ready, then posts. Every image carries its alt text as its ``description``.

Mastodon.py speaks HTTP through ``requests``, so the channel's session goes through the same
guarded transport as X's and Facebook's; the instance is the channel's base URL.
"""

from __future__ import annotations

import hashlib
import html
import re
import time
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import requests
from mastodon import Mastodon
from mastodon import errors as m_exc

from gateway.domain.guardrails.media import mastodon_length
from gateway.platforms.adapter import PlatformAdapter
from gateway.platforms.base import DeliveryRequest, MediaItem, PostRef
from gateway.platforms.common import fetch_image_bytes
from gateway.platforms.errors import (
    LookupIncomplete,
    NeedsReauthorisation,
    OutcomeUnknown,
    PublishError,
    RateLimited,
    Rejected,
    Retryable,
)
from gateway.platforms.transport import RefusedDestination, map_transport_error, mount_transport

PLATFORM = "mastodon"
REQUIRED_CREDENTIALS = ("access_token",)
#: The scopes the gateway asks an instance for (issue 21): post, upload, and read its own
#: account (for "Test the connection" and the look-up of its statuses).
SCOPES = ("write:statuses", "write:media", "read:accounts", "read:statuses")
#: Mastodon's own defaults, used only when an instance's /api/v2/instance leaves one out.
DEFAULT_LIMITS: dict[str, int] = {
    "max_characters": 500,
    "max_media_attachments": 4,
    "characters_reserved_per_url": 23,
    "description_limit": 1500,
}
#: How often and how long to poll an image the instance is still processing. A photo is
#: usually ready in a second or two; past this the post is not sent (nothing was posted).
MEDIA_POLL_SECONDS = 0.5
MEDIA_POLL_TIMEOUT_SECONDS = 60.0
#: Statuses read per page (Mastodon's maximum) and pages at most in a look-up.
LOOKUP_PAGE = 40
LOOKUP_MAX_PAGES = 10
DEFAULT_RETRY_AFTER_SECONDS = 60.0
_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_PARAGRAPH = re.compile(r"</p>\s*<p>", re.IGNORECASE)


def status_length(text: str, reserved_per_url: int) -> int:
    """Mastodon's count of ``text``: every URL counts as ``reserved_per_url`` characters, the
    rest in grapheme clusters (the guardrails' own count, so both agree)."""
    return mastodon_length(text, reserved_per_url)


def idempotency_key(attempt_id: str) -> str:
    """The attempt's Idempotency-Key: the same attempt always sends the same key."""
    return "council-gateway-" + hashlib.sha256(attempt_id.encode()).hexdigest()[:32]


def plain_text(content: str) -> str:
    """A status's HTML ``content`` as the text that was posted: paragraphs and line breaks
    back to newlines, links and mentions to their text, entities unescaped."""
    text = _PARAGRAPH.sub("\n\n", content)
    text = _BREAK.sub("\n", text)
    return html.unescape(_TAG.sub("", text)).strip()


def _normal(text: str) -> str:
    return " ".join(text.split())


class MastodonPublisher(PlatformAdapter):
    """Publishes to one Mastodon account with an access token.

    Credentials: ``access_token`` (scopes ``write:statuses write:media read:accounts``).
    ``external_account_id`` is the account's id on the instance; the channel's ``base_url`` is
    the instance (``https://social.example.gov.uk``).
    """

    platform = PLATFORM
    required_credentials = REQUIRED_CREDENTIALS

    def _connect(self) -> None:
        if not self._channel.base_url:
            raise NeedsReauthorisation(
                "the channel names no Mastodon instance (its API address)", platform=PLATFORM
            )
        self.instance_url = self._channel.base_url.rstrip("/")
        self._session = mount_transport(
            requests.Session(), (self.instance_url,), None, self._timeout, self._allowed_hosts
        )
        self._client = Mastodon(
            access_token=self._channel.credentials["access_token"],
            api_base_url=self.instance_url,
            session=self._session,
            request_timeout=self._timeout,
            ratelimit_method="throw",
            version_check_mode="none",
        )
        self._limits: dict[str, int] | None = None

    # Publisher --------------------------------------------------------------------------------
    def publish(self, req: DeliveryRequest) -> PostRef:
        limits = self.limits()
        length = status_length(req.text, limits["characters_reserved_per_url"])
        if length > limits["max_characters"]:
            raise Rejected(
                f"the text is {length} characters as Mastodon counts them (links "
                f"{limits['characters_reserved_per_url']}); this instance takes at most "
                f"{limits['max_characters']}",
                platform=PLATFORM,
            )
        if len(req.media) > limits["max_media_attachments"]:
            raise Rejected(
                f"this instance takes at most {limits['max_media_attachments']} images",
                platform=PLATFORM,
            )
        for item in req.media:
            self._check_alt(item, limits["description_limit"])
        media_ids = [self._upload(item) for item in req.media]
        try:
            status = self._client.status_post(
                req.text,
                media_ids=media_ids or None,
                visibility="public",
                idempotency_key=idempotency_key(req.attempt_id),
            )
        except m_exc.MastodonError as exc:
            raise self._map(exc, final_write=True) from None
        return self._ref(status)

    def find_existing(
        self, req: DeliveryRequest, since: datetime, *, exclude: Collection[str] = ()
    ) -> PostRef | None:
        """The account's newest status since ``since`` with the request's text, read back
        page by page (newest first) until a status older than ``since``."""
        wanted = _normal(req.text)
        since_utc = since if since.tzinfo else since.replace(tzinfo=UTC)
        max_id = None
        for _ in range(LOOKUP_MAX_PAGES):
            try:
                page = self._client.account_statuses(
                    self._channel.external_account_id, limit=LOOKUP_PAGE, max_id=max_id
                )
            except m_exc.MastodonError as exc:
                raise self._map(exc, final_write=False) from None
            if not page:
                return None
            for status in page:
                created = status["created_at"]
                if isinstance(created, datetime) and created.tzinfo is None:
                    created = created.replace(tzinfo=UTC)
                if isinstance(created, datetime) and created < since_utc:
                    return None
                if str(status["id"]) in exclude:
                    continue
                if _normal(plain_text(status.get("content") or "")) == wanted:
                    return self._ref(status)
            max_id = page[-1]["id"]
        raise LookupIncomplete(
            f"read {LOOKUP_MAX_PAGES * LOOKUP_PAGE} statuses without reaching the attempt's start",
            platform=PLATFORM,
        )

    def check_connection(self) -> str:
        try:
            account = self._client.account_verify_credentials()
        except m_exc.MastodonError as exc:
            raise self._map(exc, final_write=False) from None
        return f"@{account['acct']}"

    def account_id(self) -> str:
        """The id of the account the token belongs to (the channel's account id)."""
        try:
            return str(self._client.account_verify_credentials()["id"])
        except m_exc.MastodonError as exc:
            raise self._map(exc, final_write=False) from None

    def remaining_quota(self) -> int | None:
        return None

    def close(self) -> None:
        self._session.close()

    # Limits read from the instance -------------------------------------------------------------
    def limits(self) -> dict[str, int]:
        """The instance's limits from its ``/api/v2/instance`` (Mastodon's defaults only for a
        value the instance does not give)."""
        if self._limits is None:
            try:
                instance = self._client.instance_v2()
            except m_exc.MastodonError as exc:
                raise self._map(exc, final_write=False) from None
            configuration = instance.get("configuration") or {}
            statuses = configuration.get("statuses") or {}
            media = configuration.get("media_attachments") or {}
            found = {
                "max_characters": statuses.get("max_characters"),
                "max_media_attachments": statuses.get("max_media_attachments"),
                "characters_reserved_per_url": statuses.get("characters_reserved_per_url"),
                "description_limit": media.get("description_limit"),
            }
            self._limits = {
                key: int(value) if isinstance(value, int) and value > 0 else DEFAULT_LIMITS[key]
                for key, value in found.items()
            }
        return self._limits

    # Internals --------------------------------------------------------------------------------
    def _ref(self, status: Any) -> PostRef:
        return PostRef(str(status["id"]), self.web_link(status.get("url")))

    @staticmethod
    def _check_alt(item: MediaItem, limit: int) -> None:
        alt = (item.alt_text or "").strip()
        if not alt:
            raise Rejected("every image on Mastodon needs alt text", platform=PLATFORM)
        if len(item.alt_text) > limit:
            raise Rejected(
                f"an image's alt text is {len(item.alt_text)} characters; this instance takes "
                f"at most {limit}",
                platform=PLATFORM,
            )

    def _upload(self, item: MediaItem) -> str:
        data = item.data
        if data is None:
            if item.url is None:
                raise Rejected("an image has neither bytes nor a URL", platform=PLATFORM)
            data = fetch_image_bytes(item.url, platform=PLATFORM, allowed_hosts=self._allowed_hosts)
        try:
            media = self._client.media_post(
                data, mime_type=item.content_type, description=item.alt_text
            )
            deadline = time.monotonic() + MEDIA_POLL_TIMEOUT_SECONDS
            # Processed in the background: its url is null until it is ready (a 206 answer).
            while media.get("url") is None:
                if time.monotonic() > deadline:
                    raise Retryable(
                        "the instance had not finished processing an image", platform=PLATFORM
                    )
                time.sleep(MEDIA_POLL_SECONDS)
                media = self._client.media(media["id"])
        except m_exc.MastodonError as exc:
            raise self._map(exc, final_write=False) from None
        return str(media["id"])

    def _map(self, exc: m_exc.MastodonError, *, final_write: bool) -> PublishError:
        """Map a Mastodon.py failure into our taxonomy."""
        if isinstance(exc, m_exc.MastodonRatelimitError):
            return RateLimited(
                "the instance's rate limit is used up",
                retry_after=self._retry_after(),
                platform=PLATFORM,
                status=429,
            )
        if isinstance(exc, m_exc.MastodonNetworkError):
            cause = exc.__context__
            if isinstance(cause, RefusedDestination | requests.RequestException):
                return map_transport_error(cause, platform=PLATFORM, final_write=final_write)
            if final_write:
                return OutcomeUnknown(
                    f"the connection was lost after the status was sent ({type(exc).__name__})",
                    platform=PLATFORM,
                )
            return Retryable(
                f"the request failed before the status was sent ({type(exc).__name__})",
                platform=PLATFORM,
            )
        status, reason = _status_and_reason(exc)
        reason = self._scrub(reason)
        if isinstance(exc, m_exc.MastodonUnauthorizedError) or status in (401, 403):
            return NeedsReauthorisation(
                f"Mastodon did not accept the access token: {reason}",
                platform=PLATFORM,
                status=status,
            )
        if isinstance(exc, m_exc.MastodonServerError) or (status is not None and status >= 500):
            if final_write:
                return OutcomeUnknown(reason, platform=PLATFORM, status=status)
            return Retryable(reason, platform=PLATFORM, status=status)
        if status is not None and 300 <= status < 400:
            # The transport follows no redirect: the status may or may not have been made.
            cls = OutcomeUnknown if final_write else Rejected
            return cls(f"the answer was a redirect (HTTP {status})", platform=PLATFORM)
        if isinstance(exc, m_exc.MastodonAPIError) and status is not None:
            return Rejected(reason, platform=PLATFORM, status=status)
        if final_write:
            return OutcomeUnknown(reason, platform=PLATFORM, status=status)
        return Retryable(reason, platform=PLATFORM, status=status)

    def _retry_after(self) -> float:
        """Seconds until the window resets (X-RateLimit-Reset, as Mastodon.py read it)."""
        reset = getattr(self._client, "ratelimit_reset", None)
        try:
            return max(1.0, float(reset) - time.time()) if reset else DEFAULT_RETRY_AFTER_SECONDS
        except (TypeError, ValueError):
            return DEFAULT_RETRY_AFTER_SECONDS


def _status_and_reason(exc: m_exc.MastodonError) -> tuple[int | None, str]:
    """Mastodon.py raises ``('Mastodon API returned error', status, reason, error)``."""
    args = exc.args
    status = args[1] if len(args) > 1 and isinstance(args[1], int) else None
    message = args[3] if len(args) > 3 and args[3] else (args[2] if len(args) > 2 else "")
    text = str(message or (args[0] if args else type(exc).__name__))
    return status, text[:300]


# Connecting: the instance's OAuth app registration and authorization code flow ------------------
class MastodonOAuth:
    """Connect an account on any instance an admin names (issue 21): register the gateway as
    an application there (``POST /api/v1/apps``, with our redirect URI and :data:`SCOPES`),
    send the admin to the instance's consent page, and exchange the code it sends back for an
    access token (``POST /oauth/token``). Plain HTTP only for an instance on this machine's
    allowed hosts (the fake platform); every request goes through the outbound guard."""

    def __init__(
        self,
        instance_url: str,
        *,
        timeout: float = 15.0,
        allowed_hosts: Collection[str] = (),
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> None:
        self.instance_url = instance_url.rstrip("/")
        self._session = mount_transport(
            requests.Session(), (self.instance_url,), None, timeout, allowed_hosts
        )
        self._timeout = timeout
        self._allow_http = self.instance_url.startswith("http://")
        self.client_id, self.client_secret = client_id, client_secret

    def close(self) -> None:
        self._session.close()

    def register(self, redirect_uri: str, name: str = "Council Publishing Gateway") -> None:
        try:
            self.client_id, self.client_secret = Mastodon.create_app(
                name,
                scopes=list(SCOPES),
                redirect_uris=redirect_uri,
                api_base_url=self.instance_url,
                request_timeout=self._timeout,
                session=self._session,
            )
        except (m_exc.MastodonError, KeyError, TypeError) as exc:
            raise Rejected(
                f"the instance did not register the gateway as an application ({_why(exc)})",
                platform=PLATFORM,
            ) from None

    def _client(self) -> Mastodon:
        return Mastodon(
            client_id=self.client_id,
            client_secret=self.client_secret,
            api_base_url=self.instance_url,
            session=self._session,
            request_timeout=self._timeout,
            ratelimit_method="throw",
            version_check_mode="none",
        )

    def authorization_url(self, redirect_uri: str, state: str) -> str:
        try:
            return self._client().auth_request_url(
                redirect_uris=redirect_uri,
                scopes=list(SCOPES),
                state=state,
                allow_http=self._allow_http,
            )
        except m_exc.MastodonError as exc:
            raise Rejected(
                f"the instance's sign-in page could not be found ({_why(exc)})", platform=PLATFORM
            ) from None

    def exchange(self, code: str, redirect_uri: str) -> str:
        """The access token for the code the instance sent to our redirect URI."""
        try:
            return self._client().log_in(
                code=code,
                redirect_uri=redirect_uri,
                scopes=list(SCOPES),
                allow_http=self._allow_http,
            )
        except m_exc.MastodonError as exc:
            raise NeedsReauthorisation(
                f"the instance did not give an access token for this sign-in ({_why(exc)})",
                platform=PLATFORM,
            ) from None


def _why(exc: BaseException) -> str:
    return str(_status_and_reason(exc)[1] if isinstance(exc, m_exc.MastodonError) else exc)[:200]

"""Facebook Page and Instagram adapters over facebook-sdk's GraphAPI.

facebook-sdk 3.1.0 (2018) needs three things wrapped (issue #5):
- its constructor accepts only Graph versions up to 3.1, so the version is set on the object
  after constructing it;
- it reads its base URL from the module global ``facebook.FACEBOOK_GRAPH_URL``. Changing that
  global would need a process-wide lock around every call (and so serialise every Graph request
  of a threaded worker); instead the session we pass as ``session=`` carries a transport that
  sends https://graph.facebook.com/ requests to the configured base URL;
- it never looks at the HTTP status, so a response hook keeps the last answer and the adapter
  checks the status (and the rate-limit headers) itself.
If facebook-sdk breaks against a newer Graph API, the maintained alternative is Meta's own
``facebook-business`` SDK (or plain ``requests``: this module already does the error mapping).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable, Collection, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import facebook
import requests

from gateway import clock
from gateway.platforms.adapter import PlatformAdapter
from gateway.platforms.base import (
    DEFAULT_TIMEOUT_SECONDS,
    ChannelConfig,
    DeliveryRequest,
    MediaItem,
    PostRef,
)
from gateway.platforms.common import same_text
from gateway.platforms.errors import (
    LookupIncomplete,
    NeedsReauthorisation,
    OutcomeUnknown,
    PublishError,
    QuotaExceeded,
    RateLimited,
    Rejected,
    Retryable,
    RetryIfAbsent,
)
from gateway.platforms.transport import map_transport_error, remember_secrets
from gateway.platforms.urls import is_public_url

GRAPH_HOSTS = ("https://graph.facebook.com",)
# A Graph API version Meta still serves (versions live about two years); one constant to move.
GRAPH_API_VERSION = "v23.0"

# Graph error codes (Graph API, "Handling errors" and "Rate limiting").
AUTH_CODES = frozenset({102, 190})
PERMISSION_CODES = frozenset({10, *range(200, 300)})
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
# "Service temporarily unavailable" / "An unexpected error has occurred. Please retry": Graph
# says retry, not that nothing was made (Instagram's media_publish is known to answer so and
# publish all the same), so on the call that makes the post it is RetryIfAbsent.
TRANSIENT_CODES = frozenset({2})
DUPLICATE_POST_CODE = 506  # "Duplicate status message" on a Page feed
IG_QUOTA_SUBCODE = 2207042  # "reached the maximum number of posts ... in 24 hours"
# Container errors that mean "could not download the media" (timeout, failed fetch), as
# opposed to "the media is unacceptable" (format, size, aspect ratio).
IG_FETCH_SUBCODES = frozenset({2207003, 2207052})

# Graph's throttling answers say "wait" in minutes (estimated_time_to_regain_access) or not at
# all; app-level limits are counted over a rolling hour, so without an estimate wait 5 minutes.
DEFAULT_RETRY_AFTER_SECONDS = 300.0
# Instagram's quota is a 24-hour moving window; we cannot know when the oldest post leaves it
# without reading timestamps, so look again in an hour.
QUOTA_RETRY_AFTER_SECONDS = 3600.0
# The look-up after an unknown outcome pages back (Graph cursor paging, ``paging.next``) until
# it has read every post since the attempt began: 100 a page (the most the feed and media edges
# return), and at most 20 pages (2,000 posts, far more than a council's account makes in the
# look-up's window). Past that it says it could not be sure (LookupIncomplete), never "not
# there": a post reported missing is released again and published twice.
LOOKUP_PAGE_SIZE = 100
LOOKUP_MAX_PAGES = 20
# Facebook's duplicate check covers recent posts only; a day is ample to find ours.
DUPLICATE_LOOKBACK = timedelta(days=1)

# Instagram processes a container asynchronously; its docs suggest polling for up to 5
# minutes. Poll quickly first (most images finish in a second or two), then back off.
CONTAINER_FIRST_POLL_SECONDS = 0.25
CONTAINER_MAX_POLL_SECONDS = 5.0
CONTAINER_MAX_WAIT_SECONDS = 300.0


class _DuplicatePost(Rejected):
    """Facebook refused a feed post as a duplicate of a recent one (code 506)."""


class _GraphAdapter(PlatformAdapter):
    """What the Facebook and Instagram adapters share: one GraphAPI, one error mapping."""

    required_credentials = ("access_token",)
    hosts = GRAPH_HOSTS

    def _connect(self) -> None:
        channel = self._channel
        self._account = channel.external_account_id
        self._last = threading.local()
        self._session = self._route(requests.Session())
        self._session.hooks["response"].append(self._remember)
        # timeout=None: the transport applies (connect, read) timeouts to every request.
        self._graph = facebook.GraphAPI(
            access_token=channel.credentials["access_token"], timeout=None, session=self._session
        )
        self._graph.version = GRAPH_API_VERSION  # after construction: see the module docstring
        self._v = GRAPH_API_VERSION

    def close(self) -> None:
        self._session.close()

    def remaining_quota(self) -> int | None:
        return None

    def debug_token(self, app_id: str, app_secret: str) -> dict[str, Any]:
        """What Graph says of this channel's token (``GET /debug_token``, asked with the app
        access token ``app_id|app_secret``): its ``type``, ``is_valid``, ``expires_at``,
        ``data_access_expires_at``, ``user_id``, ``profile_id`` and ``scopes``. Read-only."""
        remember_secrets([app_secret])
        token = self._channel.credentials["access_token"]
        answer = self._call(
            lambda: self._graph.debug_access_token(token, app_id, app_secret), final_write=False
        )
        data = answer.get("data")
        return data if isinstance(data, dict) else {}

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last.response = response

    def _call(self, fn: Callable[[], Any], *, final_write: bool) -> Any:
        """Run one facebook-sdk call and map every way it can fail."""
        self._last.response = None
        try:
            result = fn()
        except facebook.GraphAPIError as exc:
            raise self._map_error(exc.result, final_write=final_write) from None
        except requests.RequestException as exc:
            raise map_transport_error(
                exc, platform=self.platform, final_write=final_write
            ) from None
        except (KeyError, ValueError, TypeError):
            # facebook-sdk indexes headers["content-type"] and parses JSON without checking:
            # an answer we cannot read.
            raise self._unreadable(final_write) from None
        response: requests.Response | None = self._last.response
        if response is not None and response.status_code >= 400:
            raise self._map_error(
                result if isinstance(result, dict) else {}, final_write=final_write
            )
        if not isinstance(result, dict):
            raise self._unreadable(final_write)
        return result

    def _unreadable(self, final_write: bool) -> PublishError:
        response = getattr(self._last, "response", None)
        status = response.status_code if response is not None else None
        reason = f"the platform's answer could not be read (HTTP {status})"
        if final_write and (status is None or status < 400 or status >= 500):
            return OutcomeUnknown(reason, platform=self.platform, status=status)
        if status is not None and 400 <= status < 500:
            return Rejected(reason, platform=self.platform, status=status)
        return Retryable(reason, platform=self.platform, status=status)

    def _map_error(self, body: Any, *, final_write: bool) -> PublishError:
        response: requests.Response | None = getattr(self._last, "response", None)
        status = response.status_code if response is not None else None
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        code = _int(error.get("code"))
        subcode = _int(error.get("error_subcode"))
        message = error.get("error_user_msg") or error.get("message") or f"HTTP {status}"
        reason = self._scrub(str(message))
        kw: dict[str, Any] = {"platform": self.platform, "status": status}
        if code == DUPLICATE_POST_CODE:
            return _DuplicatePost(reason, **kw)
        if code in AUTH_CODES or code in PERMISSION_CODES:
            return NeedsReauthorisation(reason, **kw)
        if code == 9 and subcode == IG_QUOTA_SUBCODE:
            return QuotaExceeded(reason, retry_after=QUOTA_RETRY_AFTER_SECONDS, **kw)
        if code in RATE_LIMIT_CODES or status == 429:
            return RateLimited(reason, retry_after=_graph_retry_after(response), **kw)
        if code in TRANSIENT_CODES or error.get("is_transient") is True:
            return RetryIfAbsent(reason, **kw) if final_write else Retryable(reason, **kw)
        if status is not None and status >= 500 or code == 1:
            # An unknown server error: on the post-creating call, it may have been created.
            return OutcomeUnknown(reason, **kw) if final_write else Retryable(reason, **kw)
        return Rejected(reason, **kw)

    def _recent(
        self, edge: str, fields: str, time_field: str, since: datetime
    ) -> Iterator[dict[str, Any]]:
        """The account's items on ``edge`` made since ``since``, newest first, page by page.

        Follows ``paging.next`` as facebook-sdk's own ``get_all_connections`` does (its query,
        without the access token, which the library adds itself), through our session and
        error mapping; stops at the first item older than ``since`` (a platform that ignores
        ``since`` is read no further back than needed). Raises LookupIncomplete if there are
        more pages after LOOKUP_MAX_PAGES."""
        # Graph keeps whole seconds: a post made in the same second as ``since`` counts.
        since = (since if since.tzinfo else since.replace(tzinfo=UTC)).replace(microsecond=0)
        args: dict[str, Any] = {
            "fields": fields,
            "since": int(since.timestamp()),
            "limit": LOOKUP_PAGE_SIZE,
        }
        for _ in range(LOOKUP_MAX_PAGES):
            answer = self._call(
                lambda args=args: self._graph.get_connections(self._account, edge, **args),
                final_write=False,
            )
            items = [item for item in answer.get("data") or [] if isinstance(item, dict)]
            for item in items:
                made = _graph_time(item.get(time_field))
                if made is not None and made < since:
                    return
                yield item
            paging = answer.get("paging")
            next_url = paging.get("next") if isinstance(paging, dict) else None
            if not items or not isinstance(next_url, str) or not next_url:
                return
            args = {k: v for k, v in parse_qsl(urlsplit(next_url).query) if k != "access_token"}
        raise LookupIncomplete(
            f"the look-up read {LOOKUP_MAX_PAGES} pages of the account's posts and there were "
            "more since the attempt began",
            platform=self.platform,
        )

    def _find(
        self,
        req: DeliveryRequest,
        since: datetime,
        exclude: Collection[str],
        *,
        edge: str,
        fields: str,
        time_field: str,
        text_field: str,
        url_field: str,
    ) -> PostRef | None:
        for item in self._recent(edge, fields, time_field, since):
            item_id = str(item.get("id", ""))
            if item_id and item_id not in exclude and same_text(req.text, item.get(text_field)):
                link = self.web_link(item.get(url_field))
                return PostRef(item_id, link or self.page_url(item_id, self._public_url(item_id)))
        return None

    def _public_url(self, post_id: str) -> str | None:
        """The post's address on the platform when its answer gave none."""
        return None


class FacebookPublisher(_GraphAdapter):
    """Publishes to one Facebook Page with a Page access token."""

    platform = "facebook"

    def _public_url(self, post_id: str) -> str | None:
        return f"https://www.facebook.com/{post_id}"

    def publish(self, req: DeliveryRequest) -> PostRef:
        try:
            return self._publish(req)
        except _DuplicatePost:
            # Like X's duplicate refusal: the post is usually there already, from an attempt
            # whose answer was lost. Point at it instead of failing.
            try:
                found = self.find_existing(req, clock.now() - DUPLICATE_LOOKBACK)
            except LookupIncomplete:
                # The earlier post is there but out of the look-up's reach: it may be ours.
                raise OutcomeUnknown(
                    "Facebook refused the post as a duplicate of an earlier post the look-up "
                    "could not reach",
                    platform=self.platform,
                ) from None
            if found is None:
                raise Rejected(
                    "Facebook refused the post as a duplicate of an earlier post",
                    platform=self.platform,
                ) from None
            return found

    def _publish(self, req: DeliveryRequest) -> PostRef:
        if not req.media:
            result = self._call(
                lambda: self._graph.put_object(self._account, "feed", message=req.text),
                final_write=True,
            )
        elif len(req.media) == 1:
            result = self._photo(req.media[0], message=req.text, published=True)
        else:
            # Several images: upload each unpublished, then one feed post attaching them all
            # (Pages API, "Publish a multi-photo post"). Only that last call creates the post.
            photo_ids = [self._photo(item, message="", published=False)["id"] for item in req.media]
            attached = {
                f"attached_media[{i}]": json.dumps({"media_fbid": pid})
                for i, pid in enumerate(photo_ids)
            }
            result = self._call(
                lambda: self._graph.put_object(self._account, "feed", message=req.text, **attached),
                final_write=True,
            )
        post_id = str(result.get("post_id") or result.get("id") or "")
        if not post_id:
            raise OutcomeUnknown("Facebook answered without a post id", platform=self.platform)
        return PostRef(post_id, self.page_url(post_id, f"https://www.facebook.com/{post_id}"))

    def _photo(self, item: MediaItem, *, message: str, published: bool) -> dict[str, Any]:
        fields: dict[str, Any] = {"alt_text_custom": item.alt_text}
        if message:
            fields["message"] = message
        if not published:
            fields["published"] = "false"
        if item.data is not None:
            source = ("image", item.data, item.content_type)
            call = lambda: self._graph.put_photo(  # noqa: E731
                source, album_path=f"{self._account}/photos", **fields
            )
        elif item.url is not None:
            if not is_public_url(item.url, allowed_hosts=self._allowed_hosts):
                raise Rejected(
                    "the image URL does not point at a public address", platform=self.platform
                )
            call = lambda: self._graph.put_object(  # noqa: E731
                self._account, "photos", url=item.url, **fields
            )
        else:
            raise Rejected("an image has neither bytes nor a URL", platform=self.platform)
        return self._call(call, final_write=published)

    def find_existing(
        self, req: DeliveryRequest, since: datetime, *, exclude: Collection[str] = ()
    ) -> PostRef | None:
        return self._find(
            req,
            since,
            exclude,
            edge="feed",
            fields="id,message,created_time,permalink_url",
            time_field="created_time",
            text_field="message",
            url_field="permalink_url",
        )

    def check_connection(self) -> str:
        answer = self._call(lambda: self._graph.get_object("me"), final_write=False)
        return str(answer.get("name", ""))


class InstagramPublisher(_GraphAdapter):
    """Publishes one image with a caption to an Instagram professional account: create a media
    container, wait for Instagram to fetch the image, publish the container."""

    platform = "instagram"

    def __init__(
        self,
        channel: ChannelConfig,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        allowed_hosts: Collection[str] = (),
        max_container_wait: float = CONTAINER_MAX_WAIT_SECONDS,
    ) -> None:
        super().__init__(channel, timeout=timeout, allowed_hosts=allowed_hosts)
        self._max_container_wait = max_container_wait

    def publish(self, req: DeliveryRequest) -> PostRef:
        if len(req.media) != 1 or not req.media[0].url:
            raise Rejected(
                "an Instagram post needs exactly one image, at a URL Instagram can fetch",
                platform=self.platform,
            )
        image = req.media[0]
        if not is_public_url(image.url or "", allowed_hosts=self._allowed_hosts):
            raise Rejected(
                "the image URL does not point at a public address", platform=self.platform
            )
        remaining = self.remaining_quota()
        if remaining is not None and remaining <= 0:
            # Hold, do not fail (issue #5): the quota frees up as the 24-hour window moves.
            raise QuotaExceeded(
                "the account has used its Instagram publishing quota for the last 24 hours",
                retry_after=QUOTA_RETRY_AFTER_SECONDS,
                platform=self.platform,
            )
        container = self._call(
            lambda: self._graph.request(
                f"{self._v}/{self._account}/media",
                post_args={"image_url": image.url, "caption": req.text, "alt_text": image.alt_text},
            ),
            final_write=False,  # an unpublished container is not a post
        )
        container_id = str(container.get("id", ""))
        if not container_id:
            raise Retryable("Instagram created no media container", platform=self.platform)
        self._wait_until_finished(container_id)
        result = self._call(
            lambda: self._graph.request(
                f"{self._v}/{self._account}/media_publish",
                post_args={"creation_id": container_id},
            ),
            final_write=True,
        )
        media_id = str(result.get("id", ""))
        if not media_id:
            raise OutcomeUnknown("Instagram answered without a media id", platform=self.platform)
        return PostRef(media_id, self._permalink(media_id))

    def _permalink(self, media_id: str) -> str | None:
        """The published post's address. Instagram's publish answer has only the media id,
        and its permalink (``/p/<shortcode>/``) cannot be worked out from it, so ask for it
        (IG Media, field ``permalink``). The post is out by now: if the question fails, the
        delivery is published all the same, without a link (or with the fake's, in training)."""
        try:
            answer = self._call(
                lambda: self._graph.get_object(media_id, fields="permalink"), final_write=False
            )
        except PublishError:
            answer = {}
        return self.web_link(answer.get("permalink")) or self.page_url(media_id, None)

    def _wait_until_finished(self, container_id: str) -> None:
        deadline = time.monotonic() + self._max_container_wait
        delay = CONTAINER_FIRST_POLL_SECONDS
        while True:
            answer = self._call(
                lambda: self._graph.get_object(container_id, fields="status_code,status"),
                final_write=False,
            )
            status_code = answer.get("status_code")
            if status_code == "FINISHED":
                return
            if status_code == "ERROR":
                detail = self._scrub(str(answer.get("status", "")))
                subcode = re.search(r"\b2207\d{3}\b", detail)
                if subcode and int(subcode.group()) in IG_FETCH_SUBCODES:
                    # Instagram could not download the image: our image URL was unreachable
                    # or expired. The next attempt hands over a fresh URL.
                    raise Retryable(
                        f"Instagram could not fetch the image: {detail}", platform=self.platform
                    )
                raise Rejected(
                    f"Instagram could not use the image: {detail}", platform=self.platform
                )
            if status_code == "EXPIRED":
                raise Retryable("the Instagram media container expired", platform=self.platform)
            if status_code == "PUBLISHED":
                raise Rejected("the media container was already published", platform=self.platform)
            if time.monotonic() + delay > deadline:
                raise Retryable(
                    "Instagram was still processing the image after "
                    f"{self._max_container_wait:.0f}s",
                    platform=self.platform,
                )
            time.sleep(delay)
            delay = min(delay * 2, CONTAINER_MAX_POLL_SECONDS)

    def find_existing(
        self, req: DeliveryRequest, since: datetime, *, exclude: Collection[str] = ()
    ) -> PostRef | None:
        return self._find(
            req,
            since,
            exclude,
            edge="media",
            fields="id,caption,timestamp,permalink",
            time_field="timestamp",
            text_field="caption",
            url_field="permalink",
        )

    def check_connection(self) -> str:
        answer = self._call(
            lambda: self._graph.get_object(self._account, fields="username"), final_write=False
        )
        return str(answer.get("username", ""))

    def remaining_quota(self) -> int | None:
        answer = self._call(
            lambda: self._graph.get_connections(
                self._account, "content_publishing_limit", fields="quota_usage,config"
            ),
            final_write=False,
        )
        try:
            entry = answer["data"][0]
            return int(entry["config"]["quota_total"]) - int(entry["quota_usage"])
        except (KeyError, IndexError, TypeError, ValueError):
            return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _graph_time(value: Any) -> datetime | None:
    """A Graph timestamp ("2027-03-09T10:00:00+0000"), or None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None


def _graph_retry_after(response: requests.Response | None) -> float:
    """Seconds to wait, from ``x-business-use-case-usage``'s estimated_time_to_regain_access
    (minutes, per business object), the longest of them; else DEFAULT_RETRY_AFTER_SECONDS."""
    if response is None:
        return DEFAULT_RETRY_AFTER_SECONDS
    raw = response.headers.get("x-business-use-case-usage")
    minutes: list[float] = []
    if raw:
        try:
            for entries in json.loads(raw).values():
                for entry in entries:
                    minutes.append(float(entry.get("estimated_time_to_regain_access", 0)))
        except (ValueError, AttributeError, TypeError):
            minutes = []
    if minutes and max(minutes) > 0:
        return math.ceil(max(minutes) * 60)
    return DEFAULT_RETRY_AFTER_SECONDS

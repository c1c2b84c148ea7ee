"""X adapter: tweepy's v2 Client for posts and look-ups, /2/media/upload for images.

tweepy has no v2 media upload (tweepy#2217) and X retired the v1.1 one, so images go to
``POST /2/media/upload`` and their alt text to ``POST /2/media/metadata``, signed by tweepy's
own OAuth 1.0a handler and sent on the Client's session (so they follow the same base URL).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import tweepy

from gateway import clock
from gateway.platforms.adapter import PlatformAdapter
from gateway.platforms.base import (
    ChannelConfig,
    DeliveryRequest,
    MediaItem,
    PostRef,
)
from gateway.platforms.common import fetch_image_bytes, same_text
from gateway.platforms.errors import (
    LookupIncomplete,
    NeedsReauthorisation,
    OutcomeUnknown,
    PublishError,
    RateLimited,
    Rejected,
    Retryable,
)
from gateway.platforms.transport import map_transport_error, remember_secrets

PLATFORM = "x"
# tweepy calls api.twitter.com; X documents api.x.com (media upload lives there). Both are sent
# to the configured base URL.
X_HOSTS = ("https://api.twitter.com", "https://api.x.com")
X_API = "https://api.x.com"
REQUIRED_CREDENTIALS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
#: A channel connected with "Connect with X" (OAuth 2.0 user context, issue 15): a bearer
#: access token, refreshed before it expires by gateway.oauth.x.
OAUTH2_CREDENTIALS = ("access_token",)

DUPLICATE_DETAIL = "duplicate content"
# X does not say how far back its duplicate check looks; a week of the account's posts covers
# any repeat a council would make by accident, and is at most a few pages to read.
DUPLICATE_LOOKBACK = timedelta(days=7)
LOOKUP_PAGE_SIZE = 100  # the most X returns per page of GET /2/users/:id/tweets
# 20 pages of 100: far more than a council's account posts in the look-up's window; past it
# the look-up says it could not be sure (LookupIncomplete), never "not there".
LOOKUP_MAX_PAGES = 20
# Without an x-rate-limit-reset header, wait one minute (X's windows are 15 minutes; the
# header is always there in practice, this is only a floor for a malformed answer).
DEFAULT_RETRY_AFTER_SECONDS = 60.0
# 403 problem types that mean the token or app lacks permission, not that the post is wrong.
_AUTH_PROBLEMS = ("oauth1-permissions", "unsupported-authentication", "client-forbidden")


class XPublisher(PlatformAdapter):
    """Publishes to one X account with OAuth 1.0a user-context credentials, or an OAuth 2.0
    user access token (a channel connected with "Connect with X")."""

    platform = PLATFORM
    required_credentials = REQUIRED_CREDENTIALS
    hosts = X_HOSTS

    def __init__(self, channel: ChannelConfig, **kwargs: Any) -> None:
        self._oauth2 = channel.credentials.get("auth") == "oauth2"
        if self._oauth2:
            self.required_credentials = OAUTH2_CREDENTIALS
            remember_secrets([channel.credentials.get("refresh_token", "")])
        super().__init__(channel, **kwargs)

    def _connect(self) -> None:
        credentials = self._channel.credentials
        if self._oauth2:
            # OAuth 2.0 user context: tweepy sends the user's access token as the bearer
            # token, and every call says user_auth=False (tweepy's "OAuth 2.0 Authorization
            # Code Flow with PKCE" documentation).
            self._client = tweepy.Client(bearer_token=credentials["access_token"], return_type=dict)
            self._route(self._client.session)
            return
        # return_type=dict: plain JSON back, no tweepy model objects to translate.
        self._client = tweepy.Client(
            consumer_key=credentials["consumer_key"],
            consumer_secret=credentials["consumer_secret"],
            access_token=credentials["access_token"],
            access_token_secret=credentials["access_token_secret"],
            return_type=dict,
        )
        self._route(self._client.session)

    # Publisher --------------------------------------------------------------------------------
    def publish(self, req: DeliveryRequest) -> PostRef:
        # Uploads leave no post behind if they fail, so their failures are at worst Retryable.
        media_ids = [self._upload(item) for item in req.media]
        try:
            answer = self._client.create_tweet(
                text=req.text or None, media_ids=media_ids or None, user_auth=not self._oauth2
            )
        except tweepy.HTTPException as exc:
            if exc.response.status_code == 403 and any(
                DUPLICATE_DETAIL in m for m in exc.api_messages
            ):
                return self._existing_duplicate(req)
            raise self._map_response(exc.response, final_write=True) from None
        except requests.RequestException as exc:
            raise map_transport_error(exc, platform=PLATFORM, final_write=True) from None
        except tweepy.TweepyException as exc:
            raise OutcomeUnknown(self._scrub(str(exc)), platform=PLATFORM) from None
        try:
            post_id = str(answer["data"]["id"])
        except (KeyError, TypeError):
            raise OutcomeUnknown("X answered without a post id", platform=PLATFORM) from None
        return PostRef(post_id, self.page_url(post_id, _post_url(post_id)))

    def find_existing(
        self, req: DeliveryRequest, since: datetime, *, exclude: Collection[str] = ()
    ) -> PostRef | None:
        for tweet in self._recent_posts(since):
            tweet_id = str(tweet.get("id", ""))
            if tweet_id and tweet_id not in exclude and same_text(req.text, tweet.get("text")):
                return PostRef(tweet_id, self.page_url(tweet_id, _post_url(tweet_id)))
        return None

    def check_connection(self) -> str:
        answer = self._read(lambda: self._client.get_me(user_auth=not self._oauth2))
        return str(answer["data"]["username"])

    def remaining_quota(self) -> int | None:
        return None

    def close(self) -> None:
        self._client.session.close()

    # Internals --------------------------------------------------------------------------------
    def _existing_duplicate(self, req: DeliveryRequest) -> PostRef:
        """X refused the text as a duplicate: the post we meant to make is (usually) already
        there, from an attempt whose answer was lost. Find it rather than fail (issue #5)."""
        try:
            found = self.find_existing(req, clock.now() - DUPLICATE_LOOKBACK)
        except LookupIncomplete:
            # The earlier post is there but out of the look-up's reach: it may be ours.
            raise OutcomeUnknown(
                "X refused the post as a duplicate of an earlier post the look-up could not reach",
                platform=PLATFORM,
            ) from None
        if found is None:
            raise Rejected(
                "X refused the post as a duplicate of an earlier post on this account",
                platform=PLATFORM,
                status=403,
            )
        return found

    def _recent_posts(self, since: datetime) -> Iterator[dict[str, Any]]:
        """The account's posts since ``since``, newest first, page by page; LookupIncomplete
        if there are more pages after LOOKUP_MAX_PAGES."""
        since_utc = since.astimezone(UTC) if since.tzinfo else since.replace(tzinfo=UTC)
        token: str | None = None
        for _ in range(LOOKUP_MAX_PAGES):
            answer = self._read(
                lambda token=token: self._client.get_users_tweets(
                    self._channel.external_account_id,
                    start_time=since_utc,
                    max_results=LOOKUP_PAGE_SIZE,
                    tweet_fields=["created_at"],
                    pagination_token=token,
                    user_auth=not self._oauth2,
                )
            )
            yield from (t for t in answer.get("data") or [] if isinstance(t, dict))
            token = (answer.get("meta") or {}).get("next_token")
            if not token:
                return
        raise LookupIncomplete(
            f"the look-up read {LOOKUP_MAX_PAGES} pages of the account's posts and there were "
            "more since the attempt began",
            platform=PLATFORM,
        )

    def _read(self, call: Any) -> dict[str, Any]:
        """Run a read-only tweepy call; its failures never mean a post was made."""
        try:
            return call()
        except tweepy.HTTPException as exc:
            raise self._map_response(exc.response, final_write=False) from None
        except requests.RequestException as exc:
            raise map_transport_error(exc, platform=PLATFORM, final_write=False) from None
        except tweepy.TweepyException as exc:
            raise Retryable(self._scrub(str(exc)), platform=PLATFORM) from None

    def _upload(self, item: MediaItem) -> str:
        data = item.data
        if data is None:
            if item.url is None:
                raise Rejected("an image has neither bytes nor a URL", platform=PLATFORM)
            data = fetch_image_bytes(item.url, platform=PLATFORM, allowed_hosts=self._allowed_hosts)
        answer = self._post_v2(
            "/2/media/upload",
            files={"media": ("image", data, item.content_type)},
            data={"media_category": "tweet_image", "media_type": item.content_type},
        )
        try:
            media_id = str(answer["data"]["id"])
        except (KeyError, TypeError):
            raise Retryable("X's media upload answered without an id", platform=PLATFORM) from None
        if item.alt_text:
            self._post_v2(
                "/2/media/metadata",
                json={"id": media_id, "metadata": {"alt_text": {"text": item.alt_text}}},
            )
        return media_id

    def _post_v2(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """POST to X API v2 outside tweepy's methods, signed with tweepy's OAuth 1.0a handler."""
        credentials = self._channel.credentials
        headers = {"User-Agent": self._client.user_agent}
        auth = None
        if self._oauth2:
            headers["Authorization"] = f"Bearer {credentials['access_token']}"
        else:
            auth = tweepy.OAuth1UserHandler(
                credentials["consumer_key"],
                credentials["consumer_secret"],
                credentials["access_token"],
                credentials["access_token_secret"],
            ).apply_auth()
        try:
            response = self._client.session.post(X_API + path, auth=auth, headers=headers, **kwargs)
            if not 200 <= response.status_code < 300:
                raise self._map_response(response, final_write=False)
            return response.json()
        except requests.RequestException as exc:
            raise map_transport_error(exc, platform=PLATFORM, final_write=False) from None

    def _map_response(self, response: requests.Response, *, final_write: bool) -> PublishError:
        """Map an X error answer (RFC 7807 problem JSON) into our taxonomy."""
        status = response.status_code
        problem = _json_or_empty(response)
        reason = self._scrub(_x_reason(problem) or f"HTTP {status}")
        problem_type = str(problem.get("type", ""))
        if status == 401:
            return NeedsReauthorisation(
                f"X did not accept the credentials: {reason}", platform=PLATFORM, status=status
            )
        if status == 429:
            return RateLimited(
                reason, retry_after=_retry_after(response), platform=PLATFORM, status=status
            )
        if status == 403 and any(p in problem_type for p in _AUTH_PROBLEMS):
            return NeedsReauthorisation(reason, platform=PLATFORM, status=status)
        if 400 <= status < 500:
            return Rejected(reason, platform=PLATFORM, status=status)
        if status == 503:
            # X: "Service Unavailable: the X servers are up, but overloaded with requests" —
            # the request was not processed, so it is safe to send again.
            return Retryable(reason, platform=PLATFORM, status=status)
        if final_write:
            # Any other 5xx on the post itself (500 internal error, 502, 504 gateway timeout)
            # may come after the post was created.
            return OutcomeUnknown(reason, platform=PLATFORM, status=status)
        return Retryable(reason, platform=PLATFORM, status=status)


def _post_url(post_id: str) -> str:
    return f"https://x.com/i/web/status/{post_id}"


def _json_or_empty(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _x_reason(problem: dict[str, Any]) -> str:
    messages = [str(e.get("message")) for e in problem.get("errors") or [] if isinstance(e, dict)]
    if problem.get("detail"):
        messages.insert(0, str(problem["detail"]))
    return "; ".join(m for m in messages if m) or str(problem.get("title", ""))


def _retry_after(response: requests.Response) -> float:
    """Seconds until X's window resets: the 24-hour user cap if that is what ran out, else the
    endpoint's 15-minute window (x-rate-limit-reset, epoch seconds)."""
    headers = response.headers
    reset = headers.get("x-rate-limit-reset")
    if headers.get("x-user-limit-24hour-remaining") == "0":
        reset = headers.get("x-user-limit-24hour-reset", reset)
    try:
        return (
            max(1.0, math.ceil(float(reset) - clock.epoch()))
            if reset
            else DEFAULT_RETRY_AFTER_SECONDS
        )
    except ValueError:
        return DEFAULT_RETRY_AFTER_SECONDS

"""Everything the fake platform remembers: accounts, accepted posts, media, containers, faults.

One ``FakeState`` per app, guarded by one lock: the server is threaded and a benchmark sends
dozens of posts a second, so every read-modify-write happens under ``state.lock``.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

PLATFORMS = ("x", "facebook", "instagram", "bluesky", "mastodon")

# X counts requests per user per endpoint in 15-minute windows (X API rate-limits page). The
# default allowance is far above X's real one so a benchmark is never throttled by accident;
# a test that wants the real 429 registers an account with a small ``rate_limit``.
RATE_WINDOW_SECONDS = 15 * 60
DEFAULT_RATE_LIMIT = 100_000

# Instagram's content publishing limit is "100 API-published posts within a 24-hour moving
# period" (Instagram Platform, Content Publishing, Limitations).
INSTAGRAM_QUOTA_TOTAL = 100
INSTAGRAM_QUOTA_SECONDS = 24 * 60 * 60

# Instagram media containers expire after 24 hours if not published (same page).
CONTAINER_TTL_SECONDS = 24 * 60 * 60

# Snowflake-like ids that look like X's and Meta's (long decimal strings), start high so a test
# cannot confuse an id with a counter.
_FIRST_ID = 1_790_000_000_000_000_000


@dataclass
class Account:
    """A platform account the fake accepts credentials for (registered by POST /_fake/accounts)."""

    platform: str
    account_id: str
    name: str
    username: str
    credentials: dict[str, str]
    rate_limit: int = DEFAULT_RATE_LIMIT
    quota_total: int = INSTAGRAM_QUOTA_TOTAL

    def public(self) -> dict[str, Any]:
        """The account without its credentials, for GET /_fake/accounts."""
        data = asdict(self)
        data.pop("credentials")
        return data


# Which credentials each platform's adapter sends, so a registration missing one fails loudly.
REQUIRED_CREDENTIALS = {
    "x": ("consumer_key", "consumer_secret", "access_token", "access_token_secret"),
    "facebook": ("access_token",),
    "instagram": ("access_token",),
    # Bluesky (issue 21): the account_id is the DID, the username its handle.
    "bluesky": ("app_password",),
    "mastodon": ("access_token",),
}


def account_from_json(data: Any) -> Account:
    """An Account from a POST /_fake/accounts body. Raises ValueError saying what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("an account must be a JSON object")
    platform = data.get("platform")
    if platform not in PLATFORMS:
        raise ValueError(f"platform must be one of {', '.join(PLATFORMS)}")
    credentials = data.get("credentials")
    if not isinstance(credentials, dict):
        raise ValueError("credentials must be an object")
    missing = [k for k in REQUIRED_CREDENTIALS[platform] if not credentials.get(k)]
    if not data.get("account_id"):
        missing.insert(0, "account_id")
    if missing:
        raise ValueError(f"missing: {', '.join(missing)}")
    account_id = str(data["account_id"])
    try:
        rate_limit = int(data.get("rate_limit") or DEFAULT_RATE_LIMIT)
        quota_total = int(data.get("quota_total") or INSTAGRAM_QUOTA_TOTAL)
    except (TypeError, ValueError):
        raise ValueError("rate_limit and quota_total must be numbers") from None
    return Account(
        platform=platform,
        account_id=account_id,
        name=str(data.get("name") or account_id),
        username=str(data.get("username") or data.get("name") or account_id),
        credentials={str(k): str(v) for k, v in credentials.items()},
        rate_limit=rate_limit,
        quota_total=quota_total,
    )


@dataclass
class Media:
    media_id: str
    platform: str
    account_id: str
    content_type: str
    data: bytes
    alt_text: str = ""
    sha256: str = ""

    def public(self, base_url: str) -> dict[str, Any]:
        return {
            "media_id": self.media_id,
            "content_type": self.content_type,
            "size": len(self.data),
            "sha256": self.sha256,
            "alt_text": self.alt_text,
            "url": f"{base_url}/_fake/media/{self.media_id}",
        }


@dataclass
class Post:
    post_id: str
    platform: str
    account_id: str
    text: str
    created_at: float
    permalink: str
    media_ids: list[str] = field(default_factory=list)
    # When the request that made the post arrived, before any injected latency: the moment a
    # benchmark counts as "the platform received it".
    received_at: float = 0.0
    #: Bluesky: the record as it was created, read back by com.atproto.repo.getRecord.
    record: dict[str, Any] | None = None


@dataclass
class Container:
    """An Instagram media container: created, fetched in the background, then published."""

    container_id: str
    account_id: str
    image_url: str
    caption: str
    alt_text: str
    created_at: float
    status_code: str = "IN_PROGRESS"
    status: str = "In Progress"
    media_id: str | None = None
    published_id: str | None = None


@dataclass
class Fault:
    """A fault to inject into matching requests (POST /_fake/faults or the X-Fake-Fault header).

    kind: "latency" (sleep latency_ms, then answer normally), "error" (answer ``status`` with the
    platform's error body), "rate_limit" (the platform's rate-limit answer, resetting in
    ``reset_in`` seconds), "drop" (close the socket without answering, before doing anything),
    "lost_answer" (do the work, record the post, then close the socket without answering),
    "error_after" (Graph only: do the work, record the post, then answer ``status`` with Graph's
    outage body, code 2 and ``is_transient``, as Instagram's media_publish is known to).
    ``times`` is how many matching requests it hits; None means until it is cleared.
    """

    kind: str
    platform: str | None = None
    account_id: str | None = None
    method: str | None = None
    path_contains: str | None = None
    times: int | None = 1
    latency_ms: int = 0
    status: int = 500
    reset_in: int = 60
    fault_id: int = 0

    KINDS = ("latency", "error", "rate_limit", "drop", "lost_answer", "error_after")

    def matches(self, platform: str, account_id: str | None, method: str, path: str) -> bool:
        return (
            (self.platform is None or self.platform == platform)
            and (self.account_id is None or self.account_id == account_id)
            and (self.method is None or self.method.upper() == method.upper())
            and (self.path_contains is None or self.path_contains in path)
        )


class FakeState:
    """All mutable state of one fake platform. Call methods with ``self.lock`` held."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._ids = itertools.count(_FIRST_ID)
        self._fault_ids = itertools.count(1)
        self.accounts: dict[tuple[str, str], Account] = {}
        self.posts: list[Post] = []
        self._by_account: dict[tuple[str, str], list[Post]] = {}
        self._by_id: dict[str, Post] = {}
        self.media: dict[str, Media] = {}
        self.containers: dict[str, Container] = {}
        self.faults: list[Fault] = []
        self.nonces: dict[str, float] = {}
        # (platform, account_id, endpoint) -> (window start, count)
        self.rate_windows: dict[tuple[str, str, str], tuple[float, int]] = {}
        self.request_log: list[dict[str, Any]] = []
        # Tokens Facebook Login issued (fakeplatform.facebook_login): page token -> the Graph
        # accounts (the Page, and its Instagram account) it opens; and tokens that stopped
        # working -> the Graph error subcode they now answer with (458, 460, 463).
        self.granted_tokens: dict[str, list[tuple[str, str]]] = {}
        self.dead_tokens: dict[str, int] = {}
        # Mastodon (fakeplatform.mastodon_api): the instance's limits set by a test, how often
        # each attachment was polled, and the Idempotency-Keys seen ((account, key) -> (id, when)).
        self.mastodon_config: dict[str, int] = {}
        self.mastodon_polls: dict[str, int] = {}
        self.mastodon_idempotency: dict[tuple[str, str], tuple[str, float]] = {}
        # OAuth: registered apps by client id, codes not yet exchanged, tokens issued.
        self.mastodon_apps: dict[str, dict[str, Any]] = {}
        self.mastodon_codes: dict[str, dict[str, Any]] = {}
        self.mastodon_tokens: dict[str, str] = {}

    def new_id(self) -> str:
        return str(next(self._ids))

    def reset(self, keep_accounts: bool = False) -> None:
        with self.lock:
            if not keep_accounts:
                self.accounts.clear()
            self.posts.clear()
            self._by_account.clear()
            self._by_id.clear()
            self.media.clear()
            self.containers.clear()
            self.faults.clear()
            self.nonces.clear()
            self.rate_windows.clear()
            self.request_log.clear()
            self.granted_tokens.clear()
            self.dead_tokens.clear()
            if hasattr(self, "facebook_login"):
                del self.facebook_login
            if hasattr(self, "x_oauth2"):
                del self.x_oauth2  # X OAuth 2.0 apps, codes and tokens (fakeplatform.x_oauth2)
            self.mastodon_config.clear()
            self.mastodon_polls.clear()
            self.mastodon_idempotency.clear()
            self.mastodon_apps.clear()
            self.mastodon_codes.clear()
            self.mastodon_tokens.clear()

    # Accounts ---------------------------------------------------------------------------------
    def add_account(self, account: Account) -> None:
        with self.lock:
            self.accounts[(account.platform, account.account_id)] = account

    def account_by_credential(self, platform: str, key: str, value: str) -> Account | None:
        with self.lock:
            for account in self.accounts.values():
                if account.platform == platform and account.credentials.get(key) == value:
                    return account
        return None

    def account_by_token(self, token: str, platform: str | None = None) -> Account | None:
        """A Graph API account (Facebook Page or Instagram user) by its access token: one it
        was registered with, or a page token Facebook Login issued (for the Page, or for the
        Instagram account linked to it when ``platform`` is "instagram")."""
        with self.lock:
            if token in self.dead_tokens:
                return None
            for granted_platform, account_id in self.granted_tokens.get(token, ()):
                if platform in (None, granted_platform):
                    found = self.accounts.get((granted_platform, account_id))
                    if found is not None:
                        return found
            for account in self.accounts.values():
                if (
                    account.platform in ("facebook", "instagram")
                    and account.credentials.get("access_token") == token
                ):
                    return account
        return None

    # Posts -------------------------------------------------------------------------------------
    def add_post(self, post: Post) -> None:
        with self.lock:
            self.posts.append(post)
            self._by_account.setdefault((post.platform, post.account_id), []).append(post)
            self._by_id[post.post_id] = post

    def post_by_id(self, post_id: str) -> Post | None:
        with self.lock:
            return self._by_id.get(post_id)

    def posts_of(self, platform: str, account_id: str) -> list[Post]:
        """The account's posts, newest first (the order every platform's timeline uses).

        Posts are appended under the lock as they are accepted, so insertion order is time
        order; a per-account index keeps this cheap when a benchmark has made thousands."""
        with self.lock:
            return list(reversed(self._by_account.get((platform, account_id), [])))

    # Faults ------------------------------------------------------------------------------------
    def add_fault(self, fault: Fault) -> Fault:
        with self.lock:
            fault.fault_id = next(self._fault_ids)
            self.faults.append(fault)
            return fault

    def take_faults(
        self, platform: str, account_id: str | None, method: str, path: str
    ) -> list[Fault]:
        """The faults that hit this request, using up one of each one's ``times``."""
        hit: list[Fault] = []
        with self.lock:
            for fault in list(self.faults):
                if not fault.matches(platform, account_id, method, path):
                    continue
                hit.append(fault)
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
        return hit

    # Rate limits -------------------------------------------------------------------------------
    def count_request(
        self, platform: str, account_id: str, endpoint: str, limit: int, window: float
    ) -> RateWindow:
        """Count one request against its window and say where the window stands."""
        now = time.time()
        key = (platform, account_id, endpoint)
        with self.lock:
            start, count = self.rate_windows.get(key, (now, 0))
            if now - start >= window:
                start, count = now, 0
            count += 1
            self.rate_windows[key] = (start, count)
        return RateWindow(limit, max(limit - count, 0), start + window, count > limit)


@dataclass(frozen=True)
class RateWindow:
    limit: int
    remaining: int
    reset_at: float
    exceeded: bool

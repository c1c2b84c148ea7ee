"""Per-token rate limits for the API, with the standard ``RateLimit`` headers (issue 17).

Each token has its own windows (GATEWAY_API_RATE_LIMIT, "120 per minute" by default), counted
in Redis with the ``limits`` library the sign-in limits use. Every answer to a token carries
``RateLimit-Policy`` and ``RateLimit`` as the IETF httpapi "RateLimit header fields" draft
writes them (structured fields: ``"per-minute";q=120;w=60`` and ``"per-minute";r=87;t=23``); a
call over the limit is a 429 problem with ``Retry-After``.

Redis is a delivery mechanism, not the source of truth (STYLE.md): if it does not answer, the
call goes ahead uncounted and the failure is logged, rather than the API stopping.
"""

from __future__ import annotations

import logging
import math
import time

from flask import Flask, Response, current_app, g
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from gateway.api import problems
from gateway.models import ApiToken

log = logging.getLogger(__name__)
_EXT_KEY = "gateway.api.ratelimit"
#: The namespace of the API's counters in Redis, beside the sign-in limits'.
NAMESPACE = "api-token"
_STATE = "api_rate_limit"


def init_app(app: Flask) -> None:
    # Built on first use: nothing connects to Redis while the app is made.
    app.extensions[_EXT_KEY] = None


def _strategy() -> FixedWindowRateLimiter:
    strategy = current_app.extensions.get(_EXT_KEY)
    if strategy is None:
        storage = storage_from_string(current_app.config["RATELIMIT_STORAGE_URI"])
        strategy = FixedWindowRateLimiter(storage)
        current_app.extensions[_EXT_KEY] = strategy
    return strategy


def _name(item: RateLimitItem) -> str:
    """A policy's name in the headers: "per-minute", "per-5-minutes", "per-hour"."""
    unit = item.GRANULARITY.name
    return f"per-{unit}" if item.multiples == 1 else f"per-{item.multiples}-{unit}s"


def check(token: ApiToken) -> Response | None:
    """Count this call against ``token``'s limits: None to go on, or the 429 to answer."""
    items = parse_many(current_app.config["API_RATE_LIMIT"])
    strategy = _strategy()
    key = str(token.id)
    state = []
    try:
        for item in items:
            allowed = strategy.hit(item, NAMESPACE, key)
            stats = strategy.get_window_stats(item, NAMESPACE, key)
            state.append((item, allowed, stats.remaining, stats.reset_time))
    except Exception:  # noqa: BLE001 - any storage failure: go on uncounted, and say so
        log.warning("API rate limit not counted: its Redis did not answer", exc_info=True)
        return None
    g.setdefault(_STATE, state)
    refused = [(item, reset) for item, allowed, _r, reset in state if not allowed]
    if not refused:
        return None
    wait = max(1, math.ceil(max(reset for _i, reset in refused) - time.time()))
    limits_text = ", ".join(str(item) for item, _reset in refused)
    return problems.problem(
        429,
        f"This token has made too many calls ({limits_text}). Wait {wait} seconds, then try again.",
        slug="too-many-requests",
        headers={"Retry-After": str(wait)},
    )


def add_headers(response: Response) -> Response:
    """The token's limits and what is left of them, on every answer to a token."""
    state = g.get(_STATE)
    if not state:
        return response
    now = time.time()
    response.headers["RateLimit-Policy"] = ", ".join(
        f'"{_name(item)}";q={item.amount};w={item.get_expiry()}' for item, *_rest in state
    )
    response.headers["RateLimit"] = ", ".join(
        f'"{_name(item)}";r={max(0, remaining)};t={max(0, math.ceil(reset - now))}'
        for item, _allowed, remaining, reset in state
    )
    return response

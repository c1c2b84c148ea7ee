"""Signed-in pages kept for their reader until the database changes (issue 6, "Speed").

The dashboard, the approval queue and the schedule are read far more often than anything on
them changes: twenty officers with the dashboard open ask for it again and again while the
same few posts sit in it. Every change these pages show (a post drafted, submitted, approved,
rejected, edited or cancelled, a publish attempt and its outcome, an emergency review, a user,
role, channel, election or closure day changed) writes a publish-log entry in the same
transaction as the change (issue 8), so the log's head, one row, is the database's change
counter. A page is kept under:

- the log's head sequence number, read before the page's own queries: a change committed
  before that read moved the head, so no kept page can predate it; a change committed after
  it moves the head on, and the next reader misses;
- the reader (user id and the session's CSRF secret, so one session's form tokens are never
  served to another) and the full path with its query string;
- the Europe/London date, for what depends on the day (going out today, overdue reviews).

Entries also expire after ``PAGE_CACHE_SECONDS`` (a bound on anything written past the
application, e.g. by hand in ``psql``). Sign-in, session and role checks run on every request
before the cache is consulted, and a page with a message to show (a flash) is always built
afresh. Each web process keeps its own pages, in memory, for at most ``MAX_PAGES`` readers'
pages; ``GATEWAY_PAGE_CACHE_SECONDS=0`` turns this off.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from functools import wraps
from typing import Any, TypeVar

from cachetools import TTLCache
from flask import Flask, current_app, g, request, session
from flask.globals import request_ctx
from flask_login import current_user
from sqlalchemy import select

from gateway.audit.log import HEAD_ROW_ID
from gateway.extensions import db
from gateway.models import AuditHead
from gateway.web.queries import today_local

#: Pages and shared parts kept in each web process: 25 to 90 KB each with 100,000 posts and a
#: busy week on the schedule, so at most about 45 MB when full; the least recently used go first.
MAX_PAGES = 500
#: flask-wtf keeps the session's CSRF secret under this key.
CSRF_SESSION_KEY = "csrf_token"

_HEAD = select(AuditHead.last_seq).where(AuditHead.id == HEAD_ROW_ID)
_HEAD_SEEN = "page_cache_log_head"
_EXTENSION = "gateway.page_cache"
#: Locks for building shared parts, striped by key: a bounded set, one build per key at once.
_BUILDING = tuple(threading.Lock() for _ in range(32))

T = TypeVar("T")


class PageCache:
    def __init__(self, seconds: int) -> None:
        self._pages: TTLCache[tuple[Any, ...], Any] = TTLCache(MAX_PAGES, seconds)
        # cachetools' caches are not thread-safe; gunicorn serves each process from threads.
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Any:
        with self._lock:
            return self._pages.get(key)

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        with self._lock:
            self._pages[key] = value

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()


def init_app(app: Flask) -> None:
    seconds = app.config.get("PAGE_CACHE_SECONDS", 0)
    app.extensions[_EXTENSION] = PageCache(seconds) if seconds > 0 else None


def cache_of(app: Flask) -> PageCache | None:
    return app.extensions.get(_EXTENSION)


def enabled() -> bool:
    return cache_of(current_app) is not None


def log_head() -> int | None:
    """The publish log's head as this request first read it, before any of its page's
    queries (None before the first entry)."""
    if _HEAD_SEEN not in g:
        setattr(g, _HEAD_SEEN, db.session.execute(_HEAD).scalar())
    return getattr(g, _HEAD_SEEN)


def _key() -> tuple[Any, ...] | None:
    """This request's page key, or None when the page must be built afresh."""
    if request.method != "GET" or session.get("_flashes"):
        return None
    csrf_secret = session.get(CSRF_SESSION_KEY)
    if csrf_secret is None:
        return None  # the page would create the session's secret: build it, keep the next
    return (log_head(), today_local(), current_user.get_id(), csrf_secret, request.full_path)


def shared(name: Hashable, build: Callable[[], T]) -> T:
    """What ``build`` makes from the database alone, the same for every reader (the common
    part of a page), kept under the log's head and the London date like a whole page. When a
    change makes every reader's page stale at once, one thread of each process builds it
    while the others wait for it, instead of each building its own."""
    cache = cache_of(current_app)
    if cache is None:
        return build()
    key = ("shared", name, log_head(), today_local())
    kept = cache.get(key)
    if kept is not None:
        return kept
    with _BUILDING[hash(key) % len(_BUILDING)]:
        kept = cache.get(key)
        if kept is None:
            kept = build()
            cache.put(key, kept)
    return kept


def kept_until_changed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve ``view``'s page from the cache while nothing it could show has changed. Apply it
    under the route's permission decorator, so the checks run first."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        cache = cache_of(current_app)
        key = _key() if cache is not None else None
        if key is None:
            return view(*args, **kwargs)
        page = cache.get(key)
        if page is not None:
            return current_app.response_class(page, mimetype="text/html")
        response = current_app.make_response(view(*args, **kwargs))
        flashed = session.get("_flashes") or getattr(request_ctx, "flashes", None)
        if response.status_code == 200 and response.mimetype == "text/html" and not flashed:
            cache.put(key, response.get_data())
        return response

    return wrapped

"""Who an API call is: the owner of the bearer token it carries, and nobody else.

The API never reads the session cookie (so a page a browser has open cannot be made to call it,
and it needs no CSRF token): for every path under /api/ the user is set from the token, before
any other step of the request asks who is signed in. A token acts with its owner's roles at the
time of the call; a read-only token is refused every write, and a token narrowed to some scopes
(gateway.api.scopes) every operation outside them. Both are checked here, once, for every
operation; the route's role check then runs as for the pages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from flask import Flask, current_app, g, request
from sqlalchemy import update

from gateway.api import problems, ratelimit, scopes, tokens
from gateway.extensions import db, login_manager
from gateway.models import ApiToken
from gateway.models.base import utcnow
from gateway.security import PERMISSION_ATTR, PUBLIC

F = TypeVar("F", bound=Callable[..., Any])
#: Set on a view that changes nothing although it is a POST (the guardrail check).
READS_ONLY_ATTR = "_api_reads_only"
UPLOAD_ATTR = "_api_takes_upload"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
#: A token's "last used" is written at most this often: one write per call would put every
#: read behind SQLite's write lock, and the account page needs it to the minute at best.
LAST_USED_EVERY = timedelta(minutes=5)


def reads_only(view: F) -> F:
    """This POST changes nothing: a read-only token may call it."""
    setattr(view, READS_ONLY_ATTR, True)
    return view


def current_token() -> ApiToken | None:
    return g.get("api_token")


def init_app(app: Flask) -> None:
    # First of the before-request steps that ask who is signed in (sessions' timeouts, the
    # two-factor enrolment check), so none of them ever loads a user from the cookie here.
    app.before_request_funcs.setdefault(None, []).insert(0, _authenticate)
    ratelimit.init_app(app)
    app.after_request(ratelimit.add_headers)


def _authenticate():
    if not problems.is_api_request():
        return None
    g._login_user = login_manager.anonymous_user()
    if _body_refused():
        # Bodies are JSON only, but for an image upload (multipart): a form post (what a page
        # elsewhere could send) is refused before anything reads it.
        return problems.problem(415)
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if not header:
        return None
    if scheme.lower() != "bearer" or not secret.strip():
        g.api_refusal = "Send the token as 'Authorization: Bearer <token>'."
        return None
    row = tokens.authenticate(secret.strip())
    if row is None:
        # Whether it was revoked, expired or never existed is not said: a guesser learns nothing.
        g.api_refusal = (
            "The token is not valid: it may have been revoked or have expired, or its owner's "
            "account is deactivated. Make a new one on the 'API tokens' page of your account."
        )
        return None
    g.api_token = row
    g._login_user = row.user
    _note_use(row)
    limited = ratelimit.check(row)
    if limited is not None:
        return limited
    return _operation_refusal(row)


def _view():
    return current_app.view_functions.get(request.endpoint or "")


def _view_reads_only() -> bool:
    view = _view()
    return bool(view is not None and getattr(view, READS_ONLY_ATTR, False))


def takes_upload(view: F) -> F:
    """This operation's body is multipart/form-data (a file and its fields), not JSON."""
    setattr(view, UPLOAD_ATTR, True)
    return view


def _body_refused() -> bool:
    if request.mimetype == "multipart/form-data":
        view = _view()
        return not (view is not None and getattr(view, UPLOAD_ATTR, False))
    return request.mimetype in FORM_TYPES or bool(request.content_length and not request.is_json)


def _operation_refusal(row: ApiToken):
    """A 403 when the token may not call this operation at all, whatever its owner's roles:
    it is read-only and this writes, or it is narrowed to scopes that leave it out."""
    view = _view()
    if view is None or getattr(view, PERMISSION_ATTR, None) == PUBLIC:
        return None  # no such route (the 404 follows), or the document anyone may read
    needed = scopes.scope_of(view)
    if needed is None:
        # Every operation names its scope (tests/api/test_scopes.py): one that forgot is
        # refused to every token rather than open to all of them.
        return problems.problem(403, "This operation is not open to API tokens.")
    writes = request.method not in SAFE_METHODS and not getattr(view, READS_ONLY_ATTR, False)
    if row.read_only and writes:
        return problems.problem(
            403,
            "This token is read-only: it can read, and change nothing. Use a token made "
            "without 'Read only' to make changes.",
            slug="read-only-token",
        )
    allowed = scopes.parse(row.scopes)
    if allowed is not None and needed not in allowed:
        return problems.problem(
            403,
            f"This token is limited to {', '.join(sorted(allowed))}: this operation needs "
            f"{needed}. Make a token that includes it on the 'API tokens' page of your account.",
            slug="token-scope",
        )
    return None


def _note_use(row: ApiToken) -> None:
    now = utcnow()
    if row.last_used_at is not None and now - row.last_used_at < LAST_USED_EVERY:
        return
    db.session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    db.session.commit()


def refusal_detail() -> str | None:
    """Why the token (if any) was refused, for the 401."""
    return g.get("api_refusal")

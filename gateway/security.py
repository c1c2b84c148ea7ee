"""Cookies, CSRF, security headers and the permission check every route must declare."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, redirect, request, url_for
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway.domain.hidden_characters import first_hidden_character
from gateway.domain.roles import Role
from gateway.errors import hidden_character_response
from gateway.extensions import csrf

F = TypeVar("F", bound=Callable[..., Any])
#: Attribute set on each view by @public or @requires: the route checker reads it.
PERMISSION_ATTR = "_gateway_permission"
PUBLIC = "public"
SIGNED_IN = "signed-in"

#: The __Host- prefix makes the browser refuse the cookie unless it is Secure, has Path=/
#: and no Domain, so a sibling subdomain cannot plant or read it (RFC 6265bis 4.1.3.2).
SESSION_COOKIE_NAME = "__Host-session"
#: A year, subdomains too (OWASP HSTS cheat sheet): once a browser has seen the gateway over
#: HTTPS it will not be talked into plain HTTP. Sent on HTTPS responses only, as RFC 6797 8.1
#: says browsers ignore it over HTTP (behind a proxy, HTTPS is what X-Forwarded-Proto says
#: when GATEWAY_TRUSTED_PROXIES is set).
HSTS = "max-age=31536000; includeSubDomains"


def init_app(app: Flask) -> None:
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_DOMAIN=None,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"]),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session, which times out
    )

    # First of all the before-request steps: a body over MAX_CONTENT_LENGTH is refused before
    # anything reads it, signs anyone in or opens a database transaction (on SQLite every
    # transaction takes the write lock: gateway.database). Bodies without a length (chunked)
    # are cut off by Werkzeug at the same limit as they are read.
    @app.before_request
    def _refuse_oversized_bodies():
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit is not None and (request.content_length or 0) > limit:
            abort(413)
        return None

    # Next, any text that carries a character no post, name or reason needs (NUL, other
    # control characters, bidirectional overrides, broken surrogates) is refused whole, before
    # a form, a sign-in or the database sees it: gateway.domain.hidden_characters says why.
    @app.before_request
    def _refuse_hidden_characters():
        found = _hidden_character_in_request()
        if found is None:
            return None
        return hidden_character_response(*found)

    if not app.config["SESSION_COOKIE_SECURE"]:
        # Without Secure the browser would refuse a __Host- cookie.
        app.config["SESSION_COOKIE_NAME"] = "session"
    csrf.init_app(app)
    if app.config.get("TRUSTED_PROXIES"):
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    @app.after_request
    def _headers(response):  # noqa: ANN001
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if request.endpoint not in {"static"}:
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def content_security_policy(form_action: tuple[str, ...] = ()) -> str:
    """The pages' policy; ``form_action`` adds origins a form may lead to (Chromium applies
    form-action to the redirects after a form's POST too: "Connect with X" posts, then is
    sent on to X's consent page, issue 15)."""
    targets = " ".join(("'self'", *form_action))
    return (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
        f"frame-ancestors 'none'; form-action {targets}"
    )


#: How deep a JSON body is searched for hidden characters: deeper bodies are refused by the
#: views' own checks (tests/web/test_hostile_input.py), and the walk must not recurse without end.
MAX_JSON_DEPTH = 32


def _hidden_character_in_request():
    """(field name, HiddenCharacter) for the first hidden character in the query string, the
    form (names and values) or a JSON body, or None."""
    for source in (request.args, request.form):
        for name, value in source.items(multi=True):
            for text in (name, value):
                hit = first_hidden_character(text)
                if hit is not None:
                    return name, hit
    if request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:
            # Nested past what the JSON parser takes: the views refuse it as a 400 themselves.
            return None
        stack = [("", body, 0)]
        while stack:
            name, value, depth = stack.pop()
            if depth > MAX_JSON_DEPTH:
                continue
            if isinstance(value, str):
                hit = first_hidden_character(value)
                if hit is not None:
                    return name, hit
            elif isinstance(value, dict):
                for key, item in value.items():
                    hit = first_hidden_character(str(key))
                    if hit is not None:
                        return str(key), hit
                    stack.append((str(key), item, depth + 1))
            elif isinstance(value, list):
                stack.extend((name, item, depth + 1) for item in value)
    return None


def public(view: F) -> F:
    """Anyone may call this route, signed in or not."""
    setattr(view, PERMISSION_ATTR, PUBLIC)
    return view


def signed_in(view: F) -> F:
    """Any signed-in user, whatever their roles."""
    return _guard(view, SIGNED_IN, frozenset())


def requires(*roles: Role) -> Callable[[F], F]:
    """The user must hold at least one of ``roles``; checked on the server on every call."""
    if not roles:
        raise ValueError("requires() needs at least one role")
    for role in roles:
        if not isinstance(role, Role):
            raise TypeError(f"unknown role {role!r}: use gateway.domain.roles.Role")
    wanted = frozenset(roles)

    def decorator(view: F) -> F:
        return _guard(view, "roles:" + ",".join(sorted(r.value for r in wanted)), wanted)

    return decorator


def _guard(view: F, marker: str, roles: frozenset[Role]) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            if request.blueprint == "api" or request.accept_mimetypes.best == "application/json":
                abort(401)
            return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
        if roles and not current_user.has_role(*roles):
            abort(403)
        return view(*args, **kwargs)

    setattr(wrapped, PERMISSION_ATTR, marker)
    return wrapped  # type: ignore[return-value]


def permission_of(view: Callable[..., Any]) -> str | None:
    return getattr(view, PERMISSION_ATTR, None)


def check_every_route_has_a_permission(app: Flask) -> None:
    """Fail loudly at start-up if a route forgot to declare who may call it."""
    missing = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and permission_of(app.view_functions[rule.endpoint]) is None
    ]
    if missing:
        raise RuntimeError(f"routes with no permission check: {', '.join(sorted(missing))}")

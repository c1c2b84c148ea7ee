"""X's OAuth 2.0 authorization code flow with PKCE, as strict as docs.x.com describes it.

- ``GET /i/oauth2/authorize`` (x.com/i/oauth2/authorize): checks ``response_type=code``, a known
  ``client_id``, a ``redirect_uri`` registered for it exactly, ``scope``, ``state`` and a
  ``code_challenge`` (S256 or plain), then shows the consent page where the test's browser or
  a trainee picks the X account to sign in as and presses "Authorize app" or "Cancel".
  Cancel sends the browser back with ``error=access_denied`` and the ``state``.
- ``POST /2/oauth2/token`` (api.x.com/2/oauth2/token): ``grant_type=authorization_code`` with
  ``code``, ``redirect_uri``, ``code_verifier`` (and ``client_id``; a confidential client also
  authenticates with HTTP Basic), a code valid once and for 30 seconds; ``grant_type=
  refresh_token`` rotates the refresh token (the old one is refused once used). Access tokens
  live two hours (``expires_in: 7200``); a refresh token is issued only with ``offline.access``.
  Errors are X's OAuth bodies: ``{"error": "invalid_request", "error_description": ...}``.
- ``POST /2/oauth2/revoke``: revokes an access or refresh token.

Controls under ``/_fake/x/oauth2``: register an app, revoke an account's grant from the
platform's side (the person removed the app at x.com/settings/connected_apps), set when an
account's access tokens expire, and count the refreshes made (for the refresh-race tests).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, redirect, request

from fakeplatform.state import FakeState

bp = Blueprint("x_oauth2", __name__)

#: docs.x.com, "OAuth 2.0 Authorization Code Flow with PKCE": access tokens are valid for two
#: hours; "This code has a time limit of 30 seconds" for the authorization code.
ACCESS_TOKEN_SECONDS = 2 * 60 * 60
CODE_SECONDS = 30
#: How long the consent page waits for the person (the real page times out after a while).
PENDING_SECONDS = 10 * 60
#: The scopes of X API v2 (docs.x.com, "Scopes"): a request naming another is refused.
KNOWN_SCOPES = frozenset(
    {
        "tweet.read",
        "tweet.write",
        "tweet.moderate.write",
        "users.read",
        "users.email",
        "follows.read",
        "follows.write",
        "offline.access",
        "space.read",
        "mute.read",
        "mute.write",
        "like.read",
        "like.write",
        "list.read",
        "list.write",
        "block.read",
        "block.write",
        "bookmark.read",
        "bookmark.write",
        "media.write",
        "dm.read",
        "dm.write",
    }
)
INVALID_CODE = "Value passed for the authorization code was invalid."
INVALID_TOKEN = "Value passed for the token was invalid."  # noqa: S105  # nosec B105
VERIFIER_MISMATCH = "Value passed for the code verifier did not match the code challenge."


@dataclass
class OAuthApp:
    client_id: str
    client_secret: str | None  # None: a public client (no secret, client_id in the body)
    redirect_uris: list[str]
    name: str = "Council Publishing Gateway"


@dataclass
class PendingAuthorization:
    request_id: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    state: str
    code_challenge: str
    code_challenge_method: str
    created_at: float


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    code_challenge: str
    code_challenge_method: str
    account_id: str
    issued_at: float
    used: bool = False
    #: Tokens issued for this code: revoked if the code is presented again (RFC 6749 4.1.2).
    issued_tokens: list[str] = field(default_factory=list)


@dataclass
class Token:
    value: str
    kind: str  # "access" or "refresh"
    client_id: str
    account_id: str
    scopes: list[str]
    issued_at: float
    expires_at: float | None  # None: a refresh token (X does not say when they expire)
    revoked: bool = False
    used: bool = False  # a refresh token once exchanged

    def valid(self, now: float) -> bool:
        return (
            not self.revoked
            and not self.used
            and (self.expires_at is None or now < self.expires_at)
        )


@dataclass
class OAuthState:
    apps: dict[str, OAuthApp] = field(default_factory=dict)
    pending: dict[str, PendingAuthorization] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    refreshes: list[dict[str, Any]] = field(default_factory=list)
    refused_refreshes: int = 0


def oauth_state(state: FakeState) -> OAuthState:
    """The OAuth 2.0 part of the fake's state (made on first use; cleared by reset)."""
    with state.lock:
        found = getattr(state, "x_oauth2", None)
        if found is None:
            found = state.x_oauth2 = OAuthState()  # type: ignore[attr-defined]
        return found


def _state() -> FakeState:
    return current_app.extensions["fakeplatform"]


def _json(body: Any, status: int = 200) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _oauth_error(description: str, error: str = "invalid_request", status: int = 400) -> Response:
    return _json({"error": error, "error_description": description}, status)


def bearer_account(state: FakeState, token: str) -> tuple[str, list[str]] | None | bool:
    """The (account id, scopes) an OAuth 2.0 user access token is for; False for a token this
    flow issued that is expired or revoked; None for one it never issued."""
    store = oauth_state(state)
    with state.lock:
        found = store.tokens.get(token)
        if found is None or found.kind != "access":
            return None
        if not found.valid(time.time()):
            return False
        return found.account_id, list(found.scopes)


# The consent page ------------------------------------------------------------------------------
def _error_page(message: str, status: int = 400) -> Response:
    # X shows its own error page and does not redirect when the client or redirect URI is
    # wrong: a redirect would hand the browser to an address nobody registered.
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<title>X (fake): something went wrong</title></head><body>"
        f"<h1>Something went wrong</h1><p>{escape(message)}</p></body></html>"
    )
    return Response(body, status=status, mimetype="text/html")


@bp.get("/i/oauth2/authorize")
def authorize_page() -> Response:
    state = _state()
    store = oauth_state(state)
    args = request.args
    app = store.apps.get(args.get("client_id", ""))
    if app is None:
        return _error_page("This app is not registered with X (unknown client_id).")
    redirect_uri = args.get("redirect_uri", "")
    if redirect_uri not in app.redirect_uris:
        return _error_page("The redirect_uri is not one of the app's callback URLs.")
    if args.get("response_type") != "code":
        return _error_page("response_type must be code.")
    scopes = args.get("scope", "").split()
    if not scopes or any(s not in KNOWN_SCOPES for s in scopes):
        return _error_page("scope is missing or names an unknown scope.")
    if not args.get("state"):
        return _error_page("state is required.")
    method = args.get("code_challenge_method", "plain")
    if not args.get("code_challenge") or method not in ("S256", "plain"):
        return _error_page("code_challenge is required (code_challenge_method S256 or plain).")
    pending = PendingAuthorization(
        request_id=secrets.token_urlsafe(16),
        client_id=app.client_id,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=args["state"],
        code_challenge=args["code_challenge"],
        code_challenge_method=method,
        created_at=time.time(),
    )
    with state.lock:
        store.pending[pending.request_id] = pending
        accounts = [a for a in state.accounts.values() if a.platform == "x"]
    choices = "".join(
        f'<div><input type="radio" name="account_id" id="account-{escape(a.account_id)}" '
        f'value="{escape(a.account_id)}"{" checked" if i == 0 else ""}>'
        f'<label for="account-{escape(a.account_id)}">{escape(a.name)} '
        f"(@{escape(a.username)})</label></div>"
        for i, a in enumerate(accounts)
    )
    scope_items = "".join(f"<li>{escape(s)}</li>" for s in scopes)
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>X (fake): authorize {escape(app.name)}</title></head><body>"
        "<p>Training: the fake platform, not the real X.</p>"
        f"<h1>{escape(app.name)} wants to access your X account</h1>"
        f"<p>It asks for:</p><ul>{scope_items}</ul>"
        '<form method="post" action="/i/oauth2/authorize">'
        f'<input type="hidden" name="request_id" value="{escape(pending.request_id)}">'
        f"<fieldset><legend>Sign in as</legend>{choices}</fieldset>"
        '<button type="submit" name="decision" value="allow">Authorize app</button> '
        '<button type="submit" name="decision" value="cancel">Cancel</button>'
        "</form></body></html>"
    )
    return Response(body, mimetype="text/html")


@bp.post("/i/oauth2/authorize")
def authorize_decision() -> Response:
    state = _state()
    store = oauth_state(state)
    with state.lock:
        pending = store.pending.pop(request.form.get("request_id", ""), None)
    if pending is None or time.time() - pending.created_at > PENDING_SECONDS:
        return _error_page("This authorization request has expired. Go back to the app.")
    separator = "&" if "?" in pending.redirect_uri else "?"
    if request.form.get("decision") != "allow":
        query = urlencode({"error": "access_denied", "state": pending.state})
        return redirect(f"{pending.redirect_uri}{separator}{query}")
    account_id = request.form.get("account_id", "")
    with state.lock:
        if ("x", account_id) not in state.accounts:
            return _error_page("Choose an account to sign in as.")
        code = AuthorizationCode(
            code=secrets.token_urlsafe(48),
            client_id=pending.client_id,
            redirect_uri=pending.redirect_uri,
            scopes=pending.scopes,
            code_challenge=pending.code_challenge,
            code_challenge_method=pending.code_challenge_method,
            account_id=account_id,
            issued_at=time.time(),
        )
        store.codes[code.code] = code
    query = urlencode({"state": pending.state, "code": code.code})
    return redirect(f"{pending.redirect_uri}{separator}{query}")


# The token endpoint ----------------------------------------------------------------------------
def _client(store: OAuthState) -> tuple[OAuthApp | None, Response | None]:
    """The app making a token request: HTTP Basic for a confidential client (docs.x.com,
    "Working with confidential clients"), ``client_id`` in the body for a public one."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None, _oauth_error(
                "Missing valid authorization header", "unauthorized_client", 401
            )
        app = store.apps.get(client_id)
        if (
            app is None
            or app.client_secret is None
            or not secrets.compare_digest(app.client_secret, secret)
        ):
            return None, _oauth_error(
                "Missing valid authorization header", "unauthorized_client", 401
            )
        return app, None
    app = store.apps.get(request.form.get("client_id", ""))
    if app is None:
        return None, _oauth_error("Missing required parameter [client_id].")
    if app.client_secret is not None:
        return None, _oauth_error("Missing valid authorization header", "unauthorized_client", 401)
    return app, None


def _challenge_of(verifier: str, method: str) -> str:
    if method == "plain":
        return verifier
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _issue(store: OAuthState, client_id: str, account_id: str, scopes: list[str]) -> dict:
    now = time.time()
    access = Token(
        value=secrets.token_urlsafe(64),
        kind="access",
        client_id=client_id,
        account_id=account_id,
        scopes=scopes,
        issued_at=now,
        expires_at=now + ACCESS_TOKEN_SECONDS,
    )
    store.tokens[access.value] = access
    body = {
        "token_type": "bearer",  # nosec B105
        "expires_in": ACCESS_TOKEN_SECONDS,
        "access_token": access.value,
        "scope": " ".join(scopes),
    }
    if "offline.access" in scopes:
        refresh = Token(
            value=secrets.token_urlsafe(64),
            kind="refresh",
            client_id=client_id,
            account_id=account_id,
            scopes=scopes,
            issued_at=now,
            expires_at=None,
        )
        store.tokens[refresh.value] = refresh
        body["refresh_token"] = refresh.value
    return body


@bp.post("/2/oauth2/token")
def token() -> Response:
    state = _state()
    store = oauth_state(state)
    if request.mimetype != "application/x-www-form-urlencoded":
        return _oauth_error("Content-Type must be application/x-www-form-urlencoded.")
    with state.lock:
        app, refused = _client(store)
        if refused is not None:
            return refused
        assert app is not None  # nosec B101 - _client returns one or the other
        grant = request.form.get("grant_type")
        if grant == "authorization_code":
            return _exchange_code(store, app)
        if grant == "refresh_token":
            return _refresh(store, app)
        return _oauth_error("Missing required parameter [grant_type].")


def _exchange_code(store: OAuthState, app: OAuthApp) -> Response:
    form = request.form
    code = store.codes.get(form.get("code", ""))
    if code is None or code.client_id != app.client_id:
        return _oauth_error(INVALID_CODE)
    if code.used:
        # A code presented twice: refuse it and revoke what it gave (RFC 6749 section 4.1.2).
        for value in code.issued_tokens:
            if value in store.tokens:
                store.tokens[value].revoked = True
        return _oauth_error(INVALID_CODE)
    if time.time() - code.issued_at > CODE_SECONDS:
        return _oauth_error(INVALID_CODE)
    if form.get("redirect_uri") != code.redirect_uri:
        return _oauth_error(
            "Value passed for the redirect uri did not match the uri of the authorization code."
        )
    verifier = form.get("code_verifier")
    if not verifier:
        return _oauth_error("Missing required parameter [code_verifier].")
    if not secrets.compare_digest(
        _challenge_of(verifier, code.code_challenge_method), code.code_challenge
    ):
        return _oauth_error(VERIFIER_MISMATCH)
    code.used = True
    body = _issue(store, app.client_id, code.account_id, code.scopes)
    code.issued_tokens = [
        body["access_token"],
        *([body["refresh_token"]] if "refresh_token" in body else []),
    ]
    return _json(body)


def _refresh(store: OAuthState, app: OAuthApp) -> Response:
    value = request.form.get("refresh_token", "")
    found = store.tokens.get(value)
    if (
        found is None
        or found.kind != "refresh"
        or found.client_id != app.client_id
        or not found.valid(time.time())
    ):
        store.refused_refreshes += 1
        return _oauth_error(INVALID_TOKEN)
    found.used = True  # rotation: this refresh token is spent
    body = _issue(store, app.client_id, found.account_id, found.scopes)
    store.refreshes.append({"account_id": found.account_id, "at": time.time()})
    return _json(body)


@bp.post("/2/oauth2/revoke")
def revoke() -> Response:
    state = _state()
    store = oauth_state(state)
    with state.lock:
        app, refused = _client(store)
        if refused is not None:
            return refused
        found = store.tokens.get(request.form.get("token", ""))
        if found is not None and app is not None and found.client_id == app.client_id:
            found.revoked = True
    return _json({"revoked": True})


# Controls --------------------------------------------------------------------------------------
@bp.post("/_fake/x/oauth2/apps")
def register_app() -> Response:
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not data.get("client_id") or not data.get("redirect_uris"):
        return _json({"error": "send client_id, redirect_uris and optionally client_secret"}, 400)
    app = OAuthApp(
        client_id=str(data["client_id"]),
        client_secret=str(data["client_secret"]) if data.get("client_secret") else None,
        redirect_uris=[str(u) for u in data["redirect_uris"]],
        name=str(data.get("name") or "Council Publishing Gateway"),
    )
    state = _state()
    with state.lock:
        oauth_state(state).apps[app.client_id] = app
    return _json({"client_id": app.client_id, "redirect_uris": app.redirect_uris}, 201)


@bp.post("/_fake/x/oauth2/revoke")
def revoke_account() -> Response:
    """The person removed the app from their account: every token for it stops working; with
    ``"kind": "access"`` only its access tokens (its refresh tokens still renew them)."""
    data = request.get_json(silent=True) or {}
    account_id = str(data.get("account_id", ""))
    kinds = ("access",) if data.get("kind") == "access" else ("access", "refresh")
    state = _state()
    store = oauth_state(state)
    with state.lock:
        revoked = 0
        for found in store.tokens.values():
            if found.account_id == account_id and found.kind in kinds and not found.revoked:
                found.revoked = True
                revoked += 1
    return _json({"revoked": revoked})


@bp.post("/_fake/x/oauth2/expire")
def expire_account() -> Response:
    """Make the account's live access tokens expire ``in_seconds`` from now (0: at once)."""
    data = request.get_json(silent=True) or {}
    account_id = str(data.get("account_id", ""))
    at = time.time() + float(data.get("in_seconds", 0))
    state = _state()
    store = oauth_state(state)
    with state.lock:
        changed = 0
        for found in store.tokens.values():
            if found.account_id == account_id and found.kind == "access" and not found.revoked:
                found.expires_at = min(found.expires_at or at, at)
                changed += 1
    return _json({"expiring": changed})


@bp.get("/_fake/x/oauth2/stats")
def stats() -> Response:
    """How many refreshes were made and refused, and how many tokens are live (no values)."""
    state = _state()
    store = oauth_state(state)
    now = time.time()
    with state.lock:
        live = [t for t in store.tokens.values() if t.valid(now)]
        return _json(
            {
                "refreshes": len(store.refreshes),
                "refused_refreshes": store.refused_refreshes,
                "live_access_tokens": sum(1 for t in live if t.kind == "access"),
                "live_refresh_tokens": sum(1 for t in live if t.kind == "refresh"),
            }
        )

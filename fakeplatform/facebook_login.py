"""Facebook Login for a Page and its Instagram account, with Facebook's granular choices.

- ``GET [/{version}]/dialog/oauth`` (www.facebook.com/{version}/dialog/oauth): checks
  ``client_id``, a ``redirect_uri`` registered exactly, ``state``, ``response_type=code`` and
  ``scope``; PKCE (``code_challenge`` S256) is checked when sent. The consent page lets the
  person (a test's browser or a trainee) pick who they are, then tick some of their Pages and
  some of their Instagram accounts, independently (an Instagram account can be ticked without
  its Page), and Continue or Cancel. Cancel returns ``error=access_denied&error_code=200&
  error_description=Permissions+error&error_reason=user_denied`` with the ``state``.
- ``GET|POST [/{version}]/oauth/access_token``: the code (once, for 10 minutes; a code used
  twice is Graph error 100 subcode 36009) for a short-lived user token (2 hours); then
  ``grant_type=fb_exchange_token`` for a long-lived one (60 days).
- ``GET [/{version}]/me/accounts`` with the user token: every Page of the person with its
  ``tasks``; ``access_token`` only for the Pages ticked in the dialog, and
  ``instagram_business_account`` only when that Instagram account was ticked.
- ``GET [/{version}]/debug_token``: ``app_id``, ``type``, ``application``, ``is_valid``,
  ``issued_at``, ``expires_at`` (0: never), ``data_access_expires_at``, ``scopes``,
  ``granular_scopes``, ``user_id``, and ``profile_id`` for a page token; a token Graph cannot
  read is ``is_valid: false`` with its ``error``. A page token registered with an account
  (``POST /_fake/accounts``, the "Enter credentials by hand" case) is a PAGE token that never
  expires.

Controls under ``/_fake/facebook``: register an app, a person (their Pages with tasks and the
Instagram account linked to each), mint a token as Graph API Explorer does (a USER token, or a
Page's own, to paste by hand), and revoke a person's grant from Facebook's side (their page
tokens answer Graph error 190 with subcode 458 app removed, 460 password changed, 463 expired).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, redirect, request

from fakeplatform.graph_common import (
    CODE_ACCESS_TOKEN,
    CODE_INVALID_PARAMETER,
    DEAD_TOKEN_MESSAGES,
    fake_state,
    graph_error,
    json_response,
)
from fakeplatform.state import FakeState

bp = Blueprint("facebook_login", __name__)

#: developers.facebook.com, "Access Token Guide": short-lived user tokens last "about an hour
#: or two", long-lived ones "about 60 days"; page tokens from a long-lived user token do not
#: expire. "Manually Build a Login Flow": codes are single-use (and short-lived; 10 minutes).
SHORT_LIVED_SECONDS = 2 * 60 * 60
LONG_LIVED_SECONDS = 60 * 24 * 60 * 60
CODE_SECONDS = 10 * 60
#: "Data Access Expiration": the app may read the person's data for 90 days after they last
#: used it; debug_token says until when (``data_access_expires_at``).
DATA_ACCESS_SECONDS = 90 * 24 * 60 * 60
#: Who the fake says granted a page token that was registered with its account (no Facebook
#: Login behind it): an app-scoped user id of the same shape as Meta's.
HAND_ENTERED_GRANTOR = "10200000000000009"
#: The permissions the fake reports for such a token: what publishing to a Page and its
#: Instagram account needs.
HAND_ENTERED_SCOPES = (
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_posts",
    "instagram_basic",
    "instagram_content_publish",
)
SUBCODE_CODE_USED = 36009
TASKS_NEEDED = "CREATE_CONTENT"


@dataclass
class App:
    app_id: str
    app_secret: str
    redirect_uris: list[str]
    name: str = "Council Publishing Gateway"


@dataclass
class Person:
    user_id: str
    name: str
    #: page id -> tasks the person has on it (MANAGE, CREATE_CONTENT, MODERATE, ADVERTISE...)
    pages: dict[str, list[str]]
    #: page id -> the Instagram professional account linked to it
    instagram: dict[str, str] = field(default_factory=dict)


@dataclass
class Grant:
    user_id: str
    app_id: str
    scopes: list[str]
    pages: list[str]
    instagram: list[str]
    granted_at: float = field(default_factory=time.time)


@dataclass
class Code:
    code: str
    redirect_uri: str
    challenge: str | None
    grant: Grant
    issued_at: float
    used: bool = False


@dataclass
class UserToken:
    grant: Grant
    expires_at: float
    issued_at: float = field(default_factory=time.time)


@dataclass
class LoginState:
    apps: dict[str, App] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    user_tokens: dict[str, UserToken] = field(default_factory=dict)
    page_tokens: dict[str, tuple[Grant, str]] = field(default_factory=dict)
    #: page tokens minted to expire (POST /_fake/facebook/tokens with expires_in): when
    page_expiry: dict[str, float] = field(default_factory=dict)


def login_state(state: FakeState) -> LoginState:
    with state.lock:
        found = getattr(state, "facebook_login", None)
        if found is None:
            found = state.facebook_login = LoginState()  # type: ignore[attr-defined]
        return found


def _error_page(message: str) -> Response:
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<title>Facebook (fake): error</title></head><body><h1>Sorry, something went wrong</h1>"
        f"<p>{escape(message)}</p></body></html>"
    )
    return Response(body, status=400, mimetype="text/html")


@bp.get("/dialog/oauth")
@bp.get("/<version>/dialog/oauth")
def dialog(version: str | None = None) -> Response:
    state = fake_state()
    store = login_state(state)
    args = request.args
    app = store.apps.get(args.get("client_id", ""))
    if app is None:
        return _error_page("Invalid App ID.")
    if args.get("redirect_uri") not in app.redirect_uris:
        return _error_page(
            "URL blocked: this redirect failed because the redirect URI is not whitelisted in "
            "the app's Client OAuth Settings."
        )
    if not args.get("state") or args.get("response_type", "code") != "code":
        return _error_page("state is required and response_type must be code.")
    request_id = secrets.token_urlsafe(16)
    with state.lock:
        store.pending[request_id] = {
            "app_id": app.app_id,
            "redirect_uri": args["redirect_uri"],
            "state": args["state"],
            "scopes": [s for s in args.get("scope", "").replace(",", " ").split() if s],
            "challenge": args.get("code_challenge"),
            "created_at": time.time(),
        }
        people = list(store.people.values())
        names = {(a.platform, a.account_id): a.name for a in state.accounts.values()}
    people_html = "".join(
        f'<div><input type="radio" name="user_id" id="person-{escape(p.user_id)}" '
        f'value="{escape(p.user_id)}"{" checked" if i == 0 else ""}>'
        f'<label for="person-{escape(p.user_id)}">{escape(p.name)}</label></div>'
        for i, p in enumerate(people)
    )
    pages_html = "".join(
        f'<div><input type="checkbox" name="page" id="page-{escape(page)}" value="{escape(page)}">'
        f'<label for="page-{escape(page)}">{escape(names.get(("facebook", page), page))}</label>'
        "</div>"
        for p in people
        for page in p.pages
    )
    ig_html = "".join(
        f'<div><input type="checkbox" name="instagram" id="ig-{escape(ig)}" value="{escape(ig)}">'
        f'<label for="ig-{escape(ig)}">Instagram: '
        f"{escape(names.get(('instagram', ig), ig))}</label></div>"
        for p in people
        for ig in p.instagram.values()
    )
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Facebook (fake): {escape(app.name)}</title></head><body>"
        "<p>Training: the fake platform, not the real Facebook.</p>"
        f"<h1>{escape(app.name)} is requesting access</h1>"
        '<form method="post" action="/dialog/oauth">'
        f'<input type="hidden" name="request_id" value="{escape(request_id)}">'
        f"<fieldset><legend>Continue as</legend>{people_html}</fieldset>"
        f"<fieldset><legend>Choose the Pages</legend>{pages_html}</fieldset>"
        f"<fieldset><legend>Choose the Instagram accounts</legend>{ig_html}</fieldset>"
        '<button type="submit" name="decision" value="allow">Continue</button> '
        '<button type="submit" name="decision" value="cancel">Cancel</button>'
        "</form></body></html>"
    )
    return Response(body, mimetype="text/html")


@bp.post("/dialog/oauth")
def decide() -> Response:
    state = fake_state()
    store = login_state(state)
    with state.lock:
        pending = store.pending.pop(request.form.get("request_id", ""), None)
    if pending is None:
        return _error_page("This login has expired. Go back to the app and try again.")
    back = pending["redirect_uri"] + ("&" if "?" in pending["redirect_uri"] else "?")
    if request.form.get("decision") != "allow":
        return redirect(
            back
            + urlencode(
                {
                    "error": "access_denied",
                    "error_code": "200",
                    "error_description": "Permissions error",
                    "error_reason": "user_denied",
                    "state": pending["state"],
                }
            )
        )
    with state.lock:
        person = store.people.get(request.form.get("user_id", ""))
        if person is None:
            return _error_page("Choose who you are.")
        pages = [p for p in request.form.getlist("page") if p in person.pages]
        owned_ig = set(person.instagram.values())
        instagram = [i for i in request.form.getlist("instagram") if i in owned_ig]
        code = Code(
            code=secrets.token_urlsafe(48),
            redirect_uri=pending["redirect_uri"],
            challenge=pending["challenge"],
            grant=Grant(person.user_id, pending["app_id"], pending["scopes"], pages, instagram),
            issued_at=time.time(),
        )
        store.codes[code.code] = code
    return redirect(back + urlencode({"code": code.code, "state": pending["state"]}))


def _params() -> dict[str, str]:
    values = dict(request.args.items())
    values.update(request.form.items())
    return values


def _app(store: LoginState, params: dict[str, str]) -> App | None:
    app = store.apps.get(params.get("client_id", ""))
    if app is None or not secrets.compare_digest(app.app_secret, params.get("client_secret", "")):
        return None
    return app


def _user_token(store: LoginState, grant: Grant, seconds: int) -> dict[str, Any]:
    token = "EAA" + secrets.token_urlsafe(48)
    store.user_tokens[token] = UserToken(grant, time.time() + seconds)
    return {"access_token": token, "token_type": "bearer", "expires_in": seconds}  # nosec B105


@bp.route("/oauth/access_token", methods=["GET", "POST"])
@bp.route("/<version>/oauth/access_token", methods=["GET", "POST"])
def access_token(version: str | None = None) -> Response:
    state = fake_state()
    store = login_state(state)
    params = _params()
    with state.lock:
        app = _app(store, params)
        if app is None:
            return graph_error(
                "Error validating client secret.", 1, type_="OAuthException", status=400
            )
        if params.get("grant_type") == "fb_exchange_token":
            found = store.user_tokens.get(params.get("fb_exchange_token", ""))
            if found is None or found.expires_at < time.time():
                return graph_error(
                    "Error validating access token: Session has expired.",
                    CODE_ACCESS_TOKEN,
                    subcode=463,
                )
            return json_response(_user_token(store, found.grant, LONG_LIVED_SECONDS))
        code = store.codes.get(params.get("code", ""))
        if code is None or code.grant.app_id != app.app_id:
            return graph_error("Invalid verification code format.", CODE_INVALID_PARAMETER)
        if code.used:
            return graph_error(
                "This authorization code has been used.",
                CODE_INVALID_PARAMETER,
                subcode=SUBCODE_CODE_USED,
            )
        if time.time() - code.issued_at > CODE_SECONDS:
            return graph_error(
                "This authorization code has expired.", CODE_INVALID_PARAMETER, subcode=36007
            )
        if params.get("redirect_uri") != code.redirect_uri:
            return graph_error(
                "Error validating verification code. Please make sure your redirect_uri is "
                "identical to the one you used in the OAuth dialog request",
                CODE_INVALID_PARAMETER,
            )
        if code.challenge:
            verifier = params.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != code.challenge:
                return graph_error("Invalid code verifier.", CODE_INVALID_PARAMETER)
        code.used = True
        return json_response(_user_token(store, code.grant, SHORT_LIVED_SECONDS))


def _bearer(store: LoginState) -> UserToken | None:
    token = request.args.get("access_token") or ""
    header = request.headers.get("Authorization", "")
    if header.startswith(("Bearer ", "OAuth ")):
        token = header.split(" ", 1)[1]
    found = store.user_tokens.get(token)
    if found is None or found.expires_at < time.time():
        return None
    return found


@bp.get("/me/accounts")
@bp.get("/<version>/me/accounts")
def me_accounts(version: str | None = None) -> Response:
    state = fake_state()
    store = login_state(state)
    with state.lock:
        found = _bearer(store)
        if found is None:
            return graph_error(
                "Error validating access token: The user has not authorized application.",
                CODE_ACCESS_TOKEN,
                subcode=458,
            )
        grant = found.grant
        person = store.people[grant.user_id]
        data = []
        for page_id, tasks in person.pages.items():
            account = state.accounts.get(("facebook", page_id))
            item: dict[str, Any] = {
                "id": page_id,
                "name": account.name if account else page_id,
                "category": "Government organization",
                "tasks": list(tasks),
            }
            if page_id in grant.pages:
                token = "EAAPage" + secrets.token_urlsafe(40)
                opens = [("facebook", page_id)]
                ig = person.instagram.get(page_id)
                if ig and ig in grant.instagram:
                    opens.append(("instagram", ig))
                state.granted_tokens[token] = opens
                store.page_tokens[token] = (grant, page_id)
                item["access_token"] = token
            ig = person.instagram.get(page_id)
            if ig and ig in grant.instagram:
                ig_account = state.accounts.get(("instagram", ig))
                item["instagram_business_account"] = {
                    "id": ig,
                    "username": ig_account.username if ig_account else ig,
                }
            data.append(item)
    return json_response({"data": data, "paging": {"cursors": {"before": "MA", "after": "MQ"}}})


@bp.get("/debug_token")
@bp.get("/<version>/debug_token")
def debug_token(version: str | None = None) -> Response:
    state = fake_state()
    store = login_state(state)
    app_id, _, secret = request.args.get("access_token", "").partition("|")
    app = store.apps.get(app_id)
    if app is None or not secrets.compare_digest(app.app_secret, secret):
        return graph_error("Invalid OAuth access token - Cannot parse access token", 190)
    token = request.args.get("input_token", "")
    now = time.time()
    with state.lock:
        user = store.user_tokens.get(token)
        page = store.page_tokens.get(token)
        page_expires = store.page_expiry.get(token)
        dead = state.dead_tokens.get(token)
        registered = None
        if user is None and page is None:
            registered = state.account_by_token(token)
    if user is None and page is None and registered is None:
        # Graph answers a token it cannot read inside ``data``, not as an error of the call.
        return json_response(
            {
                "data": {
                    "error": {
                        "code": 190,
                        "message": "Invalid OAuth access token - Cannot parse access token",
                    },
                    "is_valid": False,
                    "scopes": [],
                }
            }
        )
    if registered is not None:
        data: dict[str, Any] = {
            "app_id": app.app_id,
            "type": "PAGE",
            "application": app.name,
            "data_access_expires_at": int(now + DATA_ACCESS_SECONDS),
            "expires_at": 0,
            "is_valid": dead is None,
            "issued_at": int(now),
            "scopes": list(HAND_ENTERED_SCOPES),
            "user_id": HAND_ENTERED_GRANTOR,
        }
        if registered.platform == "facebook":
            data["profile_id"] = registered.account_id
        return json_response({"data": data})
    grant = user.grant if user else page[0]  # type: ignore[index]
    expires_at = int(user.expires_at) if user else int(page_expires or 0)
    data = {
        "app_id": grant.app_id,
        "type": "USER" if user else "PAGE",
        "application": app.name,
        "data_access_expires_at": int(grant.granted_at + DATA_ACCESS_SECONDS),
        "expires_at": expires_at,
        "is_valid": dead is None and (expires_at == 0 or expires_at > now),
        "issued_at": int(user.issued_at if user else grant.granted_at),
        "scopes": grant.scopes,
        "granular_scopes": [
            {"scope": s, "target_ids": grant.pages} for s in grant.scopes if s.startswith("pages_")
        ]
        + [
            {"scope": s, "target_ids": grant.instagram}
            for s in grant.scopes
            if s.startswith("instagram_")
        ],
        "user_id": grant.user_id,
    }
    if page is not None:
        data["profile_id"] = page[1]
    if dead is not None:
        data["error"] = {"code": 190, "subcode": dead, "message": DEAD_TOKEN_MESSAGES[dead]}
    elif not data["is_valid"]:
        data["error"] = {
            "code": 190,
            "subcode": 463,
            "message": DEAD_TOKEN_MESSAGES[463],
        }
    return json_response({"data": data})


# Controls --------------------------------------------------------------------------------------
@bp.post("/_fake/facebook/apps")
def register_app() -> Response:
    data = request.get_json(silent=True) or {}
    if not data.get("app_id") or not data.get("app_secret") or not data.get("redirect_uris"):
        return json_response({"error": "send app_id, app_secret and redirect_uris"}, 400)
    state = fake_state()
    with state.lock:
        login_state(state).apps[str(data["app_id"])] = App(
            str(data["app_id"]), str(data["app_secret"]), [str(u) for u in data["redirect_uris"]]
        )
    return json_response({"app_id": data["app_id"]}, 201)


@bp.post("/_fake/facebook/people")
def register_person() -> Response:
    """``{"user_id", "name", "pages": {page_id: [tasks]}, "instagram": {page_id: ig_id}}``;
    the Pages and Instagram accounts are registered with POST /_fake/accounts."""
    data = request.get_json(silent=True) or {}
    if not data.get("user_id") or not isinstance(data.get("pages"), dict):
        return json_response({"error": "send user_id, name and pages"}, 400)
    person = Person(
        user_id=str(data["user_id"]),
        name=str(data.get("name") or data["user_id"]),
        pages={str(k): [str(t) for t in v] for k, v in data["pages"].items()},
        instagram={str(k): str(v) for k, v in (data.get("instagram") or {}).items()},
    )
    state = fake_state()
    with state.lock:
        login_state(state).people[person.user_id] = person
    return json_response({"user_id": person.user_id}, 201)


@bp.post("/_fake/facebook/tokens")
def mint_token() -> Response:
    """A token as Graph API Explorer gives one, to paste by hand: ``{"app_id", "user_id",
    "type": "USER" | "PAGE", "page_id" (PAGE), "scopes", "expires_in" (seconds; 0 never)}``.
    A USER token opens no Page (posting with it is Graph's "(#200) ... as the page itself");
    a PAGE token opens its Page and the Instagram account linked to it."""
    data = request.get_json(silent=True) or {}
    state = fake_state()
    store = login_state(state)
    kind = str(data.get("type", "PAGE")).upper()
    with state.lock:
        person = store.people.get(str(data.get("user_id", "")))
        app = store.apps.get(str(data.get("app_id", "")))
        page_id = str(data.get("page_id", ""))
        if person is None or app is None or kind not in ("USER", "PAGE"):
            return json_response({"error": "send a registered app_id and user_id, and type"}, 400)
        if kind == "PAGE" and page_id not in person.pages:
            return json_response({"error": "page_id must be one of the person's Pages"}, 400)
        scopes = [str(s) for s in data.get("scopes") or HAND_ENTERED_SCOPES]
        ig = person.instagram.get(page_id)
        grant = Grant(
            person.user_id, app.app_id, scopes, list(person.pages), list(person.instagram.values())
        )
        seconds = int(data.get("expires_in", SHORT_LIVED_SECONDS if kind == "USER" else 0))
        if kind == "USER":
            token = "EAA" + secrets.token_urlsafe(48)
            store.user_tokens[token] = UserToken(grant, time.time() + seconds)
        else:
            token = "EAAPage" + secrets.token_urlsafe(40)
            store.page_tokens[token] = (grant, page_id)
            state.granted_tokens[token] = [("facebook", page_id)] + (
                [("instagram", ig)] if ig else []
            )
            if seconds:
                store.page_expiry[token] = time.time() + seconds
    return json_response({"access_token": token, "type": kind}, 201)


@bp.post("/_fake/facebook/revoke")
def revoke_person() -> Response:
    """The person removed the app (458), changed their password (460), or the session expired
    (463): every page token from their grants answers Graph error 190 with that subcode."""
    data = request.get_json(silent=True) or {}
    user_id = str(data.get("user_id", ""))
    subcode = int(data.get("subcode", 458))
    if subcode not in (458, 460, 463):
        return json_response({"error": "subcode must be 458, 460 or 463"}, 400)
    state = fake_state()
    store = login_state(state)
    with state.lock:
        revoked = 0
        for token, (grant, _) in store.page_tokens.items():
            if grant.user_id == user_id:
                state.dead_tokens[token] = subcode
                revoked += 1
        for token, user in list(store.user_tokens.items()):
            if user.grant.user_id == user_id:
                del store.user_tokens[token]
    return json_response({"revoked": revoked})

"""The subset of Mastodon's client API the gateway uses (issue 21), shaped from its documentation
(docs.joinmastodon.org, methods/instance, methods/statuses, methods/media, entities/Status,
MediaAttachment, Error): no Mastodon-API server installs from the registries here, so the
adapter (Mastodon.py) is tested against this.

- ``GET /api/v2/instance`` (and v1, for Mastodon.py's version check): the limits the gateway
  reads, ``configuration.statuses.max_characters`` (500 by default, settable with
  ``POST /_fake/mastodon/instance``), ``max_media_attachments``, ``characters_reserved_per_url``
  (23) and ``configuration.media_attachments.description_limit`` (1,500).
- ``POST /api/v2/media``: 202 with ``url: null`` while the image is "processed";
  ``GET /api/v1/media/:id`` answers 206 until it is done (``processing_polls`` polls), then 200.
  A status naming an unprocessed attachment is a 422, as Mastodon's is.
- ``POST /api/v1/statuses`` honours ``Idempotency-Key`` (the same key within an hour returns the
  first status, never a second one), counts every URL as ``characters_reserved_per_url``, and
  refuses text over the limit with 422 ``Validation failed: Text character limit of N exceeded``.
- ``GET /api/v1/accounts/:id/statuses`` pages newest first with ``limit`` (20, at most 40),
  ``max_id``/``since_id``/``min_id`` and a ``Link`` header, as Mastodon does.
- Every authenticated answer has ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` (an ISO 8601
  time); a 429 says ``{"error": "Too many requests"}``. Errors are ``{"error": "..."}``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
import time
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

import regex
from flask import Blueprint, Response, current_app, g, request

from fakeplatform.faults import (
    DROP_AFTER,
    DROP_BEFORE,
    FAULT_HEADER,
    apply_latency,
    first_failure,
    parse_fault_header,
)
from fakeplatform.images import sniff_image_type
from fakeplatform.pages import post_page_url
from fakeplatform.state import RATE_WINDOW_SECONDS, Account, FakeState, Media, Post

bp = Blueprint("mastodon_api", __name__)

PLATFORM = "mastodon"
#: Mastodon's defaults (app/validators/status_length_validator.rb, media_attachment.rb).
DEFAULT_CONFIGURATION: dict[str, int] = {
    "max_characters": 500,
    "max_media_attachments": 4,
    "characters_reserved_per_url": 23,
    "description_limit": 1500,
    "image_size_limit": 16 * 1024 * 1024,
    "processing_polls": 1,
}
#: Mastodon keeps an Idempotency-Key for an hour.
IDEMPOTENCY_SECONDS = 60 * 60
DEFAULT_PAGE = 20
MAX_PAGE = 40
VERSION = "4.3.0"
_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_GRAPHEME = regex.compile(r"\X")


def _state() -> FakeState:
    return current_app.extensions["fakeplatform"]


def configuration() -> dict[str, int]:
    """The instance's limits (FakeState.mastodon_config over the defaults)."""
    return {**DEFAULT_CONFIGURATION, **_state().mastodon_config}


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def error(status: int, message: str) -> Response:
    return _json({"error": message}, status)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{int((epoch % 1) * 1000):03d}Z"
    )


def _is_api() -> bool:
    return request.path.startswith("/api/v")


# Sign-in, faults and rate limits ---------------------------------------------------------------
@bp.before_app_request
def authenticate_and_inject_faults() -> Response | None:
    if not _is_api():
        return None
    state = _state()
    header = request.headers.get("Authorization", "")
    token = header[len("Bearer ") :] if header.startswith("Bearer ") else ""
    g.mastodon_account = (
        (
            state.account_by_credential(PLATFORM, "access_token", token)
            or _account_of_issued(state, token)
        )
        if token
        else None
    )
    account_id = g.mastodon_account.account_id if g.mastodon_account else None
    faults = state.take_faults(PLATFORM, account_id, request.method, request.path)
    if FAULT_HEADER in request.headers:
        try:
            faults.append(parse_fault_header(request.headers[FAULT_HEADER]))
        except ValueError as exc:
            return error(400, str(exc))
    apply_latency(faults)
    failure = first_failure(faults)
    if failure is not None and failure.kind in ("drop", "lost_answer"):
        request.get_data(parse_form_data=True)
    g.mastodon_rate = None
    if g.mastodon_account is not None:
        endpoint = f"{request.method} {request.url_rule.rule if request.url_rule else request.path}"
        account = g.mastodon_account
        g.mastodon_rate = state.count_request(
            PLATFORM, account.account_id, endpoint, account.rate_limit, RATE_WINDOW_SECONDS
        )
    if failure is not None:
        if failure.kind == "drop":
            request.environ[DROP_BEFORE] = True
            return Response(b"", status=204)
        if failure.kind == "lost_answer":
            request.environ[DROP_AFTER] = True
        elif failure.kind == "rate_limit":
            return _too_many(time.time() + failure.reset_in)
        elif failure.kind == "error":
            return error(failure.status, "Something went wrong on our end")
    instance = request.path.rstrip("/") in ("/api/v1/instance", "/api/v2/instance", "/api/v1/apps")
    if g.mastodon_account is None and not instance:
        return error(401, "The access token is invalid")
    if g.mastodon_rate is not None and g.mastodon_rate.exceeded:
        return _too_many(g.mastodon_rate.reset_at)
    return None


@bp.after_app_request
def rate_limit_headers(response: Response) -> Response:
    rate = getattr(g, "mastodon_rate", None)
    if rate is not None and "X-RateLimit-Limit" not in response.headers:
        response.headers["X-RateLimit-Limit"] = str(rate.limit)
        response.headers["X-RateLimit-Remaining"] = str(rate.remaining)
        response.headers["X-RateLimit-Reset"] = _iso(math.ceil(rate.reset_at))
    return response


def _too_many(reset_at: float) -> Response:
    response = error(429, "Too many requests")
    rate = getattr(g, "mastodon_rate", None)
    response.headers["X-RateLimit-Limit"] = str(rate.limit if rate else 300)
    response.headers["X-RateLimit-Remaining"] = "0"
    response.headers["X-RateLimit-Reset"] = _iso(math.ceil(reset_at))
    return response


# Instance --------------------------------------------------------------------------------------
@bp.get("/api/v2/instance/", strict_slashes=False)
def instance_v2() -> Response:
    config = configuration()
    domain = request.host
    return _json(
        {
            "domain": domain,
            "title": "Fake Mastodon (training)",
            "version": VERSION,
            "source_url": "https://github.com/mastodon/mastodon",
            "description": "The gateway's fake platform, shaped like Mastodon's API.",
            "api_versions": {"mastodon": 2},
            "usage": {"users": {"active_month": 1}},
            "thumbnail": {"url": f"{request.host_url}favicon.png"},
            "languages": ["en", "cy"],
            "configuration": {
                "urls": {"streaming": f"wss://{domain}"},
                "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
                "statuses": {
                    "max_characters": config["max_characters"],
                    "max_media_attachments": config["max_media_attachments"],
                    "characters_reserved_per_url": config["characters_reserved_per_url"],
                },
                "media_attachments": {
                    "supported_mime_types": ["image/jpeg", "image/png", "image/gif", "image/webp"],
                    "description_limit": config["description_limit"],
                    "image_size_limit": config["image_size_limit"],
                    "image_matrix_limit": 33177600,
                    "video_size_limit": 103809024,
                    "video_frame_rate_limit": 120,
                    "video_matrix_limit": 8294400,
                },
                "polls": {
                    "max_options": 4,
                    "max_characters_per_option": 50,
                    "min_expiration": 300,
                    "max_expiration": 2629746,
                },
                "translation": {"enabled": False},
            },
            "registrations": {"enabled": False, "approval_required": False, "message": None},
            "contact": {"email": "", "account": None},
            "rules": [],
        }
    )


@bp.get("/api/v1/instance/", strict_slashes=False)
def instance_v1() -> Response:
    config = configuration()
    return _json(
        {
            "uri": request.host,
            "title": "Fake Mastodon (training)",
            "version": VERSION,
            "configuration": {
                "statuses": {
                    "max_characters": config["max_characters"],
                    "max_media_attachments": config["max_media_attachments"],
                    "characters_reserved_per_url": config["characters_reserved_per_url"],
                }
            },
        }
    )


@bp.post("/_fake/mastodon/instance")
def set_instance() -> Response:
    """Change the fake instance's limits (a test of limits read from the server)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not set(body) <= set(DEFAULT_CONFIGURATION):
        return error(400, f"send a JSON object with any of {', '.join(DEFAULT_CONFIGURATION)}")
    try:
        values = {k: int(v) for k, v in body.items()}
    except (TypeError, ValueError):
        return error(400, "the limits must be numbers")
    state = _state()
    with state.lock:
        state.mastodon_config.update(values)
    return _json(configuration())


@bp.delete("/_fake/mastodon/instance")
def reset_instance() -> Response:
    state = _state()
    with state.lock:
        state.mastodon_config.clear()
    return _json(configuration())


# Accounts --------------------------------------------------------------------------------------
def _account_entity(account: Account) -> dict[str, Any]:
    return {
        "id": account.account_id,
        "username": account.username,
        "acct": account.username,
        "display_name": account.name,
        "locked": False,
        "bot": False,
        "created_at": "2024-01-01T00:00:00.000Z",
        "note": "",
        "url": f"{request.host_url}@{account.username}",
        "avatar": "",
        "header": "",
        "followers_count": 0,
        "following_count": 0,
        "statuses_count": len(_state().posts_of(PLATFORM, account.account_id)),
        "emojis": [],
        "fields": [],
    }


@bp.get("/api/v1/accounts/verify_credentials")
def verify_credentials() -> Response:
    return _json(_account_entity(g.mastodon_account))


# Media -----------------------------------------------------------------------------------------
def _media_entity(media: Media, polls: dict[str, int]) -> dict[str, Any]:
    ready = polls.get(media.media_id, 0) >= configuration()["processing_polls"]
    url = f"{request.host_url}_fake/media/{media.media_id}"
    return {
        "id": media.media_id,
        "type": "image",
        "url": url if ready else None,
        "preview_url": url,
        "remote_url": None,
        "text_url": None,
        "meta": {},
        "description": media.alt_text or None,
        "blurhash": "UFBWY:8_0Jxv%MkCoz-pIUt7t7RjRjRjWBoL",
    }


def _polls() -> dict[str, int]:
    """How many times each attachment was polled (it is processed after enough polls)."""
    return _state().mastodon_polls


@bp.post("/api/v2/media")
def upload_media() -> Response:
    upload = request.files.get("file")
    if upload is None:
        return error(422, "Validation failed: File can't be blank")
    data = upload.read()
    config = configuration()
    if len(data) > config["image_size_limit"]:
        return error(422, "Validation failed: File file size must be less than 16 MB")
    kind = sniff_image_type(data)
    if kind is None:
        return error(
            422, "Validation failed: File has contents that are not what they are reported to be"
        )
    description = request.form.get("description") or ""
    if len(description) > config["description_limit"]:
        return error(
            422,
            "Validation failed: Description is too long (maximum is "
            f"{config['description_limit']} characters)",
        )
    state = _state()
    media_id = state.new_id()
    with state.lock:
        state.media[media_id] = Media(
            media_id=media_id,
            platform=PLATFORM,
            account_id=g.mastodon_account.account_id,
            content_type=kind,
            data=data,
            alt_text=description,
            sha256=hashlib.sha256(data).hexdigest(),
        )
        polls = _polls()
        polls[media_id] = 0
        entity = _media_entity(state.media[media_id], polls)
    # Processed in the background: 202 and no url yet (200 only when done at once).
    return _json(entity, 202 if entity["url"] is None else 200)


@bp.get("/api/v1/media/<media_id>")
def get_media(media_id: str) -> Response:
    state = _state()
    with state.lock:
        media = state.media.get(media_id)
        if media is None or media.account_id != g.mastodon_account.account_id:
            return error(404, "Record not found")
        polls = _polls()
        polls[media_id] = polls.get(media_id, 0) + 1
        entity = _media_entity(media, polls)
    return _json(entity, 206 if entity["url"] is None else 200)


# Statuses --------------------------------------------------------------------------------------
def status_length(text: str, reserved_per_url: int) -> int:
    """Mastodon's count (its StatusLengthValidator): every URL as ``reserved_per_url``
    characters, the rest in grapheme clusters."""
    return len(_GRAPHEME.findall(_URL.sub("x" * reserved_per_url, text)))


def _content(text: str) -> str:
    paragraphs = [p for p in text.split("\n\n")]
    return "".join(
        "<p>" + escape(p).replace("\n", "<br />") + "</p>" for p in paragraphs if p != ""
    )


def _status_entity(post: Post) -> dict[str, Any]:
    state = _state()
    account = state.accounts[(PLATFORM, post.account_id)]
    return {
        "id": post.post_id,
        "uri": f"{request.host_url}users/{account.username}/statuses/{post.post_id}",
        "url": post.permalink,
        "created_at": _iso(post.created_at),
        "account": _account_entity(account),
        "content": _content(post.text),
        "visibility": "public",
        "sensitive": False,
        "spoiler_text": "",
        "media_attachments": [
            _media_entity(state.media[m], {m: 10**6}) for m in post.media_ids if m in state.media
        ],
        "application": {"name": "Council Publishing Gateway", "website": None},
        "mentions": [],
        "tags": [],
        "emojis": [],
        "reblogs_count": 0,
        "favourites_count": 0,
        "replies_count": 0,
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "reblog": None,
        "poll": None,
        "card": None,
        "language": "en",
        "edited_at": None,
    }


def _form_list(name: str) -> list[str]:
    if request.is_json:
        value = (request.get_json(silent=True) or {}).get(name) or []
        return [str(v) for v in value]
    return request.form.getlist(f"{name}[]") or request.form.getlist(name)


def _form_value(name: str) -> str:
    if request.is_json:
        return str((request.get_json(silent=True) or {}).get(name) or "")
    return request.form.get(name) or ""


@bp.post("/api/v1/statuses")
def post_status() -> Response:
    state = _state()
    account: Account = g.mastodon_account
    config = configuration()
    text = _form_value("status")
    media_ids = _form_list("media_ids")
    key = request.headers.get("Idempotency-Key")
    idempotency = state.mastodon_idempotency
    with state.lock:
        if key:
            seen = idempotency.get((account.account_id, key))
            if seen and time.time() - seen[1] < IDEMPOTENCY_SECONDS:
                post = state.post_by_id(seen[0])
                if post is not None:
                    return _json(_status_entity(post))
        if not text and not media_ids:
            return error(422, "Validation failed: Text can't be blank")
        length = status_length(text, config["characters_reserved_per_url"])
        if length > config["max_characters"]:
            return error(
                422,
                f"Validation failed: Text character limit of {config['max_characters']} exceeded",
            )
        if len(media_ids) > config["max_media_attachments"]:
            return error(422, "Validation failed: Media attachments limit exceeded")
        polls = _polls()
        for media_id in media_ids:
            media = state.media.get(media_id)
            if media is None or media.account_id != account.account_id:
                return error(422, "Validation failed: Media attachments are invalid")
            if polls.get(media_id, 0) < config["processing_polls"]:
                return error(
                    422,
                    "Cannot attach files that have not finished processing. Try again in a moment!",
                )
        post_id = state.new_id()
        post = Post(
            post_id=post_id,
            platform=PLATFORM,
            account_id=account.account_id,
            text=text,
            created_at=time.time(),
            received_at=g.received_at,
            permalink=post_page_url(post_id),
            media_ids=media_ids,
        )
        state.add_post(post)
        if key:
            idempotency[(account.account_id, key)] = (post_id, time.time())
    return _json(_status_entity(post))


@bp.get("/api/v1/statuses/<status_id>")
def get_status(status_id: str) -> Response:
    post = _state().post_by_id(status_id)
    if post is None or post.platform != PLATFORM:
        return error(404, "Record not found")
    return _json(_status_entity(post))


@bp.get("/api/v1/accounts/<account_id>/statuses")
def account_statuses(account_id: str) -> Response:
    state = _state()
    if (PLATFORM, account_id) not in state.accounts:
        return error(404, "Record not found")
    try:
        limit = min(int(request.args.get("limit", DEFAULT_PAGE)), MAX_PAGE)
        max_id = int(request.args["max_id"]) if request.args.get("max_id") else None
        since_id = int(request.args["since_id"]) if request.args.get("since_id") else None
        min_id = int(request.args["min_id"]) if request.args.get("min_id") else None
    except ValueError:
        return error(400, "Invalid parameters")
    posts = state.posts_of(PLATFORM, account_id)  # newest first
    if max_id is not None:
        posts = [p for p in posts if int(p.post_id) < max_id]
    if since_id is not None:
        posts = [p for p in posts if int(p.post_id) > since_id]
    if min_id is not None:
        posts = [p for p in posts if int(p.post_id) > min_id][-limit:]
    page = posts[:limit]
    response = _json([_status_entity(p) for p in page])
    if page:
        base = f"{request.base_url}?limit={limit}"
        links = [f'<{base}&max_id={page[-1].post_id}>; rel="next"']
        links.append(f'<{base}&min_id={page[0].post_id}>; rel="prev"')
        response.headers["Link"] = ", ".join(links)
    return response


# OAuth: app registration and the authorization code flow ---------------------------------------
def _account_of_issued(state: FakeState, token: str) -> Account | None:
    """The account a token from POST /oauth/token belongs to."""
    with state.lock:
        account_id = state.mastodon_tokens.get(token)
        return state.accounts.get((PLATFORM, account_id)) if account_id else None


@bp.post("/api/v1/apps")
def register_app() -> Response:
    """POST /api/v1/apps: an application with its redirect URIs and scopes (methods/apps)."""
    name = request.form.get("client_name") or ""
    redirect_uris = (request.form.get("redirect_uris") or "").split()
    scopes = (request.form.get("scopes") or "read").split()
    if not name or not redirect_uris:
        return error(422, "Validation failed: Name can't be blank, Redirect URI can't be blank")
    state = _state()
    client_id, client_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
    with state.lock:
        state.mastodon_apps[client_id] = {
            "name": name,
            "client_secret": client_secret,
            "redirect_uris": redirect_uris,
            "scopes": scopes,
        }
    return _json(
        {
            "id": state.new_id(),
            "name": name,
            "website": request.form.get("website"),
            "scopes": scopes,
            "redirect_uris": redirect_uris,
            "redirect_uri": "\n".join(redirect_uris),
            "client_id": client_id,
            "client_secret": client_secret,
        }
    )


@bp.get("/.well-known/oauth-authorization-server")
def oauth_server() -> Response:
    base = request.host_url.rstrip("/")
    return _json(
        {
            "issuer": f"{base}/",
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "scopes_supported": [
                "read",
                "write",
                "write:statuses",
                "write:media",
                "read:accounts",
                "read:statuses",
            ],
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
        }
    )


@bp.route("/oauth/authorize", methods=["GET", "POST"])
def authorize() -> Response:
    """The instance's consent page. On the fake, the person "signed in" is the account chosen
    by username (``account``), and Authorize sends the code to the app's redirect URI."""
    state = _state()
    args = request.values
    with state.lock:
        app = state.mastodon_apps.get(args.get("client_id", ""))
    redirect_uri = args.get("redirect_uri", "")
    if app is None or redirect_uri not in app["redirect_uris"]:
        return error(400, "The redirect uri included is not valid.")
    asked = set((args.get("scope") or "read").split())
    if not asked <= set(app["scopes"]):
        return error(400, "The requested scope is invalid, unknown, or malformed.")
    if request.method == "GET":
        body = (
            "<!doctype html><html lang=en><head><meta charset=utf-8><title>Authorize "
            f"{escape(app['name'])}</title></head><body><h1>Authorize {escape(app['name'])}</h1>"
            f"<p>Scopes: {escape(' '.join(sorted(asked)))}</p><form method=post>"
            + "".join(
                f'<input type=hidden name="{escape(k)}" value="{escape(v)}">'
                for k, v in args.items()
            )
            + '<label>Username <input name="account"></label><button>Authorize</button>'
            "</form></body></html>"
        )
        return Response(body, mimetype="text/html")
    username = request.form.get("account", "")
    with state.lock:
        account = next(
            (
                a
                for a in state.accounts.values()
                if a.platform == PLATFORM and a.username == username
            ),
            None,
        )
        if account is None:
            return error(403, "You need to sign in")
        code = secrets.token_urlsafe(24)
        state.mastodon_codes[code] = {
            "client_id": args["client_id"],
            "redirect_uri": redirect_uri,
            "account_id": account.account_id,
            "scopes": sorted(asked),
            "at": time.time(),
        }
    target = f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}" + urlencode(
        {"code": code, **({"state": args["state"]} if args.get("state") else {})}
    )
    return Response(status=302, headers={"Location": target})


@bp.post("/oauth/token")
def token() -> Response:
    state = _state()
    form = request.form
    with state.lock:
        app = state.mastodon_apps.get(form.get("client_id", ""))
        if app is None or not secrets.compare_digest(
            app["client_secret"], form.get("client_secret", "")
        ):
            return _json({"error": "invalid_client"}, 401)
        if form.get("grant_type") != "authorization_code":
            return _json({"error": "unsupported_grant_type"}, 400)
        grant = state.mastodon_codes.pop(form.get("code", ""), None)
        if (
            grant is None
            or grant["client_id"] != form.get("client_id")
            or grant["redirect_uri"] != form.get("redirect_uri")
            or time.time() - grant["at"] > 600
        ):
            return _json({"error": "invalid_grant"}, 400)
        access_token = secrets.token_urlsafe(32)
        state.mastodon_tokens[access_token] = grant["account_id"]
    return _json(
        {
            "access_token": access_token,
            "token_type": "Bearer",  # nosec B105
            "scope": " ".join(grant["scopes"]),
            "created_at": int(time.time()),
        }
    )

"""The subset of X API v2 the gateway uses: post, look up, upload media, alt text, who am I.

Shapes follow docs.x.com: successes as ``{"data": ...}``, errors as RFC 7807 problem JSON
(``{"title","detail","type","status"}``, with ``errors`` for invalid requests), and the
``x-rate-limit-limit`` / ``-remaining`` / ``-reset`` headers on every answer.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from datetime import UTC, datetime
from typing import Any

import twitter_text
from flask import Blueprint, Response, current_app, g, request

from fakeplatform import oauth1, x_oauth2
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

bp = Blueprint("x_api", __name__, url_prefix="/2")

# X's limits (docs.x.com: "Counting characters"; media best practices; metadata endpoint).
MAX_WEIGHTED_LENGTH = 280
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_ALT_TEXT = 1000
MEDIA_EXPIRES_AFTER_SECONDS = 24 * 60 * 60
DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."
MAX_RESULTS_RANGE = (5, 100)


def _state() -> FakeState:
    return current_app.extensions["fakeplatform"]


def problem(
    status: int, title: str, detail: str, *, type_: str = "about:blank", **extra: Any
) -> Response:
    body = {"title": title, "detail": detail, "type": type_, "status": status, **extra}
    return _json(body, status)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def invalid_request(message: str, parameter: str, value: Any) -> Response:
    return problem(
        400,
        "Invalid Request",
        "One or more parameters to your request was invalid.",
        type_="https://api.twitter.com/2/problems/invalid-request",
        errors=[{"parameters": {parameter: [str(value)]}, "message": message}],
    )


def _identify() -> Account | None:
    """The account the request is signed for (OAuth 1.0a user context or OAuth 2.0 bearer)."""
    header = request.headers.get("Authorization", "")
    state = _state()
    g.user_context = False
    g.scopes = None  # OAuth 1.0a: the app's permissions, not scopes
    if header.startswith("Bearer "):
        token = header[len("Bearer ") :]
        # An OAuth 2.0 user access token from the authorization code flow (x_oauth2): user
        # context, limited to its scopes; expired or revoked ones are refused like unknown ones.
        granted = x_oauth2.bearer_account(state, token)
        if granted is False:
            return None
        if granted:
            account_id, scopes = granted  # type: ignore[misc]
            with state.lock:
                account = state.accounts.get(("x", account_id))
            g.user_context, g.scopes = account is not None, scopes
            return account
        return state.account_by_credential("x", "bearer_token", token)
    params = oauth1.oauth_params(header)
    if not params:
        return None
    account = state.account_by_credential("x", "access_token", params.get("oauth_token", ""))
    g.user_context = True
    if account is None or account.credentials.get("consumer_key") != params.get(
        "oauth_consumer_key"
    ):
        return None
    form = None
    if request.mimetype == "application/x-www-form-urlencoded":
        form = list(request.form.items(multi=True))
    try:
        with state.lock:
            oauth1.verify(
                method=request.method,
                own_url=request.host_url,
                path_and_query=request.full_path.rstrip("?"),
                headers=request.headers,
                form_body=form,
                consumer_secret=account.credentials.get("consumer_secret", ""),
                token_secret=account.credentials.get("access_token_secret", ""),
                seen_nonces=state.nonces,
            )
    except oauth1.OAuthError:
        return None
    return account


def _endpoint_key() -> str:
    rule = request.url_rule.rule if request.url_rule else request.path
    return f"{request.method} {rule}"


@bp.before_request
def authenticate_and_inject_faults() -> Response | None:
    state = _state()
    g.account = _identify()
    account_id = g.account.account_id if g.account else None
    faults = state.take_faults("x", account_id, request.method, request.path)
    if FAULT_HEADER in request.headers:
        try:
            faults.append(parse_fault_header(request.headers[FAULT_HEADER]))
        except ValueError as exc:
            return problem(400, "Bad fault header", str(exc))
    apply_latency(faults)
    failure = first_failure(faults)
    if failure is not None and failure.kind in ("drop", "lost_answer"):
        # Read the whole body first, so the closed socket leaves nothing unread behind it.
        request.get_data(parse_form_data=True)
    g.rate = None
    if g.account is not None:
        g.rate = state.count_request(
            "x", g.account.account_id, _endpoint_key(), g.account.rate_limit, RATE_WINDOW_SECONDS
        )
    if failure is not None:
        if failure.kind == "drop":
            request.environ[DROP_BEFORE] = True
            return Response(b"", status=204)
        if failure.kind == "lost_answer":
            request.environ[DROP_AFTER] = True
        elif failure.kind == "rate_limit":
            return _too_many_requests(time.time() + failure.reset_in)
        elif failure.kind == "error":
            return _server_error(failure.status)
    if g.account is None:
        # X answers an unsigned, wrongly signed or unknown-token request with a bare 401.
        return problem(401, "Unauthorized", "Unauthorized")
    if g.rate is not None and g.rate.exceeded:
        return _too_many_requests(g.rate.reset_at)
    missing = _missing_scopes()
    if missing:
        return problem(
            403,
            "Forbidden",
            "You are not permitted to perform this action. Missing scopes: "
            + ", ".join(sorted(missing)),
        )
    return None


#: The OAuth 2.0 scopes each endpoint needs (docs.x.com, each endpoint's "OAuth 2.0 scopes
#: required"): POST /2/tweets tweet.read tweet.write users.read; GET /2/users/me and the user
#: timeline tweet.read users.read; media upload and metadata media.write.
SCOPES_NEEDED = {
    "POST /2/tweets": {"tweet.read", "tweet.write", "users.read"},
    "GET /2/users/me": {"tweet.read", "users.read"},
    "GET /2/users/<user_id>/tweets": {"tweet.read", "users.read"},
    "POST /2/media/upload": {"media.write"},
    "POST /2/media/metadata": {"media.write"},
}


def _missing_scopes() -> set[str]:
    scopes = getattr(g, "scopes", None)
    if scopes is None:
        return set()
    return SCOPES_NEEDED.get(_endpoint_key(), set()) - set(scopes)


@bp.after_request
def rate_limit_headers(response: Response) -> Response:
    rate = getattr(g, "rate", None)
    if rate is not None and "x-rate-limit-limit" not in response.headers:
        response.headers["x-rate-limit-limit"] = str(rate.limit)
        response.headers["x-rate-limit-remaining"] = str(rate.remaining)
        response.headers["x-rate-limit-reset"] = str(math.ceil(rate.reset_at))
    return response


def _too_many_requests(reset_at: float) -> Response:
    response = problem(429, "Too Many Requests", "Too Many Requests")
    limit = g.rate.limit if getattr(g, "rate", None) else 0
    response.headers["x-rate-limit-limit"] = str(limit)
    response.headers["x-rate-limit-remaining"] = "0"
    response.headers["x-rate-limit-reset"] = str(math.ceil(reset_at))
    return response


def _server_error(status: int) -> Response:
    titles = {
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }
    title = titles.get(status, "Server Error")
    return problem(status, title, title)


# Posts ----------------------------------------------------------------------------------------
@bp.post("/tweets")
def create_tweet() -> Response:
    state = _state()
    account: Account = g.account
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return invalid_request("Request body must be a JSON object", "body", request.data[:50])
    text = body.get("text") or ""
    media_ids = [str(m) for m in (body.get("media") or {}).get("media_ids", [])]
    if not text and not media_ids:
        return invalid_request("The text field is required without media", "text", "")
    if text:
        parsed = twitter_text.parse_tweet(text)
        if parsed.weightedLength > MAX_WEIGHTED_LENGTH:
            return problem(
                400,
                "Invalid Request",
                f"Your Tweet text is too long: {parsed.weightedLength} weighted characters, "
                f"the limit is {MAX_WEIGHTED_LENGTH}.",
                type_="https://api.twitter.com/2/problems/invalid-request",
            )
    with state.lock:
        for media_id in media_ids:
            media = state.media.get(media_id)
            if media is None or media.platform != "x" or media.account_id != account.account_id:
                return invalid_request("Your media IDs are invalid.", "media.media_ids", media_id)
        # X refuses a post whose text repeats one of the account's earlier posts.
        if text and any(p.text == text for p in state.posts_of("x", account.account_id)):
            return problem(403, "Forbidden", DUPLICATE_DETAIL)
        post_id = state.new_id()
        state.add_post(
            Post(
                post_id=post_id,
                platform="x",
                account_id=account.account_id,
                text=text,
                created_at=time.time(),
                received_at=g.received_at,
                permalink=post_page_url(post_id),
                media_ids=media_ids,
            )
        )
    data = {"id": post_id, "text": text, "edit_history_tweet_ids": [post_id]}
    return _json({"data": data}, 201)


def _rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{int((epoch % 1) * 1000):03d}Z"
    )


def _parse_time(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@bp.get("/users/<user_id>/tweets")
def users_tweets(user_id: str) -> Response:
    state = _state()
    try:
        max_results = int(request.args.get("max_results", 10))
    except ValueError:
        return invalid_request("max_results must be a number", "max_results", "?")
    low, high = MAX_RESULTS_RANGE
    if not low <= max_results <= high:
        return invalid_request(
            f"The `max_results` query parameter value [{max_results}] is not between {low} "
            f"and {high}",
            "max_results",
            max_results,
        )
    if (g.account.platform, user_id) not in state.accounts and user_id != g.account.account_id:
        return problem(404, "Not Found Error", f"Could not find user with id: [{user_id}].")
    posts = state.posts_of("x", user_id)
    if "start_time" in request.args:
        try:
            start = _parse_time(request.args["start_time"])
        except ValueError:
            return invalid_request("Invalid start_time", "start_time", request.args["start_time"])
        posts = [p for p in posts if p.created_at >= start]
    if "since_id" in request.args:
        posts = [p for p in posts if int(p.post_id) > int(request.args["since_id"])]
    offset = int(request.args.get("pagination_token", "0") or 0)
    page = posts[offset : offset + max_results]
    fields = set(request.args.get("tweet.fields", "").split(","))
    data = []
    for post in page:
        item: dict[str, Any] = {
            "id": post.post_id,
            "text": post.text,
            "edit_history_tweet_ids": [post.post_id],
        }
        if "created_at" in fields:
            item["created_at"] = _rfc3339(post.created_at)
        if "attachments" in fields and post.media_ids:
            item["attachments"] = {"media_keys": [f"3_{m}" for m in post.media_ids]}
        data.append(item)
    meta: dict[str, Any] = {"result_count": len(page)}
    if page:
        meta["newest_id"], meta["oldest_id"] = page[0].post_id, page[-1].post_id
    if offset + max_results < len(posts):
        meta["next_token"] = str(offset + max_results)
    body: dict[str, Any] = {"meta": meta}
    if data:
        body["data"] = data
    return _json(body)


@bp.get("/users/me")
def users_me() -> Response:
    account: Account = g.account
    return _json(
        {"data": {"id": account.account_id, "name": account.name, "username": account.username}}
    )


# Media ----------------------------------------------------------------------------------------
@bp.post("/media/upload")
def media_upload() -> Response:
    state = _state()
    if not g.user_context:
        # Media upload is user context only (docs.x.com, media upload authentication).
        return problem(403, "Unsupported Authentication", "Media upload needs user context.")
    upload = request.files.get("media")
    if upload is None:
        return invalid_request("The media field is required", "media", "")
    data = upload.read()
    if len(data) > MAX_IMAGE_BYTES:
        return invalid_request(
            f"Image is {len(data)} bytes; images must be at most {MAX_IMAGE_BYTES}",
            "media",
            len(data),
        )
    real_type = sniff_image_type(data)
    if real_type is None:
        return invalid_request("Media type unrecognized.", "media", upload.mimetype)
    category = request.form.get("media_category", "tweet_image")
    media_id = state.new_id()
    with state.lock:
        state.media[media_id] = Media(
            media_id=media_id,
            platform="x",
            account_id=g.account.account_id,
            content_type=real_type,
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
        )
    return _json(
        {
            "data": {
                "id": media_id,
                "media_key": f"3_{media_id}",
                "size": len(data),
                "expires_after_secs": MEDIA_EXPIRES_AFTER_SECONDS,
                "image": {"image_type": real_type},
                "media_category": category,
            }
        }
    )


@bp.post("/media/metadata")
def media_metadata() -> Response:
    state = _state()
    body = request.get_json(silent=True) or {}
    media_id = str(body.get("id", ""))
    alt = ((body.get("metadata") or {}).get("alt_text") or {}).get("text")
    with state.lock:
        media = state.media.get(media_id)
        if media is None or media.account_id != g.account.account_id:
            return invalid_request("Your media IDs are invalid.", "id", media_id)
        if alt is None:
            return invalid_request("metadata.alt_text.text is required", "metadata", "")
        if len(alt) > MAX_ALT_TEXT:
            return invalid_request(
                f"Alt text must be at most {MAX_ALT_TEXT} characters", "alt_text", len(alt)
            )
        media.alt_text = alt
    return _json({"data": {"id": media_id, "associated_metadata": {"alt_text": {"text": alt}}}})

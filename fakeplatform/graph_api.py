"""The subset of the Graph API the gateway uses, for Facebook Pages and Instagram accounts.

Facebook Page: POST /{page-id}/feed (text, link, attached photos), POST /{page-id}/photos
(multipart ``source`` or ``url``, ``message``, ``alt_text_custom``, ``published``), GET
/{page-id}/feed for look-ups, GET /me. Instagram: POST /{ig-user-id}/media (container with
``image_url``, ``caption``, ``alt_text``), GET /{container-id}?fields=status_code, POST
/{ig-user-id}/media_publish, GET /{ig-user-id}/content_publishing_limit, GET /{ig-user-id}/media.

Errors use Graph's body ``{"error": {"message","type","code","error_subcode","fbtrace_id"}}``,
and every answer carries ``x-app-usage`` (percentages of the app's hourly allowance).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any

import requests
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
from fakeplatform.state import (
    CONTAINER_TTL_SECONDS,
    INSTAGRAM_QUOTA_SECONDS,
    Account,
    Container,
    FakeState,
    Media,
    Post,
)

bp = Blueprint("graph_api", __name__)

GRAPH_API_VERSION = "v23.0"
_VERSION_RE = re.compile(r"^v\d+\.\d+$")

# Graph error codes (developers.facebook.com, "Graph API: Handling errors").
CODE_UNKNOWN = 1
CODE_SERVICE = 2  # "temporary issue due to downtime", retry
CODE_APP_RATE_LIMIT = 4
CODE_PERMISSION = 10
CODE_PAGE_RATE_LIMIT = 32
CODE_INVALID_PARAMETER = 100
CODE_ACCESS_TOKEN = 190
CODE_IG_PUBLISH_LIMIT = 9
SUBCODE_IG_PUBLISH_LIMIT = 2207042
SUBCODE_IG_NOT_READY = 2207027
SUBCODE_IG_FETCH_FAILED = 2207052
SUBCODE_IG_UNSUPPORTED_TYPE = 2207026
SUBCODE_IG_TOO_LARGE = 2207004
SUBCODE_CAPTION_TOO_LONG = 2207017
# A Page refuses a text post repeating one of its recent ones ("Duplicate status message").
DUPLICATE_STATUS_CODE = 506
DUPLICATE_WINDOW_POSTS = 25

# Instagram's caption limit (Instagram Platform, IG User Media reference: "Maximum 2200
# characters"); images must be JPEG and at most 8 MB (Content Publishing, image specifications).
MAX_CAPTION = 2200
MAX_IG_IMAGE_BYTES = 8 * 1024 * 1024
MAX_FB_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_FETCH_TIMEOUT_SECONDS = 10
# The Graph API's app allowance is counted per hour (rate limiting, "Platform rate limits").
APP_USAGE_WINDOW_SECONDS = 60 * 60


def _state() -> FakeState:
    return current_app.extensions["fakeplatform"]


def _json(body: Any, status: int = 200) -> Response:
    # Graph answers JSON; facebook-sdk 3.1.0 looks for "json" in the content-type to parse it.
    return Response(json.dumps(body), status=status, mimetype="application/json")


def graph_error(
    message: str,
    code: int,
    *,
    status: int = 400,
    type_: str = "OAuthException",
    subcode: int | None = None,
    **extra: Any,
) -> Response:
    error: dict[str, Any] = {
        "message": message,
        "type": type_,
        "code": code,
        "fbtrace_id": secrets.token_urlsafe(12),
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(extra)
    return _json({"error": error}, status)


def _token() -> str | None:
    header = request.headers.get("Authorization", "")
    for scheme in ("Bearer ", "OAuth "):
        if header.startswith(scheme):
            return header[len(scheme) :]
    return request.values.get("access_token")


def _parse_path(subpath: str) -> tuple[str, str | None]:
    parts = [p for p in subpath.split("/") if p]
    if parts and _VERSION_RE.match(parts[0]):
        parts = parts[1:]
    if not parts or len(parts) > 2:
        return "", None
    return parts[0], parts[1] if len(parts) == 2 else None


@bp.before_request
def authenticate_and_inject_faults() -> Response | None:
    if request.path.startswith(("/_fake", "/2/")):
        return None
    state = _state()
    token = _token()
    g.account = state.account_by_token(token) if token else None
    node, _ = _parse_path(request.path)
    account_id = g.account.account_id if g.account else node
    platform = g.account.platform if g.account else _platform_of(node)
    faults = state.take_faults(platform, account_id, request.method, request.path)
    if FAULT_HEADER in request.headers:
        try:
            faults.append(parse_fault_header(request.headers[FAULT_HEADER]))
        except ValueError as exc:
            return graph_error(str(exc), CODE_INVALID_PARAMETER)
    apply_latency(faults)
    g.usage = 0
    if g.account is not None:
        window = state.count_request(
            platform,
            g.account.account_id,
            "graph",
            g.account.rate_limit,
            APP_USAGE_WINDOW_SECONDS,
        )
        g.usage = min(100, math.ceil(100 * (window.limit - window.remaining) / window.limit))
        if window.exceeded:
            return _rate_limited(window.reset_at - time.time())
    failure = first_failure(faults)
    if failure is not None and failure.kind in ("drop", "lost_answer"):
        # Read the whole body first, so the closed socket leaves nothing unread behind it.
        request.get_data(parse_form_data=True)
    if failure is not None:
        if failure.kind == "drop":
            request.environ[DROP_BEFORE] = True
            return Response(b"", status=204)
        if failure.kind == "lost_answer":
            request.environ[DROP_AFTER] = True
        elif failure.kind == "rate_limit":
            return _rate_limited(failure.reset_in)
        elif failure.kind == "error":
            # Graph's own answer to an outage: code 2, "is_transient": true, retry later.
            return graph_error(
                "An unexpected error has occurred. Please retry your request later.",
                CODE_SERVICE,
                status=failure.status,
                is_transient=True,
            )
    if g.account is None:
        message = (
            "An active access token must be used to query information about the current user."
            if not token
            else "Error validating access token: The session has been invalidated because the "
            "user changed their password or Facebook has changed the session for security "
            "reasons."
        )
        return graph_error(message, CODE_ACCESS_TOKEN, subcode=None if not token else 460)
    return None


def _platform_of(node: str) -> str:
    state = _state()
    with state.lock:
        if node in state.containers or ("instagram", node) in state.accounts:
            return "instagram"
    return "facebook"


@bp.after_request
def app_usage_header(response: Response) -> Response:
    if request.path.startswith(("/_fake", "/2/")):
        return response
    usage = getattr(g, "usage", 0)
    response.headers.setdefault(
        "x-app-usage",
        json.dumps({"call_count": usage, "total_cputime": usage, "total_time": usage}),
    )
    response.headers["facebook-api-version"] = GRAPH_API_VERSION
    response.headers["x-fb-trace-id"] = secrets.token_urlsafe(8)
    return response


def _rate_limited(reset_in: float) -> Response:
    """Graph's throttling answer: code 32 for a Page, with the time to regain access in minutes
    in ``x-business-use-case-usage`` (Graph API rate limiting, "Business Use Case")."""
    account: Account | None = g.account
    object_id = account.account_id if account else "0"
    minutes = max(1, math.ceil(reset_in / 60))
    response = graph_error(
        "(#32) Page request limit reached", CODE_PAGE_RATE_LIMIT, status=400, is_transient=True
    )
    kind = "instagram" if account and account.platform == "instagram" else "pages"
    response.headers["x-business-use-case-usage"] = json.dumps(
        {
            object_id: [
                {
                    "type": kind,
                    "call_count": 100,
                    "total_cputime": 100,
                    "total_time": 100,
                    "estimated_time_to_regain_access": minutes,
                }
            ]
        }
    )
    response.headers["x-app-usage"] = json.dumps(
        {"call_count": 100, "total_cputime": 100, "total_time": 100}
    )
    return response


def _graph_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _not_found(node: str) -> Response:
    return graph_error(
        f"Unsupported {request.method.lower()} request. Object with ID '{node}' does not exist, "
        "cannot be loaded due to missing permissions, or does not support this operation.",
        CODE_INVALID_PARAMETER,
        type_="GraphMethodException",
        subcode=33,
    )


@bp.route("/<path:subpath>", methods=["GET", "POST"])
def dispatch(subpath: str) -> Response:
    node, edge = _parse_path(subpath)
    account: Account = g.account
    if node == "me" and edge is None:
        return _account_fields(account)
    if node == account.account_id:
        handler = _EDGES.get((account.platform, request.method, edge))
        if handler is not None:
            return handler(account)
        return _not_found(f"{node}/{edge}" if edge else node)
    if edge is None and request.method == "GET":
        state = _state()
        with state.lock:
            container = state.containers.get(node)
        if container is not None and container.account_id == account.account_id:
            return _container_fields(container)
    return _not_found(node)


def _account_fields(account: Account) -> Response:
    body = {"id": account.account_id, "name": account.name}
    if account.platform == "instagram":
        body["username"] = account.username
    return _json(body)


def _limit() -> int:
    try:
        return max(1, min(100, int(request.args.get("limit", 25))))
    except ValueError:
        return 25


def _since() -> float | None:
    raw = request.args.get("since")
    if not raw:
        return None
    if raw.isdigit():
        return float(raw)
    return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()


# Facebook Page --------------------------------------------------------------------------------
def _page_feed_get(account: Account) -> Response:
    posts = _state().posts_of("facebook", account.account_id)
    since = _since()
    if since is not None:
        posts = [p for p in posts if p.created_at >= since]
    data = [
        {
            "id": p.post_id,
            "message": p.text,
            "created_time": _graph_time(p.created_at),
            "permalink_url": p.permalink,
        }
        for p in posts[: _limit()]
    ]
    return _json({"data": data})


def _new_page_post(account: Account, text: str, media_ids: list[str]) -> Post:
    state = _state()
    number = state.new_id()
    post = Post(
        post_id=f"{account.account_id}_{number}",
        platform="facebook",
        account_id=account.account_id,
        text=text,
        created_at=time.time(),
        received_at=g.received_at,
        permalink=f"https://www.facebook.com/{account.account_id}/posts/{number}",
        media_ids=media_ids,
    )
    state.add_post(post)
    return post


def _page_feed_post(account: Account) -> Response:
    state = _state()
    message = request.values.get("message", "")
    link = request.values.get("link", "")
    attached: list[str] = []
    for key, value in request.values.items():
        if key.startswith("attached_media["):
            try:
                attached.append(str(json.loads(value)["media_fbid"]))
            except (ValueError, KeyError, TypeError):
                return graph_error(
                    "(#100) attached_media must be JSON with media_fbid", CODE_INVALID_PARAMETER
                )
    if not (message or link or attached):
        return graph_error(
            "(#100) Missing message or attachment", CODE_INVALID_PARAMETER, subcode=1349125
        )
    with state.lock:
        for media_id in attached:
            media = state.media.get(media_id)
            if media is None or media.account_id != account.account_id:
                return graph_error(f"(#100) Invalid media_fbid {media_id}", CODE_INVALID_PARAMETER)
        text = f"{message}\n{link}".strip() if link else message
        recent = state.posts_of("facebook", account.account_id)[:DUPLICATE_WINDOW_POSTS]
        if not attached and any(p.text == text for p in recent):
            return graph_error("Duplicate status message", DUPLICATE_STATUS_CODE)
        post = _new_page_post(account, text, attached)
    return _json({"id": post.post_id})


def _page_photos_post(account: Account) -> Response:
    state = _state()
    upload = request.files.get("source")
    if upload is not None:
        data = upload.read()
    elif request.values.get("url"):
        data, problem, _ = _fetch_image(request.values["url"], MAX_FB_IMAGE_BYTES)
        if problem:
            return graph_error(f"(#100) {problem}", CODE_INVALID_PARAMETER)
    else:
        return graph_error("(#324) Requires upload file", 324)
    real_type = sniff_image_type(data)
    if real_type is None or len(data) > MAX_FB_IMAGE_BYTES:
        return graph_error(
            "(#100) Invalid image: the file is not a supported image or is too large",
            CODE_INVALID_PARAMETER,
        )
    published = request.values.get("published", "true").lower() not in ("false", "0")
    message = request.values.get("message") or request.values.get("caption", "")
    with state.lock:
        photo_id = state.new_id()
        state.media[photo_id] = Media(
            media_id=photo_id,
            platform="facebook",
            account_id=account.account_id,
            content_type=real_type,
            data=data,
            alt_text=request.values.get("alt_text_custom", ""),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        if not published:
            return _json({"id": photo_id})
        post = _new_page_post(account, message, [photo_id])
    return _json({"id": photo_id, "post_id": post.post_id})


# Instagram ------------------------------------------------------------------------------------
def _ig_media_post(account: Account) -> Response:
    state = _state()
    image_url = request.values.get("image_url")
    caption = request.values.get("caption", "")
    if not image_url:
        return graph_error("(#100) The parameter image_url is required.", CODE_INVALID_PARAMETER)
    if len(caption) > MAX_CAPTION:
        return graph_error(
            f"(#100) Param caption must be at most {MAX_CAPTION} characters long.",
            CODE_INVALID_PARAMETER,
            subcode=SUBCODE_CAPTION_TOO_LONG,
            error_user_title="Caption too long",
            error_user_msg=f"The caption is {len(caption)} characters; the limit is {MAX_CAPTION}.",
        )
    container = Container(
        container_id=state.new_id(),
        account_id=account.account_id,
        image_url=image_url,
        caption=caption,
        alt_text=request.values.get("alt_text", ""),
        created_at=time.time(),
    )
    with state.lock:
        state.containers[container.container_id] = container
    # Like Instagram, fetch the image after answering: the container starts IN_PROGRESS.
    threading.Thread(
        target=_process_container, args=(state, container), daemon=True, name="ig-container"
    ).start()
    return _json({"id": container.container_id})


def _fetch_image(url: str, max_bytes: int) -> tuple[bytes, str | None, int | None]:
    """Fetch an image the way a platform does: (bytes, None, None) or (b"", problem, subcode)."""
    try:
        with requests.get(url, timeout=IMAGE_FETCH_TIMEOUT_SECONDS, stream=True) as response:
            if response.status_code != 200:
                problem = f"Media download has failed: HTTP {response.status_code}"
                return b"", problem, SUBCODE_IG_FETCH_FAILED
            data = response.raw.read(max_bytes + 1, decode_content=True)
            declared = response.headers.get("Content-Type", "").split(";")[0].strip()
    except requests.RequestException as exc:
        return b"", f"Media download has failed: {type(exc).__name__}", SUBCODE_IG_FETCH_FAILED
    if len(data) > max_bytes:
        return b"", f"The image is larger than {max_bytes} bytes", SUBCODE_IG_TOO_LARGE
    if sniff_image_type(data) is None:
        problem = f"The file at the URL is not an image (Content-Type {declared or 'none'})"
        return b"", problem, SUBCODE_IG_UNSUPPORTED_TYPE
    return data, None, None


def _process_container(state: FakeState, container: Container) -> None:
    data, problem, subcode = _fetch_image(container.image_url, MAX_IG_IMAGE_BYTES)
    if not problem and sniff_image_type(data) != "image/jpeg":
        # The Content Publishing API accepts only JPEG images.
        problem, subcode = "Only JPEG images can be published", SUBCODE_IG_UNSUPPORTED_TYPE
    with state.lock:
        if problem:
            # For ERROR, "status" carries the error subcode (IG Container reference).
            container.status_code = "ERROR"
            container.status = f"Error: {problem} ({subcode})"
            return
        media_id = state.new_id()
        state.media[media_id] = Media(
            media_id=media_id,
            platform="instagram",
            account_id=container.account_id,
            content_type="image/jpeg",
            data=data,
            alt_text=container.alt_text,
            sha256=hashlib.sha256(data).hexdigest(),
        )
        container.media_id = media_id
        container.status_code = "FINISHED"
        container.status = "Finished: Media has been uploaded and it is ready to be published."


def _container_fields(container: Container) -> Response:
    if (
        container.status_code in ("IN_PROGRESS", "FINISHED")
        and time.time() - container.created_at > CONTAINER_TTL_SECONDS
    ):
        container.status_code = "EXPIRED"
        container.status = "Expired: the container was not published within 24 hours."
    return _json(
        {
            "id": container.container_id,
            "status_code": container.status_code,
            "status": container.status,
        }
    )


def _quota_usage(account: Account) -> int:
    cutoff = time.time() - INSTAGRAM_QUOTA_SECONDS
    return sum(
        1 for p in _state().posts_of("instagram", account.account_id) if p.created_at >= cutoff
    )


def _ig_media_publish(account: Account) -> Response:
    state = _state()
    creation_id = request.values.get("creation_id", "")
    with state.lock:
        container = state.containers.get(creation_id)
        if container is None or container.account_id != account.account_id:
            return graph_error(f"(#100) Invalid creation_id {creation_id}", CODE_INVALID_PARAMETER)
        if container.status_code == "IN_PROGRESS":
            return graph_error(
                "The media is not ready for publishing, please wait for a moment",
                9007,
                subcode=SUBCODE_IG_NOT_READY,
            )
        if container.status_code != "FINISHED":
            return graph_error(
                f"(#100) The container is {container.status_code} and cannot be published",
                CODE_INVALID_PARAMETER,
            )
        if _quota_usage(account) >= account.quota_total:
            return graph_error(
                "Application request limit reached",
                CODE_IG_PUBLISH_LIMIT,
                status=403,
                subcode=SUBCODE_IG_PUBLISH_LIMIT,
                error_user_msg="You have reached the maximum number of posts allowed in 24 hours.",
            )
        post_id = state.new_id()
        state.add_post(
            Post(
                post_id=post_id,
                platform="instagram",
                account_id=account.account_id,
                text=container.caption,
                created_at=time.time(),
                received_at=g.received_at,
                permalink=f"https://www.instagram.com/p/{secrets.token_urlsafe(8)}/",
                media_ids=[container.media_id] if container.media_id else [],
            )
        )
        container.status_code = "PUBLISHED"
        container.status = "Published"
        container.published_id = post_id
    return _json({"id": post_id})


def _ig_publishing_limit(account: Account) -> Response:
    with _state().lock:
        usage = _quota_usage(account)
    return _json(
        {
            "data": [
                {
                    "quota_usage": usage,
                    "config": {
                        "quota_total": account.quota_total,
                        "quota_duration": INSTAGRAM_QUOTA_SECONDS,
                    },
                }
            ]
        }
    )


def _ig_media_get(account: Account) -> Response:
    posts = _state().posts_of("instagram", account.account_id)
    since = _since()
    if since is not None:
        posts = [p for p in posts if p.created_at >= since]
    data = [
        {
            "id": p.post_id,
            "caption": p.text,
            "media_type": "IMAGE",
            "timestamp": _graph_time(p.created_at),
            "permalink": p.permalink,
        }
        for p in posts[: _limit()]
    ]
    return _json({"data": data})


_EDGES = {
    ("facebook", "GET", None): _account_fields,
    ("facebook", "GET", "feed"): _page_feed_get,
    ("facebook", "GET", "published_posts"): _page_feed_get,
    ("facebook", "POST", "feed"): _page_feed_post,
    ("facebook", "POST", "photos"): _page_photos_post,
    ("instagram", "GET", None): _account_fields,
    ("instagram", "POST", "media"): _ig_media_post,
    ("instagram", "GET", "media"): _ig_media_get,
    ("instagram", "POST", "media_publish"): _ig_media_publish,
    ("instagram", "GET", "content_publishing_limit"): _ig_publishing_limit,
}

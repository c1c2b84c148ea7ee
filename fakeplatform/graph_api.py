"""The subset of the Graph API the gateway uses, for Facebook Pages and Instagram accounts.

Facebook Page: POST /{page-id}/feed (text, link, attached photos), POST /{page-id}/photos
(multipart ``source`` or ``url``, ``message``, ``alt_text_custom``, ``published``), GET
/{page-id}/feed for look-ups, GET /me. Instagram: POST /{ig-user-id}/media (container with
``image_url``, ``caption``, ``alt_text``), GET /{container-id}?fields=status_code, POST
/{ig-user-id}/media_publish, GET /{ig-user-id}/content_publishing_limit, GET /{ig-user-id}/media,
GET /{ig-media-id}?fields=permalink (and a Page post's permalink_url).

Errors use Graph's body ``{"error": {"message","type","code","error_subcode","fbtrace_id"}}``,
and every answer carries ``x-app-usage`` (percentages of the app's hourly allowance).
"""

from __future__ import annotations

import json
import math
import secrets
import time

from flask import Blueprint, Response, g, request

from fakeplatform import graph_instagram, graph_pages
from fakeplatform.faults import (
    DROP_AFTER,
    DROP_BEFORE,
    ERROR_AFTER,
    FAULT_HEADER,
    apply_latency,
    first_failure,
    parse_fault_header,
)
from fakeplatform.graph_common import (
    APP_USAGE_WINDOW_SECONDS,
    CODE_ACCESS_TOKEN,
    CODE_INVALID_PARAMETER,
    CODE_PAGE_RATE_LIMIT,
    CODE_SERVICE,
    DEAD_TOKEN_MESSAGES,
    GRAPH_API_VERSION,
    fake_state,
    graph_error,
    graph_time,
    json_response,
    parse_path,
    request_token,
)
from fakeplatform.state import Account, Post

bp = Blueprint("graph_api", __name__)


@bp.before_request
def authenticate_and_inject_faults() -> Response | None:
    if request.path.startswith(("/_fake", "/2/")):
        return None
    state = fake_state()
    token = request_token()
    node, _ = parse_path(request.path)
    with state.lock:
        dead = state.dead_tokens.get(token or "")
    if dead is not None:
        return graph_error(DEAD_TOKEN_MESSAGES[dead], CODE_ACCESS_TOKEN, subcode=dead, status=400)
    # A page token opens the Page and its linked Instagram account: which one, by the node.
    wanted = "instagram" if _platform_of(node) == "instagram" else None
    g.account = state.account_by_token(token, wanted) if token else None
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
        elif failure.kind == "error_after":
            request.environ[ERROR_AFTER] = failure.status
        elif failure.kind == "rate_limit":
            return _rate_limited(failure.reset_in)
        elif failure.kind == "error":
            return _outage(failure.status)
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


def _outage(status: int) -> Response:
    """Graph's own answer to an outage: code 2, "is_transient": true, retry later."""
    return graph_error(
        "An unexpected error has occurred. Please retry your request later.",
        CODE_SERVICE,
        status=status,
        is_transient=True,
    )


def _platform_of(node: str) -> str:
    state = fake_state()
    with state.lock:
        if node in state.containers or ("instagram", node) in state.accounts:
            return "instagram"
    return "facebook"


@bp.after_request
def app_usage_header(response: Response) -> Response:
    if request.path.startswith(("/_fake", "/2/")):
        return response
    status = request.environ.get(ERROR_AFTER)
    if status is not None and response.status_code < 400:
        # The work is done (the post recorded); the answer says it failed, "retry later".
        response = _outage(status)
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
    node, edge = parse_path(subpath)
    account: Account = g.account
    if node == "me" and edge is None:
        return _account_fields(account)
    if node == account.account_id:
        handler = _EDGES.get((account.platform, request.method, edge))
        if handler is not None:
            return handler(account)
        return _not_found(f"{node}/{edge}" if edge else node)
    if edge is None and request.method == "GET":
        state = fake_state()
        with state.lock:
            container = state.containers.get(node)
        if container is not None and container.account_id == account.account_id:
            return graph_instagram.container_fields(container)
        post = state.post_by_id(node)
        if post is not None and (post.platform, post.account_id) == (
            account.platform,
            account.account_id,
        ):
            return _post_fields(post)
    return _not_found(node)


def _post_fields(post: Post) -> Response:
    """GET /{ig-media-id} or /{page-post-id}: the post's own fields (``permalink`` on
    Instagram, ``permalink_url`` on a Page: what Graph calls them)."""
    if post.platform == "instagram":
        body = {
            "id": post.post_id,
            "caption": post.text,
            "media_type": "IMAGE",
            "timestamp": graph_time(post.created_at),
            "permalink": post.permalink,
        }
    else:
        body = {
            "id": post.post_id,
            "message": post.text,
            "created_time": graph_time(post.created_at),
            "permalink_url": post.permalink,
        }
    return json_response(body)


def _account_fields(account: Account) -> Response:
    body = {"id": account.account_id, "name": account.name}
    if account.platform == "instagram":
        body["username"] = account.username
    return json_response(body)


_EDGES = {
    ("facebook", "GET", None): _account_fields,
    ("facebook", "GET", "feed"): graph_pages.page_feed_get,
    ("facebook", "GET", "published_posts"): graph_pages.page_feed_get,
    ("facebook", "POST", "feed"): graph_pages.page_feed_post,
    ("facebook", "POST", "photos"): graph_pages.page_photos_post,
    ("instagram", "GET", None): _account_fields,
    ("instagram", "POST", "media"): graph_instagram.ig_media_post,
    ("instagram", "GET", "media"): graph_instagram.ig_media_get,
    ("instagram", "POST", "media_publish"): graph_instagram.ig_media_publish,
    ("instagram", "GET", "content_publishing_limit"): graph_instagram.ig_publishing_limit,
}

"""What the fake Graph API's Facebook and Instagram parts share: constants, error bodies,
request helpers, and fetching an image by URL the way the platforms do."""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import requests
from flask import Response, current_app, request

from fakeplatform.images import sniff_image_type
from fakeplatform.state import FakeState, Post

GRAPH_API_VERSION = "v23.0"
VERSION_RE = re.compile(r"^v\d+\.\d+$")

# Graph error codes (developers.facebook.com, "Graph API: Handling errors").
CODE_UNKNOWN = 1
CODE_SERVICE = 2  # "temporary issue due to downtime", retry
CODE_APP_RATE_LIMIT = 4
CODE_PERMISSION = 10
CODE_PAGE_RATE_LIMIT = 32
CODE_INVALID_PARAMETER = 100
CODE_ACCESS_TOKEN = 190
#: Graph's messages for a token that stopped working (developers.facebook.com, "Access Token
#: Guide: Handling errors" / "Graph API: Handling errors", error code 190 with these subcodes).
DEAD_TOKEN_MESSAGES = {
    458: "Error validating access token: The user has not authorized application.",
    460: "Error validating access token: The session has been invalidated because the user "
    "changed their password or Facebook has changed the session for security reasons.",
    463: "Error validating access token: Session has expired.",
}
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


def fake_state() -> FakeState:
    return current_app.extensions["fakeplatform"]


def json_response(body: Any, status: int = 200) -> Response:
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
    return json_response({"error": error}, status)


def request_token() -> str | None:
    header = request.headers.get("Authorization", "")
    for scheme in ("Bearer ", "OAuth "):
        if header.startswith(scheme):
            return header[len(scheme) :]
    return request.values.get("access_token")


def parse_path(subpath: str) -> tuple[str, str | None]:
    parts = [p for p in subpath.split("/") if p]
    if parts and VERSION_RE.match(parts[0]):
        parts = parts[1:]
    if not parts or len(parts) > 2:
        return "", None
    return parts[0], parts[1] if len(parts) == 2 else None


def graph_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def limit_arg() -> int:
    try:
        return max(1, min(100, int(request.args.get("limit", 25))))
    except ValueError:
        return 25


def since_arg() -> float | None:
    raw = request.args.get("since")
    if not raw:
        return None
    if raw.isdigit():
        return float(raw)
    return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()


def _cursor(post: Post) -> str:
    """An opaque cursor naming a post, as Graph's are (base64 of something of its own)."""
    return base64.urlsafe_b64encode(post.post_id.encode()).decode().rstrip("=")


def _cursor_post_id(cursor: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def edge_page(posts: Sequence[Post], render: Callable[[Post], dict[str, Any]]) -> Response:
    """One page of an account's edge (feed, media), newest first, paged as the Graph API pages:
    ``limit`` (default 25, at most 100) a page, ``since`` (epoch or ISO time) filters, and
    cursor paging (Graph API, "Paginated results"): ``paging.cursors.before/after`` name the
    first and last item of the page, and ``paging.next`` is the URL of the next page (the same
    query with ``after=``), present only while there are more. A cursor names a post, not an
    offset, so posts made while a reader pages back do not shift what it reads."""
    since = since_arg()
    if since is not None:
        posts = [p for p in posts if p.created_at >= since]
    start = 0
    after = request.args.get("after")
    if after:
        post_id = _cursor_post_id(after)
        index = next((i for i, p in enumerate(posts) if p.post_id == post_id), None)
        if index is None:
            return graph_error("(#100) The after cursor is not valid", CODE_INVALID_PARAMETER)
        start = index + 1
    limit = limit_arg()
    page = posts[start : start + limit]
    body: dict[str, Any] = {"data": [render(p) for p in page]}
    if page:
        paging: dict[str, Any] = {
            "cursors": {"before": _cursor(page[0]), "after": _cursor(page[-1])}
        }
        if start + limit < len(posts):
            query = [(k, v) for k, v in request.args.items(multi=True) if k != "after"]
            query.append(("after", _cursor(page[-1])))
            paging["next"] = f"https://graph.facebook.com{request.path}?{urlencode(query)}"
        body["paging"] = paging
    return json_response(body)


def fetch_image(url: str, max_bytes: int) -> tuple[bytes, str | None, int | None]:
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

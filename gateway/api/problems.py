"""RFC 9457 problem details: every error the API answers, in one shape.

``type`` names the kind of problem with a link into the API reference; ``title`` is the same for
every problem of that kind; ``detail`` says what happened this time and what to do, in the same
words the pages use.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Response, current_app, json, request, url_for

#: RFC 9457 section 3: the media type of a problem details document.
MEDIA_TYPE = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal server error",
}
#: What to do, when the caller gave no detail of its own.
DETAILS = {
    400: "The request could not be read: check it against the API reference.",
    401: "Send a live API token as 'Authorization: Bearer <token>'. Tokens are made on the "
    "'API tokens' page of your account.",
    403: "The token's owner may not do this, or the token is read-only.",
    404: "There is nothing at this address, or no post with this id.",
    405: "This address does not take that method: see the API reference.",
    409: "Someone or something else changed this at the same moment. Nothing was saved: read "
    "it again and retry if the change is still needed.",
    413: "What you sent is too large.",
    415: "Send the body as JSON, with 'Content-Type: application/json'.",
    429: "Too many requests: wait, then try again.",
    500: "Sorry, there is a problem with the service. Try again later.",
}


def type_uri(slug: str) -> str:
    return url_for("api.docs", _external=True) + f"#problem-{slug}"


def slug_of(status: int) -> str:
    return TITLES.get(status, f"error {status}").lower().replace(" ", "-")


def problem(
    status: int,
    detail: str | None = None,
    *,
    slug: str | None = None,
    errors: Iterable[dict] | None = None,
    findings: list[dict] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict = {
        "type": type_uri(slug or slug_of(status)),
        "title": TITLES.get(status, f"Error {status}"),
        "status": status,
        "detail": detail or DETAILS.get(status, "Check the request against the API reference."),
        "instance": request.path,
    }
    if errors is not None:
        body["errors"] = list(errors)
    if findings is not None:
        body["findings"] = findings
    response = current_app.response_class(
        json.dumps(body), status=status, mimetype=MEDIA_TYPE, headers=headers
    )
    if status == 401:
        # RFC 6750 section 3: a 401 says which scheme to use.
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def is_api_request() -> bool:
    """True for anything under /api/, matched to a route or not (a 404 there is a problem
    document too, not an HTML page)."""
    return request.path == "/api" or request.path.startswith("/api/")


def pointer(loc: Iterable) -> str:
    """A pydantic error location as a JSON Pointer (RFC 6901)."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc]
    return "/" + "/".join(parts) if parts else ""

"""The subset of a Bluesky PDS's XRPC API the gateway uses (issue 21), for training channels.

Shapes follow the atproto lexicons (com.atproto.server.createSession, getSession,
refreshSession, describeServer; com.atproto.identity.resolveHandle; com.atproto.repo
uploadBlob, createRecord, getRecord): successes as the lexicon's JSON, errors as XRPC's
``{"error", "message"}``, and the ``ratelimit-*`` headers a PDS sends. The gateway is tested
against a real PDS (tests/support/bluesky_pds.py); this fake is what ``gateway up --demo`` and
training channels talk to, so it is stricter than a PDS where bsky.social is: images over
1,000,000 bytes and images without alt text are refused here as they would not show there.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import secrets
import time
from typing import Any

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

bp = Blueprint("bluesky_xrpc", __name__, url_prefix="/xrpc")

PLATFORM = "bluesky"
POST_COLLECTION = "app.bsky.feed.post"
#: app.bsky.feed.post: 300 graphemes, 3,000 bytes; app.bsky.embed.images: 4 images.
MAX_GRAPHEMES = 300
MAX_TEXT_BYTES = 3000
MAX_IMAGES = 4
#: What bsky.social's AppView shows (a PDS itself takes bigger blobs).
MAX_BLOB_BYTES = 1_000_000
#: A PDS's access tokens live about two hours, refresh tokens about two months.
ACCESS_SECONDS = 2 * 60 * 60
REFRESH_SECONDS = 60 * 24 * 60 * 60
SERVER_DID = "did:web:fakeplatform.invalid"
_TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
_GRAPHEME = regex.compile(r"\X")


def _state() -> FakeState:
    return current_app.extensions["fakeplatform"]


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def xrpc_error(status: int, error: str, message: str) -> Response:
    return _json({"error": error, "message": message}, status)


# Tokens: JWTs the SDK can read (it looks at ``exp`` to decide when to refresh) -------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token(did: str, scope: str, lifetime: int) -> str:
    now = int(time.time())
    header = _b64(json.dumps({"typ": "at+jwt", "alg": "HS256"}).encode())
    payload = _b64(
        json.dumps(
            {
                "scope": scope,
                "sub": did,
                "aud": SERVER_DID,
                "iat": now,
                "exp": now + lifetime,
                "jti": secrets.token_hex(8),
            }
        ).encode()
    )
    key = current_app.extensions.setdefault("fakeplatform.bluesky_key", secrets.token_bytes(32))
    signature = _b64(hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    return f"{header}.{payload}.{signature}"


def _claims(token: str) -> dict[str, Any] | None:
    """The token's claims if this fake signed it and it has not expired, else None."""
    key = current_app.extensions.get("fakeplatform.bluesky_key")
    parts = token.split(".")
    if key is None or len(parts) != 3:
        return None
    expected = _b64(hmac.new(key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, parts[2]):
        return None
    claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    return claims if claims.get("exp", 0) > time.time() else None


def _session(account: Account) -> dict[str, Any]:
    return {
        "did": account.account_id,
        "handle": account.username,
        "accessJwt": _token(account.account_id, "com.atproto.appPass", ACCESS_SECONDS),
        "refreshJwt": _token(account.account_id, "com.atproto.refresh", REFRESH_SECONDS),
        "active": True,
    }


def _bearer() -> tuple[Account | None, str | None]:
    """The account the request's bearer token is for, and the token's scope."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None, None
    claims = _claims(header[len("Bearer ") :])
    if claims is None:
        return None, "expired"
    with _state().lock:
        account = _state().accounts.get((PLATFORM, str(claims.get("sub"))))
    return account, str(claims.get("scope"))


# Faults, sign-in and rate limits for every call ------------------------------------------------
@bp.before_request
def authenticate_and_inject_faults() -> Response | None:
    state = _state()
    g.account, g.scope = _bearer()
    account_id = g.account.account_id if g.account else None
    faults = state.take_faults(PLATFORM, account_id, request.method, request.path)
    if FAULT_HEADER in request.headers:
        try:
            faults.append(parse_fault_header(request.headers[FAULT_HEADER]))
        except ValueError as exc:
            return xrpc_error(400, "InvalidRequest", str(exc))
    apply_latency(faults)
    failure = first_failure(faults)
    if failure is not None and failure.kind in ("drop", "lost_answer"):
        request.get_data()
    g.rate = None
    if g.account is not None:
        endpoint = request.path.rsplit("/", 1)[-1]
        g.rate = state.count_request(
            PLATFORM, g.account.account_id, endpoint, g.account.rate_limit, RATE_WINDOW_SECONDS
        )
    if failure is not None:
        if failure.kind == "drop":
            request.environ[DROP_BEFORE] = True
            return Response(b"", status=204)
        if failure.kind == "lost_answer":
            request.environ[DROP_AFTER] = True
        elif failure.kind == "rate_limit":
            return _rate_limited(time.time() + failure.reset_in)
        elif failure.kind == "error":
            return xrpc_error(failure.status, "InternalServerError", "Internal Server Error")
    if g.rate is not None and g.rate.exceeded:
        return _rate_limited(g.rate.reset_at)
    return None


@bp.after_request
def rate_limit_headers(response: Response) -> Response:
    rate = getattr(g, "rate", None)
    if rate is not None and "ratelimit-limit" not in response.headers:
        response.headers["ratelimit-limit"] = str(rate.limit)
        response.headers["ratelimit-remaining"] = str(rate.remaining)
        response.headers["ratelimit-reset"] = str(math.ceil(rate.reset_at))
        response.headers["ratelimit-policy"] = f"{rate.limit};w={RATE_WINDOW_SECONDS}"
    return response


def _rate_limited(reset_at: float) -> Response:
    response = xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded")
    limit = g.rate.limit if getattr(g, "rate", None) else 0
    response.headers["ratelimit-limit"] = str(limit)
    response.headers["ratelimit-remaining"] = "0"
    response.headers["ratelimit-reset"] = str(math.ceil(reset_at))
    return response


def _signed_in() -> Response | None:
    if g.account is None:
        if g.scope == "expired":
            return xrpc_error(400, "ExpiredToken", "Token has expired")
        return xrpc_error(401, "AuthenticationRequired", "Authentication Required")
    if g.scope != "com.atproto.appPass":
        return xrpc_error(400, "InvalidToken", "Bad token scope")
    return None


# com.atproto.server ----------------------------------------------------------------------------
@bp.post("/com.atproto.server.createSession")
def create_session() -> Response:
    body = request.get_json(silent=True) or {}
    identifier = str(body.get("identifier") or "").lower().removeprefix("@")
    password = str(body.get("password") or "")
    state = _state()
    with state.lock:
        account = next(
            (
                a
                for a in state.accounts.values()
                if a.platform == PLATFORM and identifier in (a.account_id, a.username.lower())
            ),
            None,
        )
    if account is None or not hmac.compare_digest(
        account.credentials.get("app_password", ""), password
    ):
        return xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
    return _json(_session(account))


@bp.post("/com.atproto.server.refreshSession")
def refresh_session() -> Response:
    if g.account is None or g.scope != "com.atproto.refresh":
        return xrpc_error(400, "ExpiredToken", "Token has expired")
    return _json(_session(g.account))


@bp.get("/com.atproto.server.getSession")
def get_session() -> Response:
    refused = _signed_in()
    if refused:
        return refused
    return _json({"did": g.account.account_id, "handle": g.account.username, "active": True})


@bp.get("/com.atproto.server.describeServer")
def describe_server() -> Response:
    return _json({"did": SERVER_DID, "availableUserDomains": [".fake.invalid"]})


# com.atproto.identity --------------------------------------------------------------------------
@bp.get("/com.atproto.identity.resolveHandle")
def resolve_handle() -> Response:
    handle = request.args.get("handle", "").lower()
    state = _state()
    with state.lock:
        for account in state.accounts.values():
            if account.platform == PLATFORM and account.username.lower() == handle:
                return _json({"did": account.account_id})
    return xrpc_error(400, "InvalidRequest", "Unable to resolve handle")


# com.atproto.repo ------------------------------------------------------------------------------
def _cid(data: bytes) -> str:
    """A CIDv1 (raw, sha-256) in base32, as a PDS names a blob."""
    digest = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(digest).decode().lower().rstrip("=")


@bp.post("/com.atproto.repo.uploadBlob")
def upload_blob() -> Response:
    refused = _signed_in()
    if refused:
        return refused
    data = request.get_data()
    if len(data) > MAX_BLOB_BYTES:
        return xrpc_error(400, "BlobTooLarge", f"This file is too large. Max {MAX_BLOB_BYTES}")
    kind = sniff_image_type(data) or request.mimetype or "application/octet-stream"
    cid = _cid(data)
    state = _state()
    with state.lock:
        state.media[cid] = Media(
            media_id=cid,
            platform=PLATFORM,
            account_id=g.account.account_id,
            content_type=kind,
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
        )
    blob = {"$type": "blob", "ref": {"$link": cid}, "mimeType": kind, "size": len(data)}
    return _json({"blob": blob})


def _record_problem(record: Any) -> str | None:
    if not isinstance(record, dict) or record.get("$type") != POST_COLLECTION:
        return "Record/$type must be app.bsky.feed.post"
    text = record.get("text")
    if not isinstance(text, str) or "createdAt" not in record:
        return 'Record must have the properties "text" and "createdAt"'
    if len(_GRAPHEME.findall(text)) > MAX_GRAPHEMES:
        return f"Record/text must not be longer than {MAX_GRAPHEMES} graphemes"
    if len(text.encode()) > MAX_TEXT_BYTES:
        return f"Record/text must not be longer than {MAX_TEXT_BYTES} characters"
    for facet in record.get("facets") or []:
        index = facet.get("index") or {}
        start, end = index.get("byteStart"), index.get("byteEnd")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end):
            return "Record/facets/index must have byteStart < byteEnd"
        if end > len(text.encode()):
            return "Record/facets/index/byteEnd is past the end of the text"
    images = (record.get("embed") or {}).get("images") or []
    if len(images) > MAX_IMAGES:
        return f"Record/embed/images must not have more than {MAX_IMAGES} elements"
    for image in images:
        if not str(image.get("alt") or "").strip():
            # A PDS takes an empty alt; this fake does not, as the gateway must never send one.
            return "Record/embed/images/alt must not be empty (the fake platform's own check)"
    return None


@bp.post("/com.atproto.repo.createRecord")
def create_record() -> Response:
    refused = _signed_in()
    if refused:
        return refused
    body = request.get_json(silent=True) or {}
    account: Account = g.account
    if body.get("repo") not in (account.account_id, account.username):
        return xrpc_error(400, "InvalidRequest", "Input/repo must be the signed-in account")
    if body.get("collection") != POST_COLLECTION:
        return xrpc_error(400, "InvalidRequest", "Only app.bsky.feed.post is accepted here")
    rkey = str(body.get("rkey") or "")
    if rkey and not _TID.match(rkey):
        return xrpc_error(400, "InvalidRequest", "Input/rkey must be a valid TID")
    record = body.get("record")
    problem = _record_problem(record)
    if problem:
        return xrpc_error(400, "InvalidRequest", problem)
    state = _state()
    with state.lock:
        rkey = rkey or _now_tid()
        uri = f"at://{account.account_id}/{POST_COLLECTION}/{rkey}"
        if state.post_by_id(uri) is not None:
            return xrpc_error(400, "InvalidRequest", "Record already exists at this key")
        images = (record.get("embed") or {}).get("images") or []
        media_ids = []
        for image in images:
            cid = str(((image.get("image") or {}).get("ref") or {}).get("$link") or "")
            media = state.media.get(cid)
            if media is None or media.account_id != account.account_id:
                return xrpc_error(400, "InvalidRequest", f"Could not find blob: {cid}")
            media.alt_text = str(image.get("alt") or "")
            media_ids.append(cid)
        state.add_post(
            Post(
                post_id=uri,
                platform=PLATFORM,
                account_id=account.account_id,
                text=record["text"],
                created_at=time.time(),
                received_at=g.received_at,
                permalink=post_page_url(uri),
                media_ids=media_ids,
                record=record,
            )
        )
    return _json({"uri": uri, "cid": _cid(json.dumps(record, sort_keys=True).encode())})


@bp.get("/com.atproto.repo.getRecord")
def get_record() -> Response:
    repo = request.args.get("repo", "")
    uri = f"at://{repo}/{request.args.get('collection', '')}/{request.args.get('rkey', '')}"
    post = _state().post_by_id(uri)
    if post is None or post.platform != PLATFORM:
        return xrpc_error(400, "RecordNotFound", f"Could not locate record: {uri}")
    value = post.record or {}
    return _json(
        {"uri": uri, "cid": _cid(json.dumps(value, sort_keys=True).encode()), "value": value}
    )


def _now_tid() -> str:
    alphabet = "234567abcdefghijklmnopqrstuvwxyz"
    value = (int(time.time() * 1_000_000) << 10) | secrets.randbelow(1024)
    return "".join(alphabet[(value >> (5 * i)) & 31] for i in reversed(range(13)))

"""``Idempotency-Key`` on every POST (issue 17; the IETF httpapi "Idempotency-Key" draft).

A client that sends a POST again after a timeout, with the same key, gets the first answer
again and nothing is done twice. The key is kept per token for 24 hours with a hash of the
request: the same key with another request is refused (422), and while the first request is
still being handled a second one with its key is refused (409) rather than run beside it.

The key's row is written, and committed, before the request is handled: two identical POSTs at
once cannot both write it (the table's unique key), so only one of them makes a post. A request
that ends in a 5xx or a 429 loses its row, so the client can send it again.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

from flask import Response, current_app, g, request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from gateway.api import problems
from gateway.api.auth import current_token
from gateway.extensions import db
from gateway.models import ApiIdempotencyKey
from gateway.models.base import utcnow

HEADER = "Idempotency-Key"
#: How long a key and its answer are kept (the issue's 24 hours, as Stripe keeps them).
KEPT_FOR = timedelta(hours=24)
#: A key is up to 255 visible ASCII characters: a UUID, or the client's own request id.
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")
#: The answer's headers a replay gives back.
REPLAYED_HEADERS = ("Content-Type", "ETag", "Location")
#: Answers that are not kept: the client may try again.
NOT_KEPT = frozenset({429})
_ROW = "api_idempotency_row"


def request_hash() -> str:
    """SHA-256 of the method, the path and the body; a JSON body in one canonical form, so the
    same fields in another order or spacing are the same request."""
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    if request.mimetype == "multipart/form-data":
        # An upload: its parts, not its bytes, whose boundary changes with every send.
        digest.update(_parts().encode("utf-8"))
        return digest.hexdigest()
    raw = request.get_data(cache=True)
    try:
        body = json.dumps(
            json.loads(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
    except (ValueError, RecursionError):
        body = raw
    digest.update(body)
    return digest.hexdigest()


def _parts() -> str:
    """A multipart body's fields and files (each file by its name and SHA-256), in one
    canonical JSON form."""
    files = []
    for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0]):
        data = upload.stream.read()
        upload.stream.seek(0)
        files.append([name, upload.filename or "", hashlib.sha256(data).hexdigest()])
    fields = sorted([k, v] for k, v in request.form.items(multi=True))
    return json.dumps({"fields": fields, "files": files}, sort_keys=True, ensure_ascii=False)


def begin() -> Response | None:
    """Before a POST: claim its key, or answer from the key's first request."""
    if request.method != "POST" or HEADER not in request.headers:
        return None
    token = current_token()
    if token is None:
        return None  # the view answers 401; no key is kept for nobody
    key = request.headers[HEADER]
    if not KEY_PATTERN.fullmatch(key):
        return problems.problem(
            422,
            "The Idempotency-Key must be 1 to 255 visible ASCII characters, such as a UUID.",
            slug="validation",
            errors=[{"pointer": "", "parameter": HEADER, "detail": "Not a valid key."}],
        )
    fingerprint = request_hash()
    now = utcnow()
    token_id = token.id
    db.session.execute(
        delete(ApiIdempotencyKey).where(
            ApiIdempotencyKey.token_id == token_id, ApiIdempotencyKey.created_at < now - KEPT_FOR
        )
    )
    row = ApiIdempotencyKey(token_id=token_id, key=key, request_hash=fingerprint, created_at=now)
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return _answer_from_first(token_id, key, fingerprint)
    g.setdefault(_ROW, row.id)
    return None


def _answer_from_first(token_id: int, key: str, fingerprint: str) -> Response:
    first = db.session.scalar(
        select(ApiIdempotencyKey).where(
            ApiIdempotencyKey.token_id == token_id, ApiIdempotencyKey.key == key
        )
    )
    if first is None:
        # Its first request failed and gave it up between our insert and this read.
        return problems.problem(
            409,
            "A request with this Idempotency-Key has just ended: send it again.",
            slug="idempotency-in-progress",
        )
    if first.request_hash != fingerprint:
        return problems.problem(
            422,
            "This Idempotency-Key was used with a different request in the last 24 hours. "
            "Use a new key for a new request.",
            slug="idempotency-key-reused",
            errors=[{"pointer": "", "parameter": HEADER, "detail": "Used for another request."}],
        )
    if first.status_code is None:
        return problems.problem(
            409,
            "The first request with this Idempotency-Key is still being handled. Wait a "
            "moment, then send it again to get its answer.",
            slug="idempotency-in-progress",
            headers={"Retry-After": "1"},
        )
    headers = json.loads(first.response_headers or "{}")
    response = current_app.response_class(
        first.response_body or b"", status=first.status_code, headers=headers
    )
    response.headers["Idempotent-Replayed"] = "true"
    return response


def finish(response: Response) -> Response:
    """After the POST: keep its answer with its key, or give the key up on a 5xx or 429."""
    row_id = g.pop(_ROW, None)
    if row_id is None:
        return response
    db.session.rollback()  # whatever the view left unsaved is not kept by this commit
    if response.status_code >= 500 or response.status_code in NOT_KEPT:
        db.session.execute(delete(ApiIdempotencyKey).where(ApiIdempotencyKey.id == row_id))
    else:
        headers = {h: response.headers[h] for h in REPLAYED_HEADERS if h in response.headers}
        db.session.execute(
            update(ApiIdempotencyKey)
            .where(ApiIdempotencyKey.id == row_id)
            .values(
                status_code=response.status_code,
                response_body=response.get_data(),
                response_headers=json.dumps(headers),
            )
        )
    db.session.commit()
    return response

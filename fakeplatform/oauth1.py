"""Server-side check of OAuth 1.0a HMAC-SHA1 signatures (RFC 5849), as X does for user context.

The signature covers the URL the client *meant* to call. The gateway's adapter signs
``https://api.twitter.com/...`` or ``https://api.x.com/...`` and only then has its transport
send the request to the fake's own address, so the fake accepts a signature over any of those
base URIs (and over its own URL, for a client pointed at it directly).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from types import SimpleNamespace

from oauthlib.common import safe_string_equals
from oauthlib.oauth1.rfc5849 import signature, utils

# RFC 5849 section 3.3 leaves the timestamp window to the server; X rejects requests whose
# clock is far off. Five minutes is the window most OAuth 1.0a servers use.
TIMESTAMP_WINDOW_SECONDS = 300

PUBLIC_HOSTS = ("https://api.twitter.com", "https://api.x.com")


class OAuthError(Exception):
    """The request's OAuth 1.0a credentials are missing, unknown or do not verify."""


def oauth_params(authorization: str | None) -> dict[str, str]:
    """The oauth_* parameters of an ``Authorization: OAuth ...`` header (empty if none)."""
    if not authorization or not authorization.startswith("OAuth "):
        return {}
    # Values are percent-encoded in the header (RFC 5849 section 3.5.1).
    return {k: utils.unescape(v) for k, v in utils.parse_authorization_header(authorization)}


def verify(
    *,
    method: str,
    own_url: str,
    path_and_query: str,
    headers: Mapping[str, str],
    form_body: Iterable[tuple[str, str]] | None,
    consumer_secret: str,
    token_secret: str,
    seen_nonces: dict[str, float],
    now: float | None = None,
) -> None:
    """Raise OAuthError unless the request carries a valid HMAC-SHA1 signature.

    ``form_body`` is the decoded body only for application/x-www-form-urlencoded requests: RFC
    5849 section 3.4.1.3.1 signs body parameters only then (never JSON or multipart bodies).
    """
    now = time.time() if now is None else now
    params = oauth_params(headers.get("Authorization"))
    if params.get("oauth_signature_method") != "HMAC-SHA1":
        raise OAuthError("unsupported signature method")
    try:
        timestamp = int(params["oauth_timestamp"])
        nonce = params["oauth_nonce"]
        claimed = params["oauth_signature"]
    except (KeyError, ValueError) as exc:
        raise OAuthError("incomplete OAuth parameters") from exc
    if abs(now - timestamp) > TIMESTAMP_WINDOW_SECONDS:
        raise OAuthError("timestamp out of range")
    # RFC 5849 section 3.3: a nonce must not be accepted twice (with the same timestamp and
    # credentials); forget nonces once their timestamps fall out of the window.
    nonce_key = f"{params.get('oauth_consumer_key')}:{params.get('oauth_token')}:{nonce}"
    for key, seen_at in list(seen_nonces.items()):
        if now - seen_at > 2 * TIMESTAMP_WINDOW_SECONDS:
            del seen_nonces[key]
    if nonce_key in seen_nonces:
        raise OAuthError("nonce already used")

    query = path_and_query.partition("?")[2]
    collected = signature.collect_parameters(
        uri_query=query, body=list(form_body or []), headers=dict(headers)
    )
    normalized = signature.normalize_parameters(collected)
    path = path_and_query.partition("?")[0]
    secrets = SimpleNamespace(client_secret=consumer_secret, resource_owner_secret=token_secret)
    candidates = [own_url.rstrip("/") + path] + [host + path for host in PUBLIC_HOSTS]
    for uri in candidates:
        base = signature.signature_base_string(
            method.upper(), signature.base_string_uri(uri), normalized
        )
        expected = signature.sign_hmac_sha1_with_client(base, secrets)
        if safe_string_equals(expected, claimed):
            seen_nonces[nonce_key] = now
            return
    raise OAuthError("signature does not verify")

"""X's OAuth 2.0 authorization code flow with PKCE, and refreshing its tokens (issue 15).

tweepy's ``OAuth2UserHandler`` (a requests-oauthlib ``OAuth2Session``) builds the authorize URL
with its S256 code challenge and exchanges the code; its session is routed like the adapters'
(gateway.platforms.transport), so a training channel's flow goes to the fake platform.

- **Starting** (:func:`begin`): the state and code verifier are kept in Redis for ten minutes
  under the state, with the admin's user id and session id: the callback is accepted only in
  the session that started it, and only once (GETDEL), so a replayed callback is refused
  before X is asked.
- **Finishing** (:func:`finish`): a Cancel at X, a state that is unknown, used or another
  session's, a code X refuses: each a :class:`ConnectRefused` saying what happened, and nothing
  stored. Otherwise the tokens and the account X says they are for (GET /2/users/me).
- **Refreshing** (:func:`fresh_config`): X's access tokens live two hours and each refresh
  token can be used once (rotation). Before a worker uses a token with less than
  ``REFRESH_MARGIN`` left, it takes a Redis lock for the channel, reads the row again (the
  database is the source of truth) and refreshes only if nobody has meanwhile; the new tokens
  are written only over the token version it read. So two workers never both spend one
  refresh token, and the others use the tokens the first stored.
- **A 401 at publish time** (:func:`refresh_after_refusal`): X refused an access token the
  gateway thought had time left (revoked, or expired early). A 401 is a definitive refusal:
  nothing was posted. The worker refreshes once under the same lock (or takes the token
  another worker stored meanwhile) and the attempt calls X once more; a refused refresh token
  marks the channel "needs reconnecting" and holds the delivery.

Never logged: requests-oauthlib writes token request bodies and answers to its DEBUG log, so
its loggers are kept at INFO (set in :func:`quiet_library_logs`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
import tweepy
from flask import current_app
from oauthlib.oauth2 import OAuth2Error
from requests.auth import HTTPBasicAuth
from sqlalchemy import update

from gateway.oauth import pending as pending_state
from gateway.platforms.errors import NeedsReauthorisation, Retryable
from gateway.platforms.transport import mount_transport, remember_secrets, scrub
from gateway.platforms.x import X_HOSTS

log = logging.getLogger(__name__)

PLATFORM = "x"
#: What the gateway asks X for (issue 15): post, read its own posts back (the look-up after an
#: unknown outcome), know who it is, upload images, and a refresh token (offline.access).
SCOPES = ("tweet.write", "tweet.read", "users.read", "media.write", "offline.access")
#: Where tweepy sends the person and the token request; a training channel's base URL
#: replaces the host.
AUTHORIZE_HOSTS = ("https://twitter.com", "https://x.com")
TOKEN_URL = "https://api.twitter.com/2/oauth2/token"  # noqa: S105  # nosec B105 - an address
REVOKE_URL = "https://api.twitter.com/2/oauth2/revoke"
CALLBACK_PATH = "/admin/channels/connect/x/callback"
#: How long a started connection waits for the person at X (gateway.oauth.pending).
STATE_TTL_SECONDS = pending_state.STATE_TTL_SECONDS
STATE_KEY = "gateway:oauth:x:state:{state}"
REFRESH_LOCK_KEY = "gateway:oauth:x:refresh:{channel_id}"
#: Refresh when less than this is left of the two hours: longer than a publish attempt (its
#: upload, post and look-up), so a token never expires in the middle of one.
REFRESH_MARGIN = timedelta(minutes=5)
#: The lock outlives one token request (the platform timeout) with room to spare; a worker
#: waits at most this long for another's refresh before trying again later.
REFRESH_LOCK_SECONDS = 60
REFRESH_WAIT_SECONDS = 30
#: How often a refresh's write is tried again over a row that changed meanwhile.
WRITE_TRIES = 3
#: Access tokens X gave without an ``expires_in`` (it always gives one): assume two hours.
DEFAULT_EXPIRES_IN = 7200
NOT_CONFIGURED = (
    "Connecting with X needs the council's X app: enter its OAuth 2.0 Client ID (and Client "
    "Secret, for a confidential client) from the app's Keys and tokens page on Admin, Platform "
    "apps (or set GATEWAY_X_CLIENT_ID and GATEWAY_X_CLIENT_SECRET)."
)


class ConnectRefused(Exception):
    """The connection did not happen; the message says why, for the admin, and holds no
    token."""


@dataclass(frozen=True)
class Pending:
    """A connection started and waiting for X's callback (kept in Redis, never in a page)."""

    user_id: int
    session_id: str
    code_verifier: str
    channel_id: int | None  # None: a new channel
    display_name: str
    base_url: str | None
    language: str


@dataclass(frozen=True)
class Grant:
    """What X granted: the account and its tokens. ``repr`` names no token."""

    account_id: str
    username: str
    name: str
    scopes: str
    expires_at: datetime
    access_token: str
    refresh_token: str

    def __repr__(self) -> str:
        return f"Grant(account_id={self.account_id!r}, username={self.username!r})"

    def credentials(self, previous: dict[str, str] | None = None) -> dict[str, str]:
        """The channel's stored credentials: a grant with no refresh token keeps the one
        stored before (issue 15: a reconnect must never wipe it, postiz-app PR #1884)."""
        refresh = self.refresh_token or (previous or {}).get("refresh_token", "")
        return {
            "auth": "oauth2",
            "access_token": self.access_token,
            "refresh_token": refresh,
            "expires_at": str(int(self.expires_at.timestamp())),
        }


def quiet_library_logs() -> None:
    """requests-oauthlib logs token request bodies and answers at DEBUG: never let it."""
    for name in ("requests_oauthlib", "oauthlib"):
        logging.getLogger(name).setLevel(logging.INFO)


def _app():  # noqa: ANN202
    from gateway.oauth.apps import credentials

    return credentials(PLATFORM)


def is_configured() -> bool:
    return bool(_app().client_id)


def redirect_uri() -> str:
    """The callback X sends the person back to: register it in the X app's settings."""
    return current_app.config["PUBLIC_URL"].rstrip("/") + CALLBACK_PATH


def _timeout() -> float:
    return float(current_app.config.get("PLATFORM_TIMEOUT_SECONDS", 15.0))


def _allowed_hosts() -> tuple[str, ...]:
    return tuple(current_app.config.get("PLATFORM_ALLOWED_HOSTS", ()))


def _handler(base_url: str | None) -> tweepy.OAuth2UserHandler:
    quiet_library_logs()
    app = _app()
    if not app.client_id:
        raise ConnectRefused(NOT_CONFIGURED)
    handler = tweepy.OAuth2UserHandler(
        client_id=app.client_id,
        redirect_uri=redirect_uri(),
        scope=list(SCOPES),
        client_secret=app.secret,
    )
    mount_transport(handler, X_HOSTS, base_url, _timeout(), _allowed_hosts())
    return handler


def _redis():
    from gateway.queue import redis_connection

    return redis_connection()


def begin(pending: Pending) -> str:
    """Start a connection: keep ``pending`` under a new state; the URL to send the person to."""
    handler = _handler(pending.base_url)
    url = handler.get_authorization_url()
    state = dict(parse_qsl(urlsplit(url).query))["state"]
    verifier = handler._client.code_verifier  # tweepy keeps it on its oauthlib client
    pending_state.keep(STATE_KEY, state, Pending(**{**pending.__dict__, "code_verifier": verifier}))
    return pending_state.training_url(url, pending.base_url, AUTHORIZE_HOSTS)


def take_pending(state: str, user_id: int, session_id: str | None) -> Pending:
    """The connection ``state`` names, once: refused if unknown, used, expired, or started in
    another session."""
    return pending_state.take(STATE_KEY, state, user_id, session_id, Pending, "X")


def finish(pending: Pending, args: dict[str, str]) -> Grant:
    """Exchange the callback's code for tokens and ask X whose they are."""
    if args.get("error"):
        if args["error"] == "access_denied":
            raise ConnectRefused(
                "X was not connected: the sign-in at X was cancelled. Nothing was changed."
            )
        raise ConnectRefused(
            f"X did not connect the account ({scrub(args['error'])[:100]}). Nothing was changed."
        )
    if not args.get("code"):
        raise ConnectRefused("X sent no authorization code back. Nothing was changed.")
    handler = _handler(pending.base_url)
    handler._client.code_verifier = pending.code_verifier
    handler._state = args.get("state")
    # oauthlib parses the callback address only to read its code and state, and refuses an
    # http:// one; a loopback or training gateway is served over http, so hand it the same
    # query on an https:// address of our own.
    authorization_response = "https://gateway.invalid" + CALLBACK_PATH + "?" + urlencode(args)
    try:
        token = handler.fetch_token(authorization_response)
    except OAuth2Error as exc:
        raise ConnectRefused(
            f"X refused the sign-in: {scrub(exc.description or exc.error or '')[:200]} Nothing "
            "was changed: start again."
        ) from None
    except requests.RequestException:
        raise ConnectRefused(
            "X did not answer when the gateway asked for the account's tokens. Nothing was "
            "changed: start again."
        ) from None
    finally:
        handler.close()
    access = str(token.get("access_token") or "")
    refresh = str(token.get("refresh_token") or "")
    remember_secrets([access, refresh])
    if not access:
        raise ConnectRefused("X answered without an access token. Nothing was changed.")
    account = _who_is(access, pending.base_url)
    expires_in = int(token.get("expires_in") or DEFAULT_EXPIRES_IN)
    scope = token.get("scope")
    scopes = " ".join(scope) if isinstance(scope, list) else str(scope or "")
    return Grant(
        account_id=str(account["id"]),
        username=str(account.get("username", "")),
        name=str(account.get("name", "")),
        scopes=scopes,
        expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
        access_token=access,
        refresh_token=refresh,
    )


def _who_is(access_token: str, base_url: str | None) -> dict[str, Any]:
    client = tweepy.Client(bearer_token=access_token, return_type=dict)
    mount_transport(client.session, X_HOSTS, base_url, _timeout(), _allowed_hosts())
    try:
        return client.get_me(user_auth=False)["data"]
    except (tweepy.TweepyException, requests.RequestException, KeyError, TypeError):
        raise ConnectRefused(
            "X gave tokens but would not say which account they are for. Nothing was changed: "
            "start again."
        ) from None
    finally:
        client.session.close()


def revoke_quietly(grant: Grant, base_url: str | None) -> None:
    """Give back tokens the gateway will not keep (a grant for the wrong account)."""
    revoke_tokens(grant.credentials(), base_url)


def revoke_tokens(credentials: dict[str, str], base_url: str | None) -> None:
    """POST /2/oauth2/revoke for the refresh and access tokens (disconnecting); a failure is
    logged (without the token) and otherwise ignored: the gateway forgets them either way."""
    handler = _handler(base_url)
    secret = _app().secret
    auth = HTTPBasicAuth(handler.client_id, secret) if secret else None
    try:
        for hint in ("refresh_token", "access_token"):
            if not credentials.get(hint):
                continue
            data = {"token": credentials[hint], "token_type_hint": hint}
            if auth is None:
                data["client_id"] = handler.client_id
            handler.post(REVOKE_URL, data=data, auth=auth, withhold_token=True)
    except requests.RequestException:
        log.warning("X did not answer the revocation of a token")
    finally:
        handler.close()


# Refreshing ------------------------------------------------------------------------------------
def needs_refresh(credentials: dict[str, str], now: float | None = None) -> bool:
    if credentials.get("auth") != "oauth2":
        return False
    now = time.time() if now is None else now
    try:
        expires_at = float(credentials.get("expires_at") or 0)
    except ValueError:
        expires_at = 0.0
    return expires_at - now < REFRESH_MARGIN.total_seconds()


def fresh_credentials(channel_id: int, credentials: dict[str, str]) -> dict[str, str]:
    """``credentials`` if its access token has time left, else the refreshed ones, refreshed
    by exactly one worker (see the module's docstring). Raises NeedsReauthorisation when X
    refuses the refresh token (the channel is marked), Retryable when X does not answer or
    another worker's refresh takes too long. Call with no transaction open."""
    if not needs_refresh(credentials):
        return credentials
    from gateway.extensions import db

    lock = _redis().lock(
        REFRESH_LOCK_KEY.format(channel_id=channel_id),
        timeout=REFRESH_LOCK_SECONDS,
        blocking_timeout=REFRESH_WAIT_SECONDS,
    )
    if not lock.acquire():
        raise Retryable("another worker is still refreshing the X token", platform=PLATFORM)
    try:
        return _refresh_locked(channel_id)
    finally:
        db.session.rollback()
        try:
            lock.release()
        except Exception:  # noqa: BLE001 - expired meanwhile: the version check still holds
            log.warning("the X token refresh lock for channel %s had expired", channel_id)


def refresh_after_refusal(channel_id: int, refused_access_token: str) -> dict[str, str]:
    """X answered 401 to ``refused_access_token`` (expired early, or revoked, at X): the
    credentials to try once more with, refreshed under the same lock as
    :func:`fresh_credentials`. If another worker stored a new access token meanwhile, that one;
    otherwise this worker refreshes, whatever the stored expiry says. Raises
    NeedsReauthorisation when X refuses the refresh token (the channel is marked, as by the
    daily check), Retryable when X does not answer. Call with no transaction open."""
    from gateway.extensions import db

    lock = _redis().lock(
        REFRESH_LOCK_KEY.format(channel_id=channel_id),
        timeout=REFRESH_LOCK_SECONDS,
        blocking_timeout=REFRESH_WAIT_SECONDS,
    )
    if not lock.acquire():
        raise Retryable("another worker is still refreshing the X token", platform=PLATFORM)
    try:
        return _refresh_locked(channel_id, refused=refused_access_token)
    finally:
        db.session.rollback()
        try:
            lock.release()
        except Exception:  # noqa: BLE001 - expired meanwhile: the version check still holds
            log.warning("the X token refresh lock for channel %s had expired", channel_id)


def _load(channel_id: int):
    from gateway.credentials import decrypt_credentials
    from gateway.extensions import db
    from gateway.models import Channel

    db.session.rollback()  # read what is committed now, not an older snapshot
    channel = db.session.get(Channel, channel_id, populate_existing=True)
    if channel is None or channel.credentials_encrypted is None:
        raise NeedsReauthorisation("the channel has no credentials", platform=PLATFORM)
    return channel, decrypt_credentials(channel.id, channel.credentials_encrypted)


def _refresh_locked(channel_id: int, refused: str | None = None) -> dict[str, str]:
    from gateway.audit import Actor, record
    from gateway.credentials import encrypt_credentials
    from gateway.extensions import db
    from gateway.models import Channel

    channel, stored = _load(channel_id)
    if refused is None and not needs_refresh(stored):
        return stored  # another worker refreshed while this one waited for the lock
    if refused is not None and stored.get("access_token") != refused:
        return stored  # the refused token was replaced meanwhile: use the new one
    version, base_url = channel.token_version, channel.base_url
    if not stored.get("refresh_token"):
        _mark_refresh_failed(channel, "X gave no refresh token: reconnect the channel")
        raise NeedsReauthorisation(
            "the X token has expired and there is no refresh token", platform=PLATFORM
        )
    handler = _handler(base_url)
    secret = _app().secret
    auth = HTTPBasicAuth(handler.client_id, secret) if secret else None
    extra = {} if auth else {"client_id": handler.client_id}
    db.session.rollback()  # hold no transaction while X answers
    try:
        token = handler.refresh_token(
            TOKEN_URL, refresh_token=stored["refresh_token"], auth=auth, **extra
        )
    except OAuth2Error as exc:
        channel, now_stored = _load(channel_id)
        if channel.token_version != version:
            return now_stored  # someone refreshed after all (a lock that expired)
        _mark_refresh_failed(channel, scrub(exc.description or exc.error or "refused")[:200])
        raise NeedsReauthorisation(
            "X refused the refresh token: reconnect the channel", platform=PLATFORM
        ) from None
    except requests.RequestException:
        # Nothing was published; the refresh token may or may not be spent (an answer lost
        # after X rotated it leaves the channel to be reconnected, which the next refresh finds).
        raise Retryable("X did not answer the token refresh", platform=PLATFORM) from None
    finally:
        handler.close()
    access = str(token.get("access_token") or "")
    refresh = str(token.get("refresh_token") or "") or stored["refresh_token"]
    remember_secrets([access, refresh])
    expires_at = datetime.now(UTC) + timedelta(
        seconds=int(token.get("expires_in") or DEFAULT_EXPIRES_IN)
    )
    fresh = {
        **stored,
        "access_token": access,
        "refresh_token": refresh,
        "expires_at": str(int(expires_at.timestamp())),
    }
    spent = stored["refresh_token"]
    for _ in range(WRITE_TRIES):
        written = db.session.execute(
            update(Channel)
            .where(Channel.id == channel_id, Channel.token_version == version)
            .values(
                credentials_encrypted=encrypt_credentials(channel_id, fresh),
                token_expires_at=expires_at,
                token_version=version + 1,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if written == 1:
            break
        # The row changed while X answered. If it still holds the refresh token just spent
        # (re-encrypted by `gateway keys rotate`, say), these new tokens are the only live
        # ones: write them over the new version. Otherwise someone stored a newer grant.
        db.session.rollback()
        channel, now_stored = _load(channel_id)
        if now_stored.get("refresh_token") != spent:
            return now_stored
        version = channel.token_version
        db.session.rollback()
    else:  # pragma: no cover - the row changed WRITE_TRIES times in a few milliseconds
        raise Retryable("the channel kept changing while its X token was refreshed")
    record(
        "channel.token_refreshed",
        actor=Actor.system(),
        obj=("channel", channel_id),
        payload={
            "platform": PLATFORM,
            "expires_at": expires_at.isoformat(),
            "why": "X refused the access token (401)" if refused else "it was about to expire",
        },
    )
    db.session.commit()
    return fresh


def _mark_refresh_failed(channel: Any, reason: str) -> None:
    from gateway.audit import Actor, record
    from gateway.extensions import db
    from gateway.oauth.health import mark_needs_reconnecting

    mark_needs_reconnecting(channel.id, f"X refused the refresh token: {reason}")
    record(
        "channel.token_refresh_failed",
        actor=Actor.system(),
        obj=("channel", channel.id),
        payload={
            "platform": PLATFORM,
            "external_account_id": channel.external_account_id,
            "reason": reason,
        },
    )
    db.session.commit()

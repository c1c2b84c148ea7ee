"""HTTP plumbing shared by the adapters: base-URL redirection, timeouts, scrubbing, the guard
against calling addresses inside our network, and the mapping of ``requests`` failures into our
taxonomy.

The client libraries hard-code their hosts (tweepy: https://api.twitter.com; facebook-sdk:
https://graph.facebook.com/ unless its module global is changed). Both accept or expose a
``requests.Session``, so a transport adapter mounted on that session for the platform's hosts
sends the same requests to a configured base URL instead (the fake platform, for training)
without touching the library or any global.

Every request the gateway sends to a platform, or to fetch an image, goes through
:class:`PlatformTransport` (issue #20): its connections resolve the host once, refuse it unless
every address is public (or the host is in GATEWAY_PLATFORM_ALLOWED_HOSTS), and connect to the
address they checked, keeping the name for the Host header, TLS SNI and the certificate check,
so a DNS answer that changes between the check and the connection (rebinding) reaches nothing.
Redirects are never followed: the platforms' APIs do not redirect, and a redirect could point
anywhere after the check.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
from collections.abc import Collection, Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from gateway.platforms.errors import OutcomeUnknown, PublishError, Rejected, Retryable
from gateway.platforms.urls import (
    ALLOWED_SCHEMES,
    DEFAULT_PORTS,
    DestinationRefused,
    is_allowed_host,
    public_addresses,
)

# Connecting is quick or never: a short connect timeout means a dead host is reported as
# Retryable (nothing was sent) quickly, instead of eating the whole read timeout.
CONNECT_TIMEOUT_SECONDS = 5.0

REDACTED = "[redacted]"
# Parameters that carry credentials, in a query string, a form body or an OAuth 1.0a header
# (RFC 5849 section 3.5.1 quotes the values there).
_SECRET_PARAMS = re.compile(
    r"(?i)\b(access_token|input_token|client_secret|oauth_token|oauth_signature|"
    r"oauth_consumer_key|appsecret_proof|client_key|resource_owner_key)=(\"?)[^&\s\"',;]+"
)
_BEARER = re.compile(r"(?i)\b(bearer|oauth)\s+(?!oauth_)[A-Za-z0-9._~+/=%-]{8,}")
# Shorter values are not scrubbed by value (they would match ordinary words); they are still
# removed where they appear as a named parameter.
MIN_SECRET_LENGTH = 6


# Every credential an adapter has been built with, so the log filter can remove them even
# where they appear outside a recognisable parameter.
_known_secrets: set[str] = set()
_known_lock = threading.Lock()


def remember_secrets(secrets: Iterable[str]) -> None:
    """Register credential values for the log filter to remove wherever they appear."""
    with _known_lock:
        _known_secrets.update(s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove credentials from text bound for a log line, an error message or an audit entry."""
    with _known_lock:
        known = sorted(_known_secrets | set(secrets), key=len, reverse=True)
    for secret in known:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, REDACTED)
    text = _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}={m.group(2)}{REDACTED}", text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


class _ScrubFilter(logging.Filter):
    """Scrubs credential-shaped parameters out of third-party log records.

    urllib3 logs every request line at DEBUG, query string included, and facebook-sdk puts
    ``access_token`` in the query of every GET; tweepy logs request headers at DEBUG.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


# Exact logger names: a filter on a parent logger does not see its children's records.
_SCRUBBED_LOGGERS = (
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "tweepy.client",
    "tweepy.auth",
    "requests_oauthlib.oauth1_auth",
    "requests_oauthlib.oauth1_session",
    "oauthlib",
    "oauthlib.oauth1.rfc5849",
    "oauthlib.oauth1.rfc5849.signature",
)
_scrub_filter = _ScrubFilter()


def install_log_scrubber() -> None:
    """Attach the scrubbing filter to the libraries' loggers (idempotent)."""
    for name in _SCRUBBED_LOGGERS:
        logger = logging.getLogger(name)
        if _scrub_filter not in logger.filters:
            logger.addFilter(_scrub_filter)


class RefusedDestination(requests.ConnectionError):
    """The request was not sent: its host is inside our network and not allowed."""


class RefusedRedirect(requests.RequestException):
    """The answer was a redirect, which the gateway never follows."""


class _GuardedConnectionMixin:
    """Connects only to an address it has just resolved and checked (see the module docstring).

    ``allowed_hosts`` is set on the per-allowance subclasses that :func:`_guarded_pools` makes.
    """

    allowed_hosts: tuple[str, ...] = ()

    def _new_conn(self) -> socket.socket:
        host, port = self._dns_host, self.port  # type: ignore[attr-defined]
        if is_allowed_host(host, port, self.allowed_hosts):
            targets = [host]
        else:
            try:
                targets = public_addresses(host, port)
            except DestinationRefused as exc:
                raise NewConnectionError(self, f"refused to connect: {exc}") from None  # type: ignore[arg-type]
        last: OSError | None = None
        for address in targets:
            try:
                sock = urllib3_connection.create_connection(
                    (address, port),
                    self.timeout,  # type: ignore[attr-defined]
                    source_address=self.source_address,  # type: ignore[attr-defined]
                    socket_options=self.socket_options,  # type: ignore[attr-defined]
                )
            except TimeoutError as exc:
                raise ConnectTimeoutError(
                    self,
                    f"Connection to {self.host} timed out",  # type: ignore[attr-defined]
                ) from exc
            except OSError as exc:
                last = exc
                continue
            return sock
        raise NewConnectionError(self, f"Failed to establish a new connection: {last}")  # type: ignore[arg-type]


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


@lru_cache(maxsize=32)
def _guarded_pools(allowed_hosts: tuple[str, ...]) -> dict[str, type]:
    """urllib3 pool classes whose connections are guarded with this allowance."""
    http = type("GuardedHTTP", (_GuardedHTTPConnection,), {"allowed_hosts": allowed_hosts})
    https = type("GuardedHTTPS", (_GuardedHTTPSConnection,), {"allowed_hosts": allowed_hosts})
    return {
        "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
    }


def check_destination(url: str, allowed_hosts: Collection[str]) -> None:
    """Raise RefusedDestination unless ``url`` is http(s) to a public or allowed host.

    The connection checks again when it connects (that is the check that counts); this one
    gives a clear reason before anything is sent, and covers requests sent through a proxy,
    where the proxy, not us, connects to the host.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise RefusedDestination("the address is malformed") from None
    host = parts.hostname
    if parts.scheme not in ALLOWED_SCHEMES or not host or parts.username or parts.password:
        raise RefusedDestination("only http and https addresses without a user name are called")
    if is_allowed_host(host, port, allowed_hosts):
        return
    try:
        public_addresses(host, port or DEFAULT_PORTS[parts.scheme])
    except DestinationRefused as exc:
        raise RefusedDestination(str(exc)) from None


class PlatformTransport(HTTPAdapter):
    """Sends requests for a platform's public host to ``base_url``, enforces a timeout, refuses
    hosts inside our network unless allowed, and never follows a redirect.

    tweepy calls ``session.request`` without a timeout, so without this a silent platform would
    hold a worker forever. No automatic retries (HTTPAdapter's default of 0): re-sending a POST
    that may have arrived is exactly the double post this gateway exists to prevent.
    """

    def __init__(
        self,
        base_url: str | None,
        timeout: float,
        allowed_hosts: Collection[str] = (),
    ) -> None:
        self.allowed_hosts = tuple(allowed_hosts)
        super().__init__(max_retries=0)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout = timeout

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        # Only the direct connections' pools: through a proxy, the proxy connects (and the
        # name was checked in send).
        self.poolmanager.pool_classes_by_scheme = _guarded_pools(self.allowed_hosts)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = (CONNECT_TIMEOUT_SECONDS, self.timeout)
        if self.base_url and request.url:
            parts = urlsplit(request.url)
            target = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
            request.url = target
            # Proxies were chosen for the public host; choose again for the real target.
            kwargs["proxies"] = requests.utils.get_environ_proxies(target)
        check_destination(request.url or "", self.allowed_hosts)
        response = super().send(request, **kwargs)
        if response.is_redirect or response.status_code in (301, 302, 303, 307, 308):
            # Refuse it here, before requests' Session would follow it; its body is not read.
            response.close()
            raise RefusedRedirect(
                f"the answer was a redirect (HTTP {response.status_code}), which is not followed",
                request=request,
                response=response,
            )
        return response


def mount_transport(
    session: requests.Session,
    hosts: Iterable[str],
    base_url: str | None,
    timeout: float,
    allowed_hosts: Collection[str] = (),
) -> requests.Session:
    """Route ``session``'s requests for ``hosts`` (scheme://host) through PlatformTransport,
    and guard every other request the session sends (a client library's own calls) too."""
    install_log_scrubber()
    guarded = PlatformTransport(None, timeout, allowed_hosts)
    session.mount("http://", guarded)
    session.mount("https://", guarded)
    transport = PlatformTransport(base_url, timeout, allowed_hosts)
    hosts = [host.rstrip("/") + "/" for host in hosts]
    for host in hosts:
        session.mount(host, transport)
    session.max_redirects = 0
    read_environment_once(session, hosts[0] if hosts else "https://localhost/")
    return session


def guarded_session(timeout: float, allowed_hosts: Collection[str] = ()) -> requests.Session:
    """A session whose every request goes through the guard (for fetching images)."""
    return mount_transport(requests.Session(), (), None, timeout, allowed_hosts)


def read_environment_once(session: requests.Session, url: str) -> None:
    """Take the proxy and CA bundle settings from the environment now, once per session.

    requests reads them again on every request (``trust_env``): a walk over the whole
    environment for each call, about a twentieth of a publish's CPU time (profiled in
    docs/benchmarks.md, "Publishing"). The settings honoured stay the same: HTTP(S)_PROXY and
    NO_PROXY for the platform's host, REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE; .netrc is not
    read (a platform's credentials come from the channel, never from a file in a home folder).
    """
    session.proxies.update(requests.utils.get_environ_proxies(url))
    if session.verify is True:
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            session.verify = bundle
    session.trust_env = False


def _never_connected(exc: BaseException) -> bool:
    """True when the failure happened before a byte of the request was sent."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, NewConnectionError | ConnectTimeoutError | ConnectionRefusedError):
            return True
        stack.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        stack.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
    return False


def map_transport_error(
    exc: requests.RequestException, *, platform: str, final_write: bool
) -> PublishError:
    """Map a ``requests`` failure. ``final_write`` is True for the one request that creates the
    post: only there can a lost answer mean the post exists (media uploads and reads that fail
    leave no post behind, so they are Retryable)."""
    kind = type(exc).__name__
    if isinstance(exc, RefusedDestination):
        return Rejected(
            f"the gateway does not call this address: {exc}; an admin can allow a host in "
            "GATEWAY_PLATFORM_ALLOWED_HOSTS",
            platform=platform,
        )
    if isinstance(exc, RefusedRedirect):
        if final_write:
            return OutcomeUnknown(str(exc), platform=platform)
        return Rejected(str(exc), platform=platform)
    if _never_connected(exc):
        return Retryable(f"could not connect to the platform ({kind})", platform=platform)
    if not final_write:
        return Retryable(f"the request failed before the post was sent ({kind})", platform=platform)
    if isinstance(exc, requests.JSONDecodeError):
        return OutcomeUnknown(
            "the platform's answer to the post could not be read", platform=platform
        )
    if isinstance(exc, requests.ReadTimeout):
        return OutcomeUnknown(
            "the platform did not answer in time after the post was sent", platform=platform
        )
    return OutcomeUnknown(
        f"the connection was lost after the post was sent ({kind})", platform=platform
    )

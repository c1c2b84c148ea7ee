"""Refuse addresses inside our network (server-side request forgery, issues #5 and #20).

A URL an officer types, or a channel's base URL an admin types, could name 127.0.0.1, a cloud
metadata address (169.254.169.254) or a council intranet host. We resolve the host and accept
it only if *every* address it resolves to is globally routable, so a name with one public and
one private address is refused. :func:`public_addresses` is what the transport
(:mod:`gateway.platforms.transport`) calls at connect time, so the address it connects to is
one it has just checked (no gap for DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection
from urllib.parse import urlsplit

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}


class DestinationRefused(Exception):
    """The host resolves to an address the gateway must not call (and is not allowed)."""


def is_allowed_host(host: str, port: int | None, allowed_hosts: Collection[str]) -> bool:
    """True if ``host`` (or ``host:port``) is named in ``allowed_hosts``
    (GATEWAY_PLATFORM_ALLOWED_HOSTS: the fake platform in tests and training)."""
    host = host.strip("[]").rstrip(".").lower()
    names = {h.strip().lower() for h in allowed_hosts}
    bracketed = f"[{host}]" if ":" in host else host
    return host in names or (port is not None and f"{bracketed}:{port}" in names)


def public_addresses(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, if every one of them is public; raises
    DestinationRefused otherwise (and when the name does not resolve)."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError):
        raise DestinationRefused(f"{host} does not resolve") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses or not all(_is_public(a) for a in addresses):
        raise DestinationRefused(f"{host} resolves to an address inside the network")
    return addresses


def is_public_url(url: str, *, allowed_hosts: Collection[str] = ()) -> bool:
    """True if ``url`` is http(s) and its host resolves only to public addresses.

    ``allowed_hosts`` is an explicit allowance for hosts that are private on purpose, e.g.
    ``("127.0.0.1",)`` or ``("127.0.0.1:8025",)`` for the fake platform in tests and training.
    The check is made at the time of the call: a host whose DNS answer changes afterwards
    (DNS rebinding) is not caught here, so callers fetch through the guarded transport, which
    checks again at connect time, or leave the fetching to the platform.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname
    if parts.scheme not in ALLOWED_SCHEMES or not host or parts.username or parts.password:
        return False
    if is_allowed_host(host, port, allowed_hosts):
        return True
    try:
        public_addresses(host, port or DEFAULT_PORTS[parts.scheme])
    except DestinationRefused:
        return False
    return True


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback, whatever its spelling
    if isinstance(ip, ipaddress.IPv6Address) and ip.sixtofour is not None:
        ip = ip.sixtofour  # 2002:7f00:1::/48 carries 127.0.0.1
    return ip.is_global and not (
        ip.is_multicast
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_unspecified
        or ip.is_reserved
    )

"""Refuse image URLs that point inside our network (server-side request forgery, issue #5).

A URL an officer types could name 127.0.0.1, a cloud metadata address (169.254.169.254) or a
council intranet host. We resolve the host and accept the URL only if *every* address it
resolves to is globally routable, so a name with one public and one private address is refused.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection
from urllib.parse import urlsplit

ALLOWED_SCHEMES = ("http", "https")


def is_public_url(url: str, *, allowed_hosts: Collection[str] = ()) -> bool:
    """True if ``url`` is http(s) and its host resolves only to public addresses.

    ``allowed_hosts`` is an explicit allowance for hosts that are private on purpose, e.g.
    ``("127.0.0.1",)`` or ``("127.0.0.1:8025",)`` for the fake platform in tests and training.
    The check is made at the time of the call: a host whose DNS answer changes afterwards
    (DNS rebinding) is not caught here, so callers fetch with the address they checked or
    leave the fetching to the platform.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname
    if parts.scheme not in ALLOWED_SCHEMES or not host or parts.username or parts.password:
        return False
    host_port = f"{host}:{port}" if port else host
    if host in allowed_hosts or host_port in allowed_hosts:
        return True
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError):
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(_is_public(a) for a in addresses)


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback, whatever its spelling
    return ip.is_global and not ip.is_multicast

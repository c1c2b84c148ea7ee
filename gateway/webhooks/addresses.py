"""Which webhook addresses the gateway will call (issue 17: server-side request forgery).

An endpoint is refused at registration, and again at every delivery, unless it is ``https``
and its host resolves only to globally routable addresses: private (10/8, 172.16/12,
192.168/16, fc00::/7), loopback (127/8, ::1), link-local (169.254/16 with the cloud metadata
address, fe80::/10), multicast, reserved and unspecified addresses are refused, IPv4-mapped
and 6to4 IPv6 spellings included. The check is the platforms' own
(gateway.platforms.urls.public_addresses); at delivery the guarded transport
(gateway.platforms.transport) resolves the host again, checks every address and connects to
the one it checked, so a DNS answer that changes after registration (rebinding) reaches
nothing, and no redirect is followed. GATEWAY_WEBHOOKS_ALLOW_PRIVATE=1 lifts both the address
rule and the https rule (tests, or a receiver inside the council's network on purpose).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from gateway.platforms.urls import DEFAULT_PORTS, DestinationRefused, public_addresses

MAX_URL_CHARS = 2000


class AddressRefused(ValueError):
    """The address is not one the gateway sends webhooks to; the message says why."""


def check_url(url: str, *, allow_private: bool, resolve: bool = True) -> str:
    """``url`` if webhooks may be sent to it; AddressRefused otherwise. ``resolve``: also look
    the host up now (at registration; at delivery the transport does it as it connects)."""
    url = (url or "").strip()
    if not url or len(url) > MAX_URL_CHARS:
        raise AddressRefused(f"Enter an address of at most {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise AddressRefused("Enter a whole address, like https://example.gov.uk/hooks") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise AddressRefused("The address must start with https://")
    if not parts.hostname:
        raise AddressRefused("Enter a whole address, like https://example.gov.uk/hooks")
    if parts.username or parts.password:
        raise AddressRefused("The address must not hold a user name or password")
    if parts.fragment:
        raise AddressRefused("The address must not have a # part")
    if allow_private or not resolve:
        return url
    try:
        public_addresses(parts.hostname, port or DEFAULT_PORTS[parts.scheme])
    except DestinationRefused as exc:
        raise AddressRefused(
            f"The gateway does not send webhooks to this address: {exc} (private, loopback, "
            "link-local and reserved addresses are refused)"
        ) from None
    return url

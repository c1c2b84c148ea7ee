"""What every adapter does when it is built: check the channel's credentials, keep them out of
the logs, and route the client library's ``requests`` session to the channel's base URL with a
timeout (see :mod:`gateway.platforms.transport`)."""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import quote

import requests

from gateway.platforms.base import (
    DEFAULT_TIMEOUT_SECONDS,
    FAKE_POST_PAGE_PATH,
    ChannelConfig,
    ClosingMixin,
)
from gateway.platforms.errors import NeedsReauthorisation
from gateway.platforms.transport import mount_transport, remember_secrets, scrub


class PlatformAdapter(ClosingMixin):
    """The set-up the X, Facebook and Instagram adapters share."""

    platform = ""
    #: The credentials the adapter cannot work without: a channel missing one is reconnected.
    required_credentials: tuple[str, ...] = ()
    #: The platform's public hosts (scheme://host), which the client library calls.
    hosts: tuple[str, ...] = ()

    def __init__(
        self,
        channel: ChannelConfig,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        allowed_hosts: Collection[str] = (),
    ) -> None:
        missing = [k for k in self.required_credentials if not channel.credentials.get(k)]
        if missing:
            raise NeedsReauthorisation(
                f"the channel has no {', '.join(missing)}", platform=self.platform
            )
        self._channel = channel
        self._allowed_hosts = allowed_hosts
        self._timeout = timeout
        self._secrets = [channel.credentials[k] for k in self.required_credentials]
        remember_secrets(self._secrets)
        self._connect()

    def _connect(self) -> None:
        """Build the client library's object, its session passed through :meth:`_route`."""
        raise NotImplementedError

    def _route(self, session: requests.Session) -> requests.Session:
        """``session``, sending the platform's hosts to the channel's base URL (the fake
        platform, for training), giving up on a request after the adapter's timeout, and
        refusing hosts inside our network that ``allowed_hosts`` does not name."""
        return mount_transport(
            session, self.hosts, self._channel.base_url, self._timeout, self._allowed_hosts
        )

    def page_url(self, platform_post_id: str, public_url: str | None) -> str | None:
        """Where a person sees the post: ``public_url`` on the platform itself; on a channel
        pointed at the fake platform (a base URL: training), the fake's own page for the post,
        never the real site's (where the id is someone else's post, or nobody's)."""
        base = self._channel.base_url
        if base:
            return f"{base.rstrip('/')}{FAKE_POST_PAGE_PATH}{quote(platform_post_id, safe='')}"
        return public_url

    @staticmethod
    def web_link(value: object) -> str | None:
        """A permalink from a platform's answer, if it is a web address (it becomes a link on
        the post page: never a ``javascript:`` or other scheme, whatever the answer says)."""
        if isinstance(value, str) and value.lower().startswith(("https://", "http://")):
            return value
        return None

    def refreshed_credentials(self) -> dict[str, str] | None:
        """Credentials the platform renewed while the adapter worked (Bluesky's session), to be
        stored encrypted with the channel's others; None when nothing changed."""
        return None

    def _scrub(self, text: str) -> str:
        return scrub(text, self._secrets)

"""Small helpers the adapters share: matching a post by its text, and getting an image's bytes."""

from __future__ import annotations

import html
import re
from collections.abc import Collection

import requests

from gateway.platforms.errors import Rejected, Retryable
from gateway.platforms.transport import RefusedDestination, RefusedRedirect, guarded_session
from gateway.platforms.urls import is_public_url

# The largest image any of our platforms accepts (Facebook: 10 MB); a bigger download is
# refused before it fills a worker's memory.
MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_FETCH_TIMEOUT_SECONDS = 10.0

_URL = re.compile(r"https?://\S+")
_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Text as the platforms give it back, reduced to what we can compare.

    X returns links wrapped as t.co URLs and HTML-escapes &, < and > in v2 ``text``; every
    platform may trim or fold whitespace. So: unescape, replace every URL by a placeholder,
    collapse whitespace.
    """
    text = html.unescape(text)
    text = _URL.sub("<url>", text)
    return _SPACE.sub(" ", text).strip()


def same_text(ours: str, theirs: str | None) -> bool:
    return theirs is not None and normalise_text(ours) == normalise_text(theirs)


def fetch_image_bytes(url: str, *, platform: str, allowed_hosts: Collection[str] = ()) -> bytes:
    """Download an image we must upload ourselves (X, Facebook) from a URL we were given."""
    if not is_public_url(url, allowed_hosts=allowed_hosts):
        raise Rejected("the image URL does not point at a public address", platform=platform)
    try:
        # The guarded session checks the address again as it connects, and refuses redirects:
        # a public URL could redirect to a private one after our check.
        with (
            guarded_session(IMAGE_FETCH_TIMEOUT_SECONDS, allowed_hosts) as session,
            session.get(url, stream=True, allow_redirects=False) as response,
        ):
            if response.status_code != 200:
                raise Retryable(
                    f"could not fetch the image (HTTP {response.status_code})", platform=platform
                )
            data = response.raw.read(MAX_IMAGE_BYTES + 1, decode_content=True)
    except RefusedRedirect:
        raise Rejected("the image URL redirects elsewhere", platform=platform) from None
    except RefusedDestination:
        raise Rejected(
            "the image URL does not point at a public address", platform=platform
        ) from None
    except requests.RequestException as exc:
        raise Retryable(
            f"could not fetch the image ({type(exc).__name__})", platform=platform
        ) from None
    if len(data) > MAX_IMAGE_BYTES:
        raise Rejected(f"the image is larger than {MAX_IMAGE_BYTES} bytes", platform=platform)
    return data

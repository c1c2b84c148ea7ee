"""Where a published post is on the fake platform: its own page, ``/_fake/posts/<id>``.

The fake's permalinks point here (not at x.com or facebook.com), so that in training a "View
on X" link shows the post a person just published, not a stranger's page on the real site.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import request

#: The path of a post's page; the gateway builds the same address for a channel pointed at the
#: fake platform (gateway.platforms.adapter.PlatformAdapter.page_url).
POST_PAGE_PATH = "/_fake/posts/"


def post_page_url(post_id: str) -> str:
    """The post's page, at the address the caller reached the fake platform at."""
    return f"{request.host_url.rstrip('/')}{POST_PAGE_PATH}{quote(post_id, safe='')}"

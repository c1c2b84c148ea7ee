"""Control endpoints under /_fake: register accounts, inject faults, read what was published."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from html import escape
from typing import Any

from flask import Blueprint, Response, current_app, request

from fakeplatform.faults import fault_from_json
from fakeplatform.state import PLATFORMS, FakeState, Post, account_from_json

bp = Blueprint("control", __name__, url_prefix="/_fake")


def _state() -> FakeState:
    return current_app.extensions["fakeplatform"]


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _bad(message: str) -> Response:
    return _json({"error": message}, 400)


@bp.post("/accounts")
def register_account() -> Response:
    try:
        account = account_from_json(request.get_json(silent=True))
    except ValueError as exc:
        return _bad(str(exc))
    _state().add_account(account)
    return _json(account.public(), 201)


@bp.get("/accounts")
def list_accounts() -> Response:
    state = _state()
    with state.lock:
        return _json({"accounts": [a.public() for a in state.accounts.values()]})


@bp.post("/faults")
def add_fault() -> Response:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return _bad("send a JSON object")
    try:
        fault = fault_from_json(data)
    except (ValueError, TypeError) as exc:
        return _bad(str(exc))
    _state().add_fault(fault)
    return _json({"id": fault.fault_id, **vars(fault)}, 201)


@bp.get("/faults")
def list_faults() -> Response:
    state = _state()
    with state.lock:
        return _json({"faults": [vars(f) for f in state.faults]})


@bp.delete("/faults")
def clear_faults() -> Response:
    state = _state()
    with state.lock:
        state.faults.clear()
    return _json({"faults": []})


@bp.get("/posts")
def list_posts() -> Response:
    """Every accepted post, oldest first, with its images (GET /_fake/media/<id> serves them)."""
    state = _state()
    base = request.host_url.rstrip("/")
    platform = request.args.get("platform")
    account_id = request.args.get("account_id")
    with state.lock:
        posts = [
            p
            for p in state.posts
            if (platform is None or p.platform == platform)
            and (account_id is None or p.account_id == account_id)
        ]
        body = [
            {
                "id": p.post_id,
                "platform": p.platform,
                "account_id": p.account_id,
                "text": p.text,
                "created_at": p.created_at,
                "received_at": p.received_at,
                "url": p.permalink,
                "media": [state.media[m].public(base) for m in p.media_ids if m in state.media],
            }
            for p in posts
        ]
    return _json({"posts": body})


#: The most posts one seeding request may make.
MAX_SEEDED_POSTS = 10_000


@bp.post("/posts")
def seed_posts() -> Response:
    """Posts made on an account by someone else (another tool, a shared page, a busy hour):
    ``{"platform", "account_id", "texts": [...]}``, made now, oldest first. Returns their ids."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or data.get("platform") not in PLATFORMS:
        return _bad(f"send a JSON object with platform one of {', '.join(PLATFORMS)}")
    texts = data.get("texts")
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        return _bad("texts must be a list of strings")
    if len(texts) > MAX_SEEDED_POSTS:
        return _bad(f"at most {MAX_SEEDED_POSTS} posts at once")
    state = _state()
    platform, account_id = data["platform"], str(data.get("account_id") or "")
    with state.lock:
        if (platform, account_id) not in state.accounts:
            return _bad("no such account")
        ids = []
        for text in texts:
            number = state.new_id()
            post_id = f"{account_id}_{number}" if platform == "facebook" else number
            now = time.time()
            state.add_post(
                Post(
                    post_id=post_id,
                    platform=platform,
                    account_id=account_id,
                    text=text,
                    created_at=now,
                    received_at=now,
                    permalink=f"https://example.invalid/{platform}/{post_id}",
                )
            )
            ids.append(post_id)
    return _json({"ids": ids}, 201)


# The page refreshes itself so a person watching a demo sees posts arrive.
PAGE_REFRESH_SECONDS = 5
_PLATFORM_NAMES = {
    "x": "X",
    "facebook": "Facebook",
    "instagram": "Instagram",
    "bluesky": "Bluesky",
    "mastodon": "Mastodon",
}


@bp.get("/")
def posts_page() -> Response:
    """What was published, newest first, for a person to look at (escaped throughout)."""
    state = _state()
    with state.lock:
        posts = list(reversed(state.posts))
        rows = []
        for p in posts:
            images = "".join(
                f'<img src="/_fake/media/{escape(m)}" alt="{escape(state.media[m].alt_text)}" '
                'width="120">'
                for m in p.media_ids
                if m in state.media
            )
            when = datetime.fromtimestamp(p.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            rows.append(
                f'<tr><td><a href="{escape(p.permalink)}">'
                f"{escape(_PLATFORM_NAMES[p.platform])} {escape(p.post_id)}</a></td>"
                f"<td>{escape(p.account_id)}</td><td>{when}</td>"
                f'<td style="white-space: pre-wrap">{escape(p.text)}</td><td>{images}</td></tr>'
            )
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="refresh" content="{PAGE_REFRESH_SECONDS}">'
        "<title>Fake platform: published posts</title></head><body>"
        f"<h1>Fake platform: published posts</h1><p>{len(posts)} accepted.</p>"
        "<table><thead><tr><th>Platform</th><th>Account</th><th>Accepted</th><th>Text</th>"
        "<th>Images</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></body></html>"
    )
    return Response(body, mimetype="text/html")


@bp.get("/posts/<path:post_id>")  # a Bluesky post's id is its at:// URI
def post_page(post_id: str) -> Response:
    """One published post, as a person following a "View on X" link from the gateway in
    training sees it (the fake's permalinks point here). Escaped throughout."""
    state = _state()
    with state.lock:
        post = state.post_by_id(post_id)
        media = [state.media[m] for m in post.media_ids if m in state.media] if post else []
    if post is None:
        body = (
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            "<title>Fake platform: no such post</title></head><body>"
            f"<h1>No post {escape(post_id)}</h1>"
            '<p><a href="/_fake/">Everything published</a></p></body></html>'
        )
        return Response(body, status=404, mimetype="text/html")
    platform = _PLATFORM_NAMES[post.platform]
    when = datetime.fromtimestamp(post.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    images = "".join(
        f'<p><img src="/_fake/media/{escape(m.media_id)}" alt="{escape(m.alt_text)}" '
        'width="320"></p>'
        for m in media
    )
    paragraphs = "".join(f"<p>{escape(line)}</p>" for line in post.text.split("\n"))
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Fake platform: {escape(platform)} post {escape(post.post_id)}</title></head>"
        f"<body><p>Training: the fake platform, not the real {escape(platform)}.</p>"
        f"<h1>{escape(platform)} post {escape(post.post_id)}</h1>"
        f"<p>Account {escape(post.account_id)}, accepted <time>{when}</time></p>"
        f'<article id="post">{paragraphs}{images}</article>'
        '<p><a href="/_fake/">Everything published</a></p></body></html>'
    )
    return Response(body, mimetype="text/html")


@bp.get("/media/<media_id>")
def get_media(media_id: str) -> Response:
    state = _state()
    with state.lock:
        media = state.media.get(media_id)
    if media is None:
        return _json({"error": "no such media"}, 404)
    return Response(media.data, mimetype=media.content_type)


@bp.post("/reset")
def reset() -> Response:
    keep = request.args.get("keep_accounts", "").lower() in ("1", "true", "yes")
    _state().reset(keep_accounts=keep)
    return _json({"reset": True, "kept_accounts": keep})

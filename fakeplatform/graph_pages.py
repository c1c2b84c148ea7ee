"""The fake Graph API for Facebook Pages: feed posts, photos, reading the feed back."""

from __future__ import annotations

import hashlib
import json
import time

from flask import Response, g, request

from fakeplatform.graph_common import (
    CODE_INVALID_PARAMETER,
    DUPLICATE_STATUS_CODE,
    DUPLICATE_WINDOW_POSTS,
    MAX_FB_IMAGE_BYTES,
    edge_page,
    fake_state,
    fetch_image,
    graph_error,
    graph_time,
    json_response,
)
from fakeplatform.images import sniff_image_type
from fakeplatform.pages import post_page_url
from fakeplatform.state import Account, Media, Post


def page_feed_get(account: Account) -> Response:
    return edge_page(
        fake_state().posts_of("facebook", account.account_id),
        lambda p: {
            "id": p.post_id,
            "message": p.text,
            "created_time": graph_time(p.created_at),
            "permalink_url": p.permalink,
        },
    )


def _new_page_post(account: Account, text: str, media_ids: list[str]) -> Post:
    state = fake_state()
    number = state.new_id()
    post = Post(
        post_id=f"{account.account_id}_{number}",
        platform="facebook",
        account_id=account.account_id,
        text=text,
        created_at=time.time(),
        received_at=g.received_at,
        permalink=post_page_url(f"{account.account_id}_{number}"),
        media_ids=media_ids,
    )
    state.add_post(post)
    return post


def page_feed_post(account: Account) -> Response:
    state = fake_state()
    message = request.values.get("message", "")
    link = request.values.get("link", "")
    attached: list[str] = []
    for key, value in request.values.items():
        if key.startswith("attached_media["):
            try:
                attached.append(str(json.loads(value)["media_fbid"]))
            except (ValueError, KeyError, TypeError):
                return graph_error(
                    "(#100) attached_media must be JSON with media_fbid", CODE_INVALID_PARAMETER
                )
    if not (message or link or attached):
        return graph_error(
            "(#100) Missing message or attachment", CODE_INVALID_PARAMETER, subcode=1349125
        )
    with state.lock:
        for media_id in attached:
            media = state.media.get(media_id)
            if media is None or media.account_id != account.account_id:
                return graph_error(f"(#100) Invalid media_fbid {media_id}", CODE_INVALID_PARAMETER)
        text = f"{message}\n{link}".strip() if link else message
        recent = state.posts_of("facebook", account.account_id)[:DUPLICATE_WINDOW_POSTS]
        if not attached and any(p.text == text for p in recent):
            return graph_error("Duplicate status message", DUPLICATE_STATUS_CODE)
        post = _new_page_post(account, text, attached)
    return json_response({"id": post.post_id})


def page_photos_post(account: Account) -> Response:
    state = fake_state()
    upload = request.files.get("source")
    if upload is not None:
        data = upload.read()
    elif request.values.get("url"):
        data, problem, _ = fetch_image(request.values["url"], MAX_FB_IMAGE_BYTES)
        if problem:
            return graph_error(f"(#100) {problem}", CODE_INVALID_PARAMETER)
    else:
        return graph_error("(#324) Requires upload file", 324)
    real_type = sniff_image_type(data)
    if real_type is None or len(data) > MAX_FB_IMAGE_BYTES:
        return graph_error(
            "(#100) Invalid image: the file is not a supported image or is too large",
            CODE_INVALID_PARAMETER,
        )
    published = request.values.get("published", "true").lower() not in ("false", "0")
    message = request.values.get("message") or request.values.get("caption", "")
    with state.lock:
        photo_id = state.new_id()
        state.media[photo_id] = Media(
            media_id=photo_id,
            platform="facebook",
            account_id=account.account_id,
            content_type=real_type,
            data=data,
            alt_text=request.values.get("alt_text_custom", ""),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        if not published:
            return json_response({"id": photo_id})
        post = _new_page_post(account, message, [photo_id])
    return json_response({"id": photo_id, "post_id": post.post_id})

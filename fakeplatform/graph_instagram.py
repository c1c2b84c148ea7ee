"""The fake Graph API for Instagram: media containers fetched in the background, publishing
within the account's quota, the quota itself, and reading recent media back."""

from __future__ import annotations

import hashlib
import threading
import time

from flask import Response, g, request

from fakeplatform.graph_common import (
    CODE_IG_PUBLISH_LIMIT,
    CODE_INVALID_PARAMETER,
    MAX_CAPTION,
    MAX_IG_IMAGE_BYTES,
    SUBCODE_CAPTION_TOO_LONG,
    SUBCODE_IG_NOT_READY,
    SUBCODE_IG_PUBLISH_LIMIT,
    SUBCODE_IG_UNSUPPORTED_TYPE,
    edge_page,
    fake_state,
    fetch_image,
    graph_error,
    graph_time,
    json_response,
)
from fakeplatform.images import sniff_image_type
from fakeplatform.pages import post_page_url
from fakeplatform.state import (
    CONTAINER_TTL_SECONDS,
    INSTAGRAM_QUOTA_SECONDS,
    Account,
    Container,
    FakeState,
    Media,
    Post,
)


def ig_media_post(account: Account) -> Response:
    state = fake_state()
    image_url = request.values.get("image_url")
    caption = request.values.get("caption", "")
    if not image_url:
        return graph_error("(#100) The parameter image_url is required.", CODE_INVALID_PARAMETER)
    if len(caption) > MAX_CAPTION:
        return graph_error(
            f"(#100) Param caption must be at most {MAX_CAPTION} characters long.",
            CODE_INVALID_PARAMETER,
            subcode=SUBCODE_CAPTION_TOO_LONG,
            error_user_title="Caption too long",
            error_user_msg=f"The caption is {len(caption)} characters; the limit is {MAX_CAPTION}.",
        )
    container = Container(
        container_id=state.new_id(),
        account_id=account.account_id,
        image_url=image_url,
        caption=caption,
        alt_text=request.values.get("alt_text", ""),
        created_at=time.time(),
    )
    with state.lock:
        state.containers[container.container_id] = container
    # Like Instagram, fetch the image after answering: the container starts IN_PROGRESS.
    threading.Thread(
        target=_process_container, args=(state, container), daemon=True, name="ig-container"
    ).start()
    return json_response({"id": container.container_id})


def _process_container(state: FakeState, container: Container) -> None:
    data, problem, subcode = fetch_image(container.image_url, MAX_IG_IMAGE_BYTES)
    if not problem and sniff_image_type(data) != "image/jpeg":
        # The Content Publishing API accepts only JPEG images.
        problem, subcode = "Only JPEG images can be published", SUBCODE_IG_UNSUPPORTED_TYPE
    with state.lock:
        if problem:
            # For ERROR, "status" carries the error subcode (IG Container reference).
            container.status_code = "ERROR"
            container.status = f"Error: {problem} ({subcode})"
            return
        media_id = state.new_id()
        state.media[media_id] = Media(
            media_id=media_id,
            platform="instagram",
            account_id=container.account_id,
            content_type="image/jpeg",
            data=data,
            alt_text=container.alt_text,
            sha256=hashlib.sha256(data).hexdigest(),
        )
        container.media_id = media_id
        container.status_code = "FINISHED"
        container.status = "Finished: Media has been uploaded and it is ready to be published."


def container_fields(container: Container) -> Response:
    if (
        container.status_code in ("IN_PROGRESS", "FINISHED")
        and time.time() - container.created_at > CONTAINER_TTL_SECONDS
    ):
        container.status_code = "EXPIRED"
        container.status = "Expired: the container was not published within 24 hours."
    return json_response(
        {
            "id": container.container_id,
            "status_code": container.status_code,
            "status": container.status,
        }
    )


def _quota_usage(account: Account) -> int:
    cutoff = time.time() - INSTAGRAM_QUOTA_SECONDS
    return sum(
        1 for p in fake_state().posts_of("instagram", account.account_id) if p.created_at >= cutoff
    )


def ig_media_publish(account: Account) -> Response:
    state = fake_state()
    creation_id = request.values.get("creation_id", "")
    with state.lock:
        container = state.containers.get(creation_id)
        if container is None or container.account_id != account.account_id:
            return graph_error(f"(#100) Invalid creation_id {creation_id}", CODE_INVALID_PARAMETER)
        if container.status_code == "IN_PROGRESS":
            return graph_error(
                "The media is not ready for publishing, please wait for a moment",
                9007,
                subcode=SUBCODE_IG_NOT_READY,
            )
        if container.status_code != "FINISHED":
            return graph_error(
                f"(#100) The container is {container.status_code} and cannot be published",
                CODE_INVALID_PARAMETER,
            )
        if _quota_usage(account) >= account.quota_total:
            return graph_error(
                "Application request limit reached",
                CODE_IG_PUBLISH_LIMIT,
                status=403,
                subcode=SUBCODE_IG_PUBLISH_LIMIT,
                error_user_msg="You have reached the maximum number of posts allowed in 24 hours.",
            )
        post_id = state.new_id()
        state.add_post(
            Post(
                post_id=post_id,
                platform="instagram",
                account_id=account.account_id,
                text=container.caption,
                created_at=time.time(),
                received_at=g.received_at,
                permalink=post_page_url(post_id),
                media_ids=[container.media_id] if container.media_id else [],
            )
        )
        container.status_code = "PUBLISHED"
        container.status = "Published"
        container.published_id = post_id
    return json_response({"id": post_id})


def ig_publishing_limit(account: Account) -> Response:
    with fake_state().lock:
        usage = _quota_usage(account)
    return json_response(
        {
            "data": [
                {
                    "quota_usage": usage,
                    "config": {
                        "quota_total": account.quota_total,
                        "quota_duration": INSTAGRAM_QUOTA_SECONDS,
                    },
                }
            ]
        }
    )


def ig_media_get(account: Account) -> Response:
    return edge_page(
        fake_state().posts_of("instagram", account.account_id),
        lambda p: {
            "id": p.post_id,
            "caption": p.text,
            "media_type": "IMAGE",
            "timestamp": graph_time(p.created_at),
            "permalink": p.permalink,
        },
    )

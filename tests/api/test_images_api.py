"""Images through the API (issue 17): uploaded as multipart with their alt text, checked as
the post form checks them (gateway.posts.images: the bytes decide what a file is, SVG or HTML
named .png is refused, the size limit holds, EXIF is gone), attached to the post as an edit,
read back, and taken off."""

from __future__ import annotations

import io
import json
import os

import pytest
from PIL import Image
from sqlalchemy import select

from gateway.extensions import db
from gateway.models import AuditEntry, Post, PostImage
from gateway.posts import images as image_store
from tests.api.conftest import new_post

GPS_TAG = 0x8825


def png_bytes(size=(40, 30), color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    img = Image.new("RGB", (64, 48), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "Council camera"  # Make
    exif[GPS_TAG] = {1: "N", 2: (51.0, 30.0, 0.0)}
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    return out.getvalue()


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<script>alert(document.cookie)</script></svg>"
)
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"


def upload(
    api,
    people,
    post,
    data,
    *,
    name="photo.png",
    alt="A gritter on Station Road",
    key="a",
    etag=None,
    content_type="image/png",
    **extra,
):
    fields = {"file": (io.BytesIO(data), name, content_type), **extra}
    if alt is not None:
        fields["alt_text"] = alt
    headers = people.headers(key, **{"If-Match": etag or post.headers["ETag"]})
    return api.post(
        f"/api/v1/posts/{post.get_json()['id']}/images",
        data=fields,
        headers=headers,
        content_type="multipart/form-data",
    )


def test_an_image_with_alt_text_is_added_and_read_back_without_its_metadata(
    app, api, people, channels
):
    post = new_post(api, people, channel_ids=[channels["x"]])
    added = upload(
        api, people, post, jpeg_with_gps(), name="gritter.jpg", content_type="image/jpeg"
    )
    assert added.status_code == 201, added.get_data(as_text=True)
    body = added.get_json()
    (image,) = body["images"]
    assert image["alt_text"] == "A gritter on Station Road"
    assert image["content_type"] == "image/jpeg" and image["filename"] == "gritter.jpg"
    assert added.headers["Location"].endswith(image["url"])
    assert added.headers["ETag"] != post.headers["ETag"]
    served = api.get(image["url"], headers=people.headers("b"))
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(served.data)) as stored:
        assert stored.size == (64, 48)
        assert GPS_TAG not in stored.getexif() and 0x010F not in stored.getexif()
    # It is an edit of the post, on the record, by its holder.
    with app.app_context():
        edits = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "post.edited")
        ).all()
        assert len(edits) == 1 and str(edits[0].object_id) == str(body["id"])
    # The post page shows the same image.
    page = people.signed_in("a").get(f"/posts/{body['id']}")
    assert "A gritter on Station Road" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "name", "content_type"),
    [
        (SVG, "logo.png", "image/png"),
        (HTML, "photo.jpg", "image/jpeg"),
        (b"", "empty.png", "image/png"),
    ],
)
def test_something_that_is_not_an_image_is_refused_whatever_it_is_called(
    app, api, people, channels, data, name, content_type
):
    post = new_post(api, people, channel_ids=[channels["x"]])
    refused = upload(api, people, post, data, name=name, content_type=content_type)
    assert refused.status_code == 422, refused.get_data(as_text=True)
    problem = refused.get_json()
    assert problem["errors"][0]["pointer"] == "/file"
    assert name in problem["detail"]
    with app.app_context():
        assert db.session.scalar(select(PostImage)) is None
        assert db.session.get(Post, post.get_json()["id"]).version == 1


def test_an_image_over_the_size_limit_is_refused(app, api, people, channels, monkeypatch):
    monkeypatch.setattr(image_store, "MAX_IMAGE_BYTES", 1024)
    post = new_post(api, people, channel_ids=[channels["x"]])
    noisy = Image.frombytes("RGB", (100, 100), os.urandom(30_000))  # does not compress
    out = io.BytesIO()
    noisy.save(out, format="PNG")
    assert len(out.getvalue()) > 1024
    refused = upload(api, people, post, out.getvalue())
    assert refused.status_code == 422
    assert "larger than" in refused.get_json()["detail"]


def test_alt_text_is_required(app, api, people, channels):
    post = new_post(api, people, channel_ids=[channels["x"]])
    refused = upload(api, people, post, png_bytes(), alt=None)
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["pointer"] == "/alt_text"
    blank = upload(api, people, post, png_bytes(), alt="   ")
    assert blank.status_code == 422
    assert "alt text" in blank.get_json()["detail"]


def test_only_the_holder_adds_images_with_a_current_etag(app, api, people, channels):
    post = new_post(api, people, channel_ids=[channels["x"]])
    assert upload(api, people, post, png_bytes(), key="b").status_code == 403
    for role in ("auditor", "mo", "admin"):
        assert upload(api, people, post, png_bytes(), key=role).status_code == 403, role
    first = upload(api, people, post, png_bytes())
    assert first.status_code == 201
    stale = upload(api, people, post, png_bytes((5, 5)))  # the first ETag again
    assert stale.status_code == 412
    no_etag = api.post(
        f"/api/v1/posts/{post.get_json()['id']}/images",
        data={"file": (io.BytesIO(png_bytes()), "a.png"), "alt_text": "A map"},
        headers=people.headers("a"),
        content_type="multipart/form-data",
    )
    assert no_etag.status_code == 428


def test_a_form_post_is_still_refused_elsewhere(api, people, channels):
    refused = api.post(
        "/api/v1/posts",
        data={"file": (io.BytesIO(png_bytes()), "a.png"), "text": "x"},
        headers=people.headers("a"),
        content_type="multipart/form-data",
    )
    assert refused.status_code == 415


def test_at_most_four_images_then_one_is_removed(app, api, people, channels):
    post = new_post(api, people, channel_ids=[channels["x"]])
    etag = post.headers["ETag"]
    for n in range(4):
        added = upload(api, people, post, png_bytes((10 + n, 10)), etag=etag, alt=f"Map {n}")
        assert added.status_code == 201, added.get_data(as_text=True)
        etag = added.headers["ETag"]
    fifth = upload(api, people, post, png_bytes((99, 10)), etag=etag)
    assert fifth.status_code == 422 and "at most 4" in fifth.get_json()["detail"]
    images = added.get_json()["images"]
    assert [i["alt_text"] for i in images] == [f"Map {n}" for n in range(4)]
    post_id = post.get_json()["id"]
    removed = api.delete(
        f"/api/v1/posts/{post_id}/images/{images[1]['id']}",
        headers=people.headers("a", **{"If-Match": etag}),
    )
    assert removed.status_code == 200
    assert [i["alt_text"] for i in removed.get_json()["images"]] == ["Map 0", "Map 2", "Map 3"]
    gone = api.get(images[1]["url"], headers=people.headers("a"))
    assert gone.status_code == 404 and gone.content_type == "application/problem+json"


def test_adding_an_image_sends_a_submitted_post_back_to_draft(app, api, people, channels):
    post = new_post(api, people, channel_ids=[channels["x"]])
    post_id = post.get_json()["id"]
    submitted = api.post(f"/api/v1/posts/{post_id}/submit", headers=people.headers("a"))
    assert submitted.get_json()["status"] == "awaiting_approval"
    added = upload(api, people, post, png_bytes(), etag=submitted.headers["ETag"])
    assert added.status_code == 201
    assert added.get_json()["status"] == "draft"


def test_a_retried_upload_with_its_idempotency_key_adds_one_image(app, api, people, channels):
    post = new_post(api, people, channel_ids=[channels["x"]])
    data = png_bytes()
    answers = [
        api.post(
            f"/api/v1/posts/{post.get_json()['id']}/images",
            data={"file": (io.BytesIO(data), "a.png", "image/png"), "alt_text": "A map"},
            headers=people.headers(
                "a", **{"If-Match": post.headers["ETag"], "Idempotency-Key": "upload-1"}
            ),
            content_type="multipart/form-data",
        )
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[1].headers.get("Idempotent-Replayed") == "true"
    assert json.loads(answers[0].data) == json.loads(answers[1].data)
    with app.app_context():
        assert len(db.session.scalars(select(PostImage)).all()) == 1

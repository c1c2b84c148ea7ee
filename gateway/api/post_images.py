"""A post's images in the JSON API (issue 17): upload one with its alt text (multipart), read
it back, take it off.

The upload goes through the same service function as the post form's images
(gateway.posts.service, which checks them with gateway.posts.images: the bytes are sniffed by
Pillow, whatever the name or the Content-Type say, so an SVG or an HTML page named .png is
refused; the size and pixel limits; then re-encoded without EXIF). Adding or removing an image
is an edit of the post: only its holder does it, with the post's ETag as If-Match, and a post
awaiting approval goes back to draft, as on the edit page.
"""

from __future__ import annotations

from typing import Annotated, Any

from flask import abort, request, url_for
from flask_login import current_user
from markupsafe import escape
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from werkzeug.datastructures import FileStorage

from gateway.api import problems, schemas
from gateway.api.auth import takes_upload
from gateway.api.scopes import needs
from gateway.api.spec import api, responses
from gateway.api.views import (
    POSTS,
    IdempotentIfMatch,
    IfMatch,
    answer,
    bp,
    check_if_match,
    forbidden,
    post_or_404,
    refuse,
)
from gateway.extensions import db
from gateway.models import PostImage
from gateway.posts import images as image_store
from gateway.posts import permissions, service
from gateway.posts.service import MAX_ALT_CHARS, NewImage, PostError
from gateway.security import requires, signed_in

#: How an uploaded file appears in the document: binary, in a multipart part.
Upload = Annotated[Any, WithJsonSchema({"type": "string", "format": "binary"})]
#: What a service error's field is called in the upload's form.
UPLOAD_POINTERS = {"images": "/file", "alt_text": "/alt_text", "alt_text_cy": "/alt_text_cy"}


class UploadedFile:
    """An uploaded file part. Spectree writes a refused request's errors, their input
    included, as JSON before our hook turns them into a problem (gateway.api.spec._refused):
    a bare FileStorage cannot be written, this can (Flask's JSON writes ``__html__``)."""

    def __init__(self, storage: FileStorage) -> None:
        self.storage = storage

    def __html__(self) -> str:
        return str(escape(self.storage.filename or "file"))


class ImageUpload(BaseModel):
    """The multipart/form-data parts of an upload."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    file: Upload = Field(
        description="A JPEG, PNG or GIF of at most "
        f"{image_store.MAX_IMAGE_BYTES // (1024 * 1024)} MB and "
        f"{image_store.MAX_PIXELS:,} pixels. What it is is read from its bytes."
    )
    alt_text: str = Field(
        min_length=1,
        max_length=MAX_ALT_CHARS,
        description="Describe the image for someone who cannot see it (required); on a "
        "bilingual post, in English.",
    )
    alt_text_cy: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_ALT_CHARS,
        description="The Welsh alt text: required on a bilingual post.",
    )

    @model_validator(mode="before")
    @classmethod
    def _wrap_files(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {
                k: UploadedFile(v) if isinstance(v, FileStorage) else v for k, v in data.items()
            }
        return data

    @field_validator("file")
    @classmethod
    def _a_file(cls, value: Any) -> Any:
        if not isinstance(value, UploadedFile):
            raise ValueError("send the image as a file part named file")
        return value


def _image_or_404(post, image_id: int) -> PostImage:  # noqa: ANN001
    image = db.session.get(PostImage, image_id) if image_id <= schemas.MAX_ID else None
    if image is None or image.post_id != post.id:
        abort(problems.problem(404, f"Post {post.id} has no image {image_id}."))
    return image


def _upload_refused(exc: PostError):
    if exc.field in UPLOAD_POINTERS:
        return problems.problem(
            422,
            exc.message,
            slug="validation",
            errors=[{"pointer": UPLOAD_POINTERS[exc.field], "detail": exc.message}],
        )
    return refuse(exc)


@bp.post("/posts/<int:post_id>/images")
@needs("posts:write")
@takes_upload
@requires(*permissions.WRITE)
@api.validate(
    form=ImageUpload,
    headers=IdempotentIfMatch,
    resp=responses(201, schemas.PostOut, 404, 409, 412, 413, 428),
    tags=[POSTS],
    operation_id="addPostImage",
)
def post_image_add(post_id: int):
    """Add an image with its alt text to a post (multipart/form-data: the parts file,
    alt_text and, on a bilingual post, alt_text_cy), after its other images (at most
    four). It is an edit: If-Match is required, and a post awaiting approval goes back to
    draft. The answer is the post, with the image in its images; Location is the image."""
    post = post_or_404(post_id)
    form: ImageUpload | None = request.context.form
    if form is None:
        return problems.problem(
            415, "Send the image as multipart/form-data, with the parts file and alt_text."
        )
    refused = check_if_match(post, required=True)
    if refused is not None:
        return refused
    try:
        service.check_holder(post, current_user, "edit")
    except PostError as exc:
        return forbidden(exc.message)
    upload: FileStorage = form.file.storage
    new = NewImage(
        filename=(upload.filename or "image")[:255],
        content_type=upload.mimetype or "",
        data=upload.read(image_store.MAX_IMAGE_BYTES + 1),
        alt_text=form.alt_text,
        alt_text_cy=form.alt_text_cy,
    )
    try:
        image = service.add_image(post, current_user, new, expected_version=post.version)
        db.session.commit()
    except PostError as exc:
        db.session.rollback()
        return _upload_refused(exc)
    return answer(post, 201, location=url_for("api.post_image", post_id=post.id, image_id=image.id))


@bp.get("/posts/<int:post_id>/images/<int:image_id>")
@needs("posts:read")
@signed_in
@api.validate(resp=responses(200, None, 404), tags=[POSTS], operation_id="readPostImage")
def post_image(post_id: int, image_id: int):
    """The image itself, as stored and as it will be published (JPEG, PNG or GIF), for
    everyone signed in, as on the post page."""
    image = _image_or_404(post_or_404(post_id), image_id)
    try:
        data = image_store.load(image.storage_key)
    except (image_store.ImageError, OSError):
        return problems.problem(404, f"Image {image_id}'s file is missing.")
    return data, 200, {"Content-Type": image.content_type, "Cache-Control": "private, max-age=300"}


@bp.delete("/posts/<int:post_id>/images/<int:image_id>")
@needs("posts:write")
@requires(*permissions.WRITE)
@api.validate(
    headers=IfMatch,
    resp=responses(200, schemas.PostOut, 404, 409, 412, 428),
    tags=[POSTS],
    operation_id="removePostImage",
)
def post_image_remove(post_id: int, image_id: int):
    """Take an image off a post: an edit (If-Match required), as adding one is."""
    post = post_or_404(post_id)
    _image_or_404(post, image_id)
    refused = check_if_match(post, required=True)
    if refused is not None:
        return refused
    try:
        service.check_holder(post, current_user, "edit")
    except PostError as exc:
        return forbidden(exc.message)
    try:
        service.remove_image(post, current_user, image_id, expected_version=post.version)
        db.session.commit()
    except PostError as exc:
        db.session.rollback()
        return refuse(exc)
    return answer(post)

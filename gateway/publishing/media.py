"""Approved images at unguessable, expiring URLs, for platforms that fetch them (Instagram)."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, abort, current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from gateway.extensions import db
from gateway.models import PostImage
from gateway.posts import images as image_store
from gateway.publishing.release import post_is_live
from gateway.security import public

#: Long enough for a platform to fetch the image during a slow publish, short enough that a
#: leaked link stops working the same day.
MEDIA_URL_MAX_AGE_SECONDS = 6 * 3600
_SALT = "gateway-media-url"

bp = Blueprint("media", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def media_url(image: PostImage, rendition: image_store.Rendition | None = None) -> str:
    """The image's signed URL; with ``rendition``, that platform's rendition of it (issue 22),
    named in the signed token so nobody can ask for another file."""
    claims = {"i": image.id, "h": image.sha256}
    if rendition is not None and rendition.sha256 != image.sha256:
        claims.update(r=rendition.sha256, t=rendition.content_type)
    token = _serializer().dumps(claims)
    return f"{current_app.config['PUBLIC_URL']}/media/{token}"


@bp.get("/media/<token>")
@public  # the platform fetches it without signing in: the signed, expiring token is the key
def serve(token: str):
    try:
        data = _serializer().loads(token, max_age=MEDIA_URL_MAX_AGE_SECONDS)
    except SignatureExpired:
        abort(410)
    except BadSignature:
        abort(404)
    image = db.session.get(PostImage, data.get("i"))
    # Only images of posts on their way out: a draft's images are not published anywhere.
    if image is None or image.sha256 != data.get("h") or not post_is_live(image.post.status):
        abort(404)
    key, content_type = data.get("r") or image.storage_key, data.get("t") or image.content_type
    try:
        body = image_store.load(key)
    except (image_store.ImageError, FileNotFoundError):
        abort(404)
    response = Response(body, mimetype=content_type)
    response.headers["Cache-Control"] = "private, max-age=300"
    return response

"""Uploaded images are re-encoded without their metadata: no GPS position, camera or other
EXIF reaches the store or the platform; the picture is turned upright first (issue #20)."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import requests
from PIL import ExifTags, Image
from sqlalchemy import select

from gateway.extensions import db
from gateway.models import PostImage
from gateway.posts.service import NewImage
from tests.publishing.conftest import approved_post, post_status
from workers.worker import build_worker

#: Where the photo was taken: the kind of personal data a phone writes into every picture.
GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (51.0, 30.0, 26.0),
    ExifTags.GPS.GPSLongitudeRef: "W",
    ExifTags.GPS.GPSLongitude: (0.0, 7.0, 39.0),
}


def jpeg_with_gps() -> bytes:
    """A 64x32 photo, stored sideways with an EXIF orientation, a GPS position and a camera."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # "rotate 90 degrees clockwise to view"
    exif[ExifTags.Base.Model] = "Council Phone 12"
    exif[ExifTags.IFD.GPSInfo] = GPS
    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), (200, 40, 40)).save(
        buffer, format="JPEG", exif=exif.tobytes(), comment=b"taken at 12 Acacia Avenue"
    )
    data = buffer.getvalue()
    with Image.open(io.BytesIO(data)) as check:  # the test photo really carries all of it
        assert check.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    return data


def _assert_no_metadata(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG"
        assert dict(img.getexif()) == {}
        assert "exif" not in img.info and "comment" not in img.info
        assert img.size == (32, 64)  # turned upright, as the orientation said
    assert b"Exif" not in data
    assert b"Council Phone" not in data and b"Acacia" not in data


def test_gps_exif_is_gone_from_the_stored_and_the_published_image(
    app, clock, fake, channels, officers
):
    image = NewImage("photo.jpg", "image/jpeg", jpeg_with_gps(), "A red square")
    post_id = approved_post(app, officers, [channels["x"]], images=[image])
    with app.app_context():
        row = db.session.scalars(select(PostImage).where(PostImage.post_id == post_id)).one()
        stored = Path(app.instance_path) / "images" / row.storage_key
    _assert_no_metadata(stored.read_bytes())
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700

    build_worker(app).work(burst=True)
    assert post_status(app, post_id) == "published"
    [post] = fake.posts("x")
    [media] = post["media"]
    published = requests.get(media["url"], timeout=5).content
    _assert_no_metadata(published)
    assert media["sha256"] == row.sha256  # what was approved is what went out


def test_a_png_keeps_its_transparency_but_not_its_text(app):
    from gateway.posts import images

    buffer = io.BytesIO()
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "home address")
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(buffer, format="PNG", pnginfo=info)
    cleaned = images.clean_image(buffer.getvalue(), "clear.png")
    assert b"home address" not in cleaned.data
    with Image.open(io.BytesIO(cleaned.data)) as img:
        assert img.mode == "RGBA" and img.getpixel((0, 0))[3] == 0


def test_an_animated_gif_keeps_its_frames(app):
    from gateway.posts import images

    frames = [
        Image.new("RGB", (8, 8), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))
    ]
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=120,
        loop=0,
        comment=b"secret",
    )
    cleaned = images.clean_image(buffer.getvalue(), "wave.gif")
    assert b"secret" not in cleaned.data
    with Image.open(io.BytesIO(cleaned.data)) as img:
        assert img.n_frames == 3

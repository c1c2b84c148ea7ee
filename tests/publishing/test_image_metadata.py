"""Uploaded images are re-encoded without their metadata: no GPS position, camera or other
EXIF reaches the store or the platform; the picture is turned upright first (issue #20)."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
import requests
from PIL import ExifTags, Image
from sqlalchemy import select

from gateway.extensions import db
from gateway.models import PostImage
from gateway.posts.service import NewImage
from tests.publishing.conftest import approved_post, deliveries, post_status
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


def png_with_exif(size: tuple[int, int]) -> bytes:
    """A transparent-cornered PNG carrying an eXIf chunk with a GPS position and a text chunk."""
    from PIL import PngImagePlugin

    exif = Image.Exif()
    exif[ExifTags.Base.Model] = "Council Phone 12"
    exif[ExifTags.IFD.GPSInfo] = GPS
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at 12 Acacia Avenue")
    picture = Image.new("RGBA", size, (30, 90, 200, 255))
    picture.putpixel((0, 0), (0, 0, 0, 0))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", exif=exif.tobytes(), pnginfo=info)
    data = buffer.getvalue()
    with Image.open(io.BytesIO(data)) as check:  # the test picture really carries it
        assert check.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    return data


def test_a_png_reaches_instagram_as_a_jpeg_scaled_once_without_exif(
    app, clock, fake, channels, officers, gateway_server
):
    # Issue 22: the form takes PNG, and Instagram publishing takes only JPEG, at most 1440 px
    # wide. The gateway converts it when publishing; the original stays as it was stored.
    image = NewImage("flood-map.png", "image/png", png_with_exif((2000, 1600)), "Flood map")
    post_id = approved_post(app, officers, [channels["instagram"]], images=[image])
    with app.app_context():
        row = db.session.scalars(select(PostImage).where(PostImage.post_id == post_id)).one()
        assert row.content_type == "image/png"
        stored = Path(app.instance_path) / "images" / row.storage_key
    original = stored.read_bytes()

    build_worker(app).work(burst=True)
    assert post_status(app, post_id) == "published", deliveries(app, post_id)
    [post] = fake.posts("instagram")
    [media] = post["media"]
    received = requests.get(media["url"], timeout=5).content  # the bytes Instagram fetched
    with Image.open(io.BytesIO(received)) as img:
        assert img.format == "JPEG"
        assert img.size == (1440, 1152)  # 2000x1600 scaled to 1440 wide, its shape kept
        assert dict(img.getexif()) == {} and "exif" not in img.info
        assert img.getpixel((700, 500)) == pytest.approx((30, 90, 200), abs=3)
    assert b"Exif" not in received and b"Council Phone" not in received
    assert b"Acacia" not in received

    # The original is kept, untouched: each rendition is made from it, never from another.
    assert stored.read_bytes() == original
    with Image.open(stored) as kept:
        assert kept.format == "PNG" and kept.size == (2000, 1600)


def test_each_platform_gets_one_rendition_from_the_original(app):
    from gateway.posts import images

    original = images.clean_image(png_with_exif((5000, 2500)), "wide.png").data
    x = images.for_platform(original, "x")
    facebook = images.for_platform(original, "facebook")
    instagram = images.for_platform(original, "instagram")
    assert (x.content_type, x.width, x.height) == ("image/png", 4096, 2048)
    assert (facebook.content_type, facebook.width) == ("image/png", 2048)
    assert (instagram.content_type, instagram.width, instagram.height) == (
        "image/jpeg",
        1440,
        720,
    )
    # Made again, it is the same bytes: a rendition is never made from another one.
    assert images.for_platform(original, "instagram") == instagram
    # An image that already fits goes as it is, so what was approved is what went out.
    small = images.clean_image(jpeg_with_gps(), "photo.jpg").data
    assert images.for_platform(small, "instagram").data == small

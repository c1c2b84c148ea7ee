"""Images: checked on upload, re-encoded without their metadata, stored in the instance folder
under the SHA-256 of the re-encoded bytes (readable by the gateway's own user only).

When a post is published each platform gets its own rendition of the stored original
(:func:`for_platform`): converted to a format it takes (Instagram: JPEG only) and resized to its
limits, always from the original, never from another rendition, so nothing is downscaled twice
(issue 22). The original stays as it was stored; a rendition is stored beside it under its own
hash, and carries no metadata either."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

#: Formats an officer may upload; each platform gets one it takes when published (for_platform).
ALLOWED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif"}
#: Facebook's photo limit is 10 MB and X's 5 MB; the guardrails report per platform.
MAX_IMAGE_BYTES = 10 * 1024 * 1024
#: Decompression bombs: refuse anything that would decode to more pixels than this.
MAX_PIXELS = 40_000_000
#: JPEG quality of the re-encoded image: visually the same as a camera's, and smaller.
JPEG_QUALITY = 90
#: The only metadata a re-encoded image keeps: what it needs to look the same (transparency,
#: and an animated GIF's timing). EXIF (GPS positions, camera serial numbers), XMP, ICC
#: profiles and comments are dropped: they are personal data a post must not carry (issue #20).
KEPT_INFO = ("transparency", "duration", "loop", "background")


class ImageError(ValueError):
    pass


@dataclass(frozen=True)
class CheckedImage:
    sha256: str
    content_type: str
    size_bytes: int
    width: int
    height: int
    #: The bytes to store and publish: re-encoded by :func:`clean_image`; as uploaded when
    #: only inspected.
    data: bytes = b""


def inspect_image(data: bytes, filename: str) -> CheckedImage:
    """What the bytes really are, whatever the file name or the browser says."""
    if not data:
        raise ImageError(f"{filename} is empty.")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(f"{filename} is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB.")
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, (width, height) = img.format, img.size
            if width * height > MAX_PIXELS:
                raise ImageError(f"{filename} has too many pixels.")
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise ImageError(f"{filename} is not an image (JPEG, PNG or GIF).") from None
    if fmt not in ALLOWED_FORMATS:
        raise ImageError(f"{filename} is a {fmt} image: use JPEG, PNG or GIF.")
    return CheckedImage(
        sha256=hashlib.sha256(data).hexdigest(),
        content_type=ALLOWED_FORMATS[fmt],
        size_bytes=len(data),
        width=width,
        height=height,
        data=data,
    )


def clean_image(data: bytes, filename: str) -> CheckedImage:
    """The image checked, turned upright (its EXIF orientation applied) and re-encoded in its
    own format with none of its metadata: what is stored, hashed and published."""
    checked = inspect_image(data, filename)
    try:
        with Image.open(io.BytesIO(data)) as img:
            cleaned, (width, height) = _reencode(img)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ImageError(f"{filename} is not an image (JPEG, PNG or GIF).") from None
    return CheckedImage(
        sha256=hashlib.sha256(cleaned).hexdigest(),
        content_type=checked.content_type,
        size_bytes=len(cleaned),
        width=width,
        height=height,
        data=cleaned,
    )


def _bare(frame: Image.Image) -> Image.Image:
    """A copy of ``frame`` with only the metadata in KEPT_INFO."""
    copy = frame.copy()
    copy.info = {k: v for k, v in frame.info.items() if k in KEPT_INFO}
    return copy


def _reencode(img: Image.Image) -> tuple[bytes, tuple[int, int]]:
    fmt = img.format
    out = io.BytesIO()
    if fmt == "GIF" and getattr(img, "n_frames", 1) > 1:
        # X publishes animated GIFs: keep every frame and its timing.
        frames = [_bare(frame) for frame in ImageSequence.Iterator(img)]
        durations = [frame.info.get("duration", 100) for frame in frames]
        frames[0].save(
            out,
            format="GIF",
            save_all=True,
            append_images=frames[1:],
            duration=durations,
            loop=img.info.get("loop", 0),
            disposal=2,
        )
        return out.getvalue(), frames[0].size
    upright = _bare(ImageOps.exif_transpose(img) or img)
    if fmt == "JPEG":
        if upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGB")
        upright.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    elif fmt == "PNG":
        upright.save(out, format="PNG", optimize=True)
    else:
        upright.save(out, format="GIF")
    return out.getvalue(), upright.size


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "images"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)  # mkdir's mode is masked by the umask, and an old folder keeps its own
    return folder


def store(data: bytes, sha256: str) -> str:
    """Write once under the hash (content-addressed: the same image is stored once), readable
    by the gateway's own user only, whatever the umask."""
    write_once(_folder(), data, sha256)
    return sha256


def write_once(folder: Path, data: bytes, sha256: str) -> None:
    """Put ``data`` at ``folder/sha256`` unless it is there. Each writer has a temporary file
    of its own (mkstemp: mode 0600, a unique name) and renames it into place, so several
    processes storing the same new image at once each put a whole copy there and none fails
    (issue 19: one shared temporary name let one rename take another's file)."""
    path = folder / sha256
    if path.exists():
        return
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{sha256}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def load(storage_key: str) -> bytes:
    if not all(c in "0123456789abcdef" for c in storage_key) or len(storage_key) != 64:
        raise ImageError("bad image key")
    return (_folder() / storage_key).read_bytes()


@dataclass(frozen=True)
class PlatformImageLimits:
    """What a platform's publishing API takes, from its developer documentation."""

    #: Pillow formats it takes as they are; anything else is converted to JPEG.
    formats: frozenset[str]
    #: The longest side it keeps, in pixels: a larger image is scaled down to it.
    max_side: int
    max_bytes: int


#: X: JPEG, PNG, GIF up to 5 MB ("media upload" best practices), shown at most 4096 px a side.
#: Facebook Pages: photos up to 10 MB, shown at most 2048 px a side. Instagram's Content
#: Publishing API: JPEG only, at most 8 MB, and it stores at most 1440 px wide. Bluesky
#: (issue 21): a PDS may take 5 MB blobs, but bsky.social's AppView shows none over 1,000,000
#: bytes (~976 KB), so the gateway keeps under that itself; its app scales to 2000 px a side.
#: An animated GIF is shown still on Bluesky, so it goes as a JPEG of its first frame.
PLATFORM_LIMITS: dict[str, PlatformImageLimits] = {
    "x": PlatformImageLimits(frozenset({"JPEG", "PNG", "GIF"}), 4096, 5 * 1024 * 1024),
    "facebook": PlatformImageLimits(frozenset({"JPEG", "PNG", "GIF"}), 2048, 10 * 1024 * 1024),
    "instagram": PlatformImageLimits(frozenset({"JPEG"}), 1440, 8 * 1024 * 1024),
    "bluesky": PlatformImageLimits(frozenset({"JPEG", "PNG"}), 2000, 1_000_000),
    # Mastodon: a stock instance takes images up to 16 MB and scales them to about 8.3
    # megapixels itself; 8 MB and 3840 px keep well inside every instance's settings.
    "mastodon": PlatformImageLimits(frozenset({"JPEG", "PNG", "GIF"}), 3840, 8 * 1024 * 1024),
}
#: Lower JPEG qualities tried, from the same resized picture, when a rendition is still over
#: the platform's size limit at JPEG_QUALITY.
FALLBACK_QUALITIES = (80, 70, 60)
#: When even the lowest quality is over the size limit (a detailed photo under Bluesky's
#: 1,000,000 bytes), the original is scaled again to this share of the last side tried: still
#: one resize of the original each time, never a rendition scaled again (postiz-app#443).
SMALLER_SIDE_SHARE = 0.8
#: Below this longest side the picture is not scaled further (it goes as it is, and the
#: platform's adapter refuses it if it is still too big).
MIN_SIDE = 320
#: What shows through a transparent PNG or GIF once it is a JPEG (which has no transparency):
#: white, as the platforms' own pages are.
JPEG_BACKGROUND = (255, 255, 255)


@dataclass(frozen=True)
class Rendition:
    data: bytes
    content_type: str
    sha256: str
    width: int
    height: int


def for_platform(original: bytes, platform: str) -> Rendition:
    """The stored original as ``platform`` takes it: as it is when it already fits, otherwise
    converted to JPEG and/or scaled down once, from the original, to the platform's limits.
    An animated GIF a platform takes is sent as it is (re-encoding its frames would lose
    them); to Instagram it goes as its first frame."""
    limits = PLATFORM_LIMITS[platform]
    with Image.open(io.BytesIO(original)) as img:
        fmt, (width, height) = img.format, img.size
        animated = getattr(img, "n_frames", 1) > 1
        fits = (
            fmt in limits.formats
            and max(width, height) <= limits.max_side
            and len(original) <= limits.max_bytes
        )
        if fits or (animated and fmt in limits.formats):
            return Rendition(
                original, ALLOWED_FORMATS[fmt], hashlib.sha256(original).hexdigest(), width, height
            )
        img.seek(0)
        original_picture = _bare(img)
    # A PNG or still GIF the platform takes that is only too large is scaled in its own format.
    keep = fmt if fmt in limits.formats else "JPEG"
    side = limits.max_side
    while True:
        picture = original_picture.copy()
        picture.thumbnail((side, side), Image.Resampling.LANCZOS)
        data = _encode(picture, keep)
        if len(data) > limits.max_bytes and keep != "JPEG":
            keep, data = "JPEG", _encode(picture, "JPEG")  # a PNG too heavy even when scaled
        for quality in FALLBACK_QUALITIES:
            if len(data) <= limits.max_bytes:
                break
            data = _encode(picture, "JPEG", quality)
        if len(data) <= limits.max_bytes or max(picture.size) <= MIN_SIDE:
            break
        side = max(MIN_SIDE, int(max(picture.size) * SMALLER_SIDE_SHARE))
    return Rendition(
        data,
        ALLOWED_FORMATS[keep],
        hashlib.sha256(data).hexdigest(),
        picture.width,
        picture.height,
    )


def _encode(picture: Image.Image, fmt: str, quality: int = JPEG_QUALITY) -> bytes:
    """``picture`` in ``fmt`` with no metadata (none is passed to the encoder)."""
    out = io.BytesIO()
    if fmt == "JPEG":
        if picture.mode in ("RGBA", "LA", "PA") or (
            picture.mode == "P" and "transparency" in picture.info
        ):
            rgba = picture.convert("RGBA")
            flat = Image.new("RGB", rgba.size, JPEG_BACKGROUND)
            flat.paste(rgba, mask=rgba.getchannel("A"))
            picture = flat
        elif picture.mode not in ("RGB", "L"):
            picture = picture.convert("RGB")
        picture.save(out, format="JPEG", quality=quality, optimize=True)
    elif fmt == "PNG":
        picture.save(out, format="PNG", optimize=True)
    else:
        picture.save(out, format="GIF")
    return out.getvalue()

"""Images: checked on upload, re-encoded without their metadata, stored in the instance folder
under the SHA-256 of the re-encoded bytes (readable by the gateway's own user only)."""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

#: Formats every platform we publish to accepts (Instagram only JPEG: the guardrails say so).
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
    path = _folder() / sha256
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
        tmp.replace(path)
    return sha256


def load(storage_key: str) -> bytes:
    if not all(c in "0123456789abcdef" for c in storage_key) or len(storage_key) != 64:
        raise ImageError("bad image key")
    return (_folder() / storage_key).read_bytes()

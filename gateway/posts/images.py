"""Images: checked on upload, stored in the instance folder under their SHA-256."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from PIL import Image, UnidentifiedImageError

#: Formats every platform we publish to accepts (Instagram only JPEG: the guardrails say so).
ALLOWED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif"}
#: Facebook's photo limit is 10 MB and X's 5 MB; the guardrails report per platform.
MAX_IMAGE_BYTES = 10 * 1024 * 1024
#: Decompression bombs: refuse anything that would decode to more pixels than this.
MAX_PIXELS = 40_000_000


class ImageError(ValueError):
    pass


@dataclass(frozen=True)
class CheckedImage:
    sha256: str
    content_type: str
    size_bytes: int
    width: int
    height: int


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
    )


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "images"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def store(data: bytes, sha256: str) -> str:
    """Write once under the hash (content-addressed: the same image is stored once)."""
    path = _folder() / sha256
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return sha256


def load(storage_key: str) -> bytes:
    if not all(c in "0123456789abcdef" for c in storage_key) or len(storage_key) != 64:
        raise ImageError("bad image key")
    return (_folder() / storage_key).read_bytes()

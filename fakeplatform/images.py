"""Tiny image helpers: sniff a format from its magic bytes, and build a real JPEG without Pillow.

The fake platform must refuse "an image that is not an image" the way X, Facebook and Instagram
do, but it has no business decoding pixels: the first bytes of a file say what it claims to be.
"""

from __future__ import annotations

# Magic numbers, from each format's specification (JPEG: ITU T.81 SOI marker; PNG: RFC 2083
# section 3.1 signature; GIF87a/89a header; WebP: a RIFF container with a "WEBP" form type).
_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_GIF_MAGICS = (b"GIF87a", b"GIF89a")


def sniff_image_type(data: bytes) -> str | None:
    """Return the MIME type the bytes really are (not what a header claims), or None."""
    if data.startswith(_JPEG_MAGIC):
        return "image/jpeg"
    if data.startswith(_PNG_MAGIC):
        return "image/png"
    if data.startswith(_GIF_MAGICS):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def tiny_jpeg(shade: int = 0) -> bytes:
    """A valid 8x8 greyscale baseline JPEG (ITU T.81), for tests and the demo.

    One 8x8 block whose DC coefficient is ``shade`` quantisation steps (-7..7) from mid-grey and
    whose AC coefficients are all zero, so different shades give different bytes (and different
    hashes) while every decoder still opens them.
    """
    if not -7 <= shade <= 7:
        raise ValueError("shade must be between -7 and 7")
    soi = b"\xff\xd8"
    # The DC step is 16, so shades differ in their pixels too (and stay different when the
    # gateway decodes and re-encodes an image).
    dqt = b"\xff\xdb\x00\x43\x00" + bytes([16] + [1] * 63)
    sof0 = b"\xff\xc0\x00\x0b\x08\x00\x08\x00\x08\x01\x01\x11\x00"
    # DC table: DC difference categories 0..2 with 2-bit codes (00, 01, 10) and 3 with a 3-bit
    # one (110): a code of all 1-bits is reserved (T.81 C), and libjpeg refuses to decode one.
    dht_dc = b"\xff\xc4\x00\x17\x00" + bytes([0, 3, 1] + [0] * 13) + bytes([0, 1, 2, 3])
    # AC table: one 1-bit code (0) for end-of-block.
    dht_ac = b"\xff\xc4\x00\x14\x10" + bytes([1] + [0] * 15) + bytes([0])
    sos = b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"
    bits = _dc_bits(shade) + "0"  # then the end-of-block code
    bits += "1" * (-len(bits) % 8)  # pad with 1s to a byte boundary (T.81 F.1.2.3)
    scan = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))
    scan = scan.replace(b"\xff", b"\xff\x00")  # byte stuffing
    eoi = b"\xff\xd9"
    return soi + dqt + sof0 + dht_dc + dht_ac + sos + scan + eoi


#: The DC table's Huffman code of each difference category (see tiny_jpeg).
DC_CODES = {0: "00", 1: "01", 2: "10", 3: "110"}


def _dc_bits(value: int) -> str:
    """Huffman code plus magnitude bits of one DC difference (T.81 F.1.2.1)."""
    if value == 0:
        return DC_CODES[0]
    category = abs(value).bit_length()
    code = DC_CODES[category]
    magnitude = value if value > 0 else value + (1 << category) - 1
    return code + format(magnitude, f"0{category}b")

"""Bluesky's limits in the guardrails, the officers' counts and the image renditions (issue 21):
300 graphemes (not bytes or code points), 3,000 bytes, 4 images, alt text on each, and images
scaled by the gateway itself under the 1,000,000 bytes bsky.social shows."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from gateway.domain.guardrails import ImageToCheck, bluesky_length
from gateway.posts import images
from gateway.posts.service import preview
from tests.guardrails.helpers import NO_PERIOD, OUTSIDE, rules, run

FLAG = "\U0001f1ec\U0001f1e7"  # 🇬🇧: two regional indicators
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # 👨‍👩‍👧: five code points, ZWJs
COMBINING = "e\u0301\u0323"  # e, an acute and a dot below: three code points
THUMBS = "\U0001f44d\U0001f3fd"  # 👍🏽: emoji and a skin-tone modifier
WELSH = "ŵ"  # one code point, two bytes


def bluesky(text: str, **post: object):
    return run(text, OUTSIDE, NO_PERIOD, channel="bluesky", **post)


def image(alt: str | None = "The new footbridge over the river at dusk", **kw: object):
    fields = {
        "filename": "bridge.jpg",
        "alt_text": alt,
        "content_type": "image/jpeg",
        "size_bytes": 4 * 1024 * 1024,
        "width": 4000,
        "height": 3000,
    } | kw
    return ImageToCheck(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("piece", "code_points", "utf8_bytes"),
    [(FLAG, 2, 8), (FAMILY, 5, 18), (COMBINING, 3, 5), (THUMBS, 2, 8), (WELSH, 1, 2)],
)
def test_each_grapheme_counts_once_whatever_its_code_points_or_bytes(
    piece: str, code_points: int, utf8_bytes: int
) -> None:
    assert len(piece) == code_points and len(piece.encode()) == utf8_bytes
    assert bluesky_length(piece * 10) == 10
    assert bluesky_length("ab\r\ncd") == 5  # CR LF is one grapheme


# (300 ZWJ families are 5,400 bytes: the byte limit's test below has them.)
@pytest.mark.parametrize("piece", ["a", FLAG, COMBINING, THUMBS, WELSH])
def test_300_graphemes_pass_and_301_are_blocked(piece: str) -> None:
    assert "platform.bluesky.length" not in rules(bluesky(piece * 300))
    findings = bluesky(piece * 301)
    assert "platform.bluesky.length" in rules(findings, "block")
    [finding] = [f for f in findings if f.rule == "platform.bluesky.length"]
    assert "301" in finding.reason


def test_the_same_text_is_within_x_and_facebook_but_counted_as_bluesky_counts_it() -> None:
    # 150 flags: 300 code points, 1,200 bytes, 150 graphemes; X weighs each flag 2.
    text = FLAG * 150
    assert rules(bluesky(text)) & {"platform.bluesky.length"} == set()
    assert preview(text, "bluesky") == {"text": text, "count": 150, "limit": 300, "over": False}
    over = preview("é" * 301, "bluesky")
    assert over["count"] == 301 and over["over"] is True


def test_text_over_3000_bytes_is_blocked_even_under_300_graphemes() -> None:
    # Each family is one grapheme of 18 bytes: 170 of them are 3,060 bytes.
    findings = bluesky(FAMILY * 170)
    [finding] = [f for f in findings if f.rule == "platform.bluesky.length"]
    assert "3,060 bytes" in finding.reason


def test_four_images_pass_and_five_are_blocked() -> None:
    assert "platform.bluesky.images" not in rules(bluesky("Our bridge.", images=(image(),) * 4))
    assert "platform.bluesky.images" in rules(
        bluesky("Our bridge.", images=(image(),) * 5), "block"
    )


@pytest.mark.parametrize("alt", [None, "", "   "])
def test_every_image_needs_alt_text_on_bluesky(alt: str | None) -> None:
    assert "platform.bluesky.alt_text" in rules(
        bluesky("Our bridge.", images=(image(), image(alt))), "block"
    )
    # A big photo does not stop the post: the gateway scales it to Bluesky's limit.
    assert rules(bluesky("Our bridge.", images=(image(),))) == set()


def test_alt_text_over_the_gateways_limit_is_blocked() -> None:
    assert "platform.bluesky.alt_text" in rules(
        bluesky("Our bridge.", images=(image("A footbridge. " * 80),)), "block"
    )


def _noisy_photo(width: int, height: int) -> bytes:
    """A picture JPEG cannot compress much (random noise), as a detailed photo is."""
    rng = random.Random(21)
    picture = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=95)
    return out.getvalue()


def test_a_big_photo_is_scaled_once_from_the_original_to_under_1000000_bytes() -> None:
    original = _noisy_photo(2400, 1800)
    assert len(original) > 3_000_000
    rendition = images.for_platform(original, "bluesky")
    assert len(rendition.data) <= 1_000_000
    assert rendition.content_type == "image/jpeg"
    # The aspect ratio is kept, and the picture is no smaller than it needs to be.
    assert abs(rendition.width / rendition.height - 4 / 3) < 0.01
    assert 320 < max(rendition.width, rendition.height) <= 2000
    # X and Facebook take it larger: each platform's rendition is made from the original.
    assert max(images.for_platform(original, "facebook").width, 0) == 2048


def test_a_small_png_goes_to_bluesky_as_it_is_and_an_animated_gif_as_a_still_jpeg() -> None:
    out = io.BytesIO()
    Image.new("RGB", (200, 100), (10, 120, 200)).save(out, format="PNG")
    png = out.getvalue()
    assert images.for_platform(png, "bluesky").data == png
    frames = [Image.new("RGB", (50, 50), c) for c in ((255, 0, 0), (0, 255, 0))]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    assert images.for_platform(gif.getvalue(), "bluesky").content_type == "image/jpeg"

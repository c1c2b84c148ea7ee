"""Rules 6 (accessibility) and 7 (platform limits)."""

from __future__ import annotations

import pytest

from gateway.domain.guardrails import ImageToCheck, x_weighted_length
from tests.guardrails.helpers import rules, run

MB = 1024 * 1024


def image(
    alt: str | None = "A volunteer planting a tree in the park", **kw: object
) -> ImageToCheck:
    fields = {
        "filename": "IMG_1234.jpg",
        "alt_text": alt,
        "content_type": "image/jpeg",
        "size_bytes": 1 * MB,
        "width": 1080,
        "height": 1080,
    }
    fields.update(kw)
    return ImageToCheck(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "alt", [None, "", "   ", "IMG_1234.jpg", "photo.png", "DSC 0042", "Image", "photo"]
)
def test_alt_text_must_describe_the_image(alt: str | None) -> None:
    findings = run("Our new park.", images=(image(alt),))
    assert "accessibility.alt_text" in rules(findings, "block")


def test_good_alt_text_passes_and_short_alt_text_is_advised() -> None:
    assert run("Our new park.", images=(image(),)) == []
    assert rules(run("Our new park.", images=(image("Park"),)), "advise") == {
        "accessibility.alt_text"
    }


def test_hashtags_in_lower_case_and_emoji_runs_are_advised() -> None:
    assert rules(run("Join in #harboursidebeachclean today")) == {"accessibility.hashtag"}
    assert run("Join in #HarboursideBeachClean today") == []
    assert rules(run("Beach clean today 🌊🌊🌊🐚")) == {"accessibility.emoji"}
    assert run("Beach clean today at 10am, all welcome 🌊") == []


def test_x_counts_urls_as_23_and_emoji_as_2() -> None:
    assert x_weighted_length("a" * 10 + " https://example.com/" + "x" * 200) == 10 + 1 + 23
    assert x_weighted_length("🌊") == 2
    long_text = "Road closures this weekend. " * 10 + "🌊" * 3  # 280 + 6
    assert "platform.x.length" in rules(run(long_text, channel="x"), "block")
    assert "platform.x.length" not in rules(
        run("Short post. https://example.com/" + "y" * 300, channel="x")
    )


def test_x_image_limits() -> None:
    five = tuple(image(filename=f"p{i}.jpg") for i in range(5))
    assert "platform.x.images" in rules(run("Photos", channel="x", images=five), "block")
    big = image(size_bytes=6 * MB)
    # A still image is scaled to fit when published (issue 22); an animated GIF is sent as is.
    assert "platform.x.image_size" not in rules(run("Photo", channel="x", images=(big,)))
    big_gif = image(filename="wave.gif", content_type="image/gif", size_bytes=6 * MB)
    assert "platform.x.image_size" in rules(run("Photo", channel="x", images=(big_gif,)), "block")
    long_alt = image(alt="A long description. " * 60)
    assert "platform.x.alt_text" in rules(run("Photo", channel="x", images=(long_alt,)), "block")
    tiff = image(content_type="image/tiff")
    assert "platform.x.image_type" in rules(run("Photo", channel="x", images=(tiff,)), "block")


def test_facebook_length() -> None:
    assert "platform.facebook.length" in rules(run("word " * 13_000), "block")
    assert not rules(run("word " * 12_000), "block")


def test_instagram_needs_an_image_of_the_right_shape() -> None:
    assert "platform.instagram.image_required" in rules(run("Caption", channel="instagram"))
    # A PNG (or a heavy JPEG) is converted and scaled when published (issue 22): not stopped.
    png = image(content_type="image/png")
    assert run("Caption", channel="instagram", images=(png,)) == []
    tall = image(width=1080, height=1920)  # 9:16 is taller than 4:5
    assert "platform.instagram.aspect_ratio" in rules(
        run("Caption", channel="instagram", images=(tall,))
    )
    wide = image(width=1910, height=1000)  # exactly 1.91:1 is allowed
    assert run("Caption", channel="instagram", images=(wide,)) == []
    heavy = image(size_bytes=9 * MB)
    assert run("Caption", channel="instagram", images=(heavy,)) == []


def test_instagram_caption_hashtag_and_mention_limits() -> None:
    ok = (image(),)
    assert "platform.instagram.length" in rules(run("x" * 2_201, channel="instagram", images=ok))
    tags = " ".join(f"#Tag{i}" for i in range(31))
    assert "platform.instagram.hashtags" in rules(run(tags, channel="instagram", images=ok))
    mentions = " ".join(f"@user{i}" for i in range(21))
    assert "platform.instagram.mentions" in rules(run(mentions, channel="instagram", images=ok))
    assert run(" ".join(f"#Tag{i}" for i in range(30)), channel="instagram", images=ok) == []

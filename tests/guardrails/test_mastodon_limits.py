"""Mastodon's limits in the guardrails and the officers' counts (issue 21): the instance's own,
as read from its /api/v2/instance and kept on the channel, never an assumed 500; every link
counts as the instance's characters_reserved_per_url; alt text on every image."""

from __future__ import annotations

from gateway.domain.guardrails import ImageToCheck, PostToCheck, check
from gateway.domain.guardrails.media import mastodon_length, mastodon_limits
from gateway.posts.service import preview
from tests.guardrails.helpers import NO_PERIOD, OUTSIDE, rules

LINK = "https://www.harbourside.gov.uk/news/2027/03/a-rather-long-address-for-a-council-page"


def mastodon(text: str, limits: dict | None = None, images: tuple = ()):
    return check(PostToCheck(text, images=images), "mastodon", NO_PERIOD, OUTSIDE, limits=limits)


def image(alt: str | None = "The new footbridge over the river at dusk") -> ImageToCheck:
    return ImageToCheck("bridge.jpg", alt, "image/jpeg", 1_000_000, 1600, 1200)


def test_a_link_counts_as_the_instance_says_whatever_its_length() -> None:
    assert len(LINK) > 80
    assert mastodon_length(f"See {LINK} now", 23) == len("See  now") + 23
    assert mastodon_length(f"See {LINK}", 30) == 4 + 30
    # The rest in grapheme clusters, as Mastodon's StatusLengthValidator counts: a flag is one.
    assert mastodon_length("\U0001f1ec\U0001f1e7" * 10) == 10


def test_the_instances_character_limit_is_used_not_500() -> None:
    text = "a" * 700
    assert "platform.mastodon.length" in rules(mastodon(text), "block")  # a stock 500
    assert "platform.mastodon.length" not in rules(mastodon(text, {"max_characters": 1000}))
    assert "platform.mastodon.length" in rules(mastodon("a" * 101, {"max_characters": 100}))
    # 480 letters and a long link: 504 on a stock instance, though over 560 characters long.
    findings = mastodon("a" * 480 + " " + LINK)
    [finding] = [f for f in findings if f.rule == "platform.mastodon.length"]
    assert "504 characters" in finding.reason and "allows 500" in finding.reason


def test_images_and_alt_text_follow_the_instance() -> None:
    assert rules(mastodon("Bridge.", images=(image(),) * 4)) == set()
    assert "platform.mastodon.images" in rules(mastodon("Bridge.", images=(image(),) * 5))
    assert "platform.mastodon.images" not in rules(
        mastodon("Bridge.", {"max_media_attachments": 6}, images=(image(),) * 5)
    )
    assert "platform.mastodon.alt_text" in rules(mastodon("Bridge.", images=(image(""),)))
    assert "platform.mastodon.alt_text" in rules(
        mastodon("Bridge.", {"description_limit": 20}, images=(image(),))
    )


def test_the_preview_counts_against_the_channels_instance() -> None:
    text = "Footbridge news. " + LINK
    assert preview(text, "mastodon") == {
        "text": text,
        "count": 17 + 23,
        "limit": 500,
        "over": False,
    }
    shown = preview("a" * 600, "mastodon", {"max_characters": 1000})
    assert (shown["count"], shown["limit"], shown["over"]) == (600, 1000, False)
    # A value the instance did not give, or a nonsense one, falls back to the stock one.
    assert mastodon_limits({"max_characters": 0, "other": 5})["max_characters"] == 500

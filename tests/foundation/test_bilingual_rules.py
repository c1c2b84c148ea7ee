"""Which text each delivery of a bilingual post sends (gateway.domain.bilingual, issue 18)."""

from __future__ import annotations

import pytest

from gateway import settings
from gateway.domain import bilingual
from gateway.domain.bilingual import Layout, Order, Settings
from gateway.domain.guardrails import ImageToCheck

WELSH = "Bydd biniau'n cael eu casglu ddydd Mercher yr wythnos hon."
ENGLISH = "Bins will be collected on Wednesday this week."
ON = Settings(enabled=True)


def test_the_setting_is_off_unless_asked_for_and_welsh_first_by_default():
    assert bilingual.parse(None) == bilingual.OFF
    assert bilingual.parse("off").enabled is False
    assert bilingual.parse("cy-en") == Settings(True, Order.WELSH_FIRST, Layout.COMBINED)
    assert bilingual.parse("on").order is Order.WELSH_FIRST
    assert bilingual.parse("EN-CY", "separate") == Settings(
        True, Order.ENGLISH_FIRST, Layout.SEPARATE
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GATEWAY_BILINGUAL": "welsh"}, "GATEWAY_BILINGUAL must be off, cy-en or en-cy"),
        (
            {"GATEWAY_BILINGUAL": "cy-en", "GATEWAY_BILINGUAL_LAYOUT": "thread"},
            "GATEWAY_BILINGUAL_LAYOUT must be combined or separate",
        ),
    ],
)
def test_a_wrong_setting_stops_the_start_naming_it(env, message, tmp_path):
    with pytest.raises(settings.SettingsError, match=message):
        settings.load({"GATEWAY_INSTANCE_PATH": str(tmp_path), **env})


def test_the_settings_load_into_the_config(tmp_path):
    base = {"GATEWAY_INSTANCE_PATH": str(tmp_path)}
    assert settings.load(base)["BILINGUAL"] == ""
    loaded = settings.load({**base, "GATEWAY_BILINGUAL": "cy-en"})
    assert (loaded["BILINGUAL"], loaded["BILINGUAL_LAYOUT"]) == ("cy-en", "combined")


def test_one_bilingual_post_where_it_fits_welsh_first():
    assert bilingual.plan("", "x", WELSH, ENGLISH, ON) == ("cy+en",)
    assert bilingual.pick("cy+en", WELSH, ENGLISH) == f"{WELSH}\n\n{ENGLISH}"
    english_first = Settings(True, Order.ENGLISH_FIRST)
    assert bilingual.plan("", "facebook", WELSH, ENGLISH, english_first) == ("en+cy",)
    assert bilingual.pick("en+cy", WELSH, ENGLISH) == f"{ENGLISH}\n\n{WELSH}"


def test_two_posts_when_the_pair_is_over_the_limit_as_x_counts_it():
    # 130 + 2 + 130 = 262 characters, but each link weighs 23 on X: together they are over.
    welsh = "Gweler https://example.gov.uk/a " + "a" * 98
    english = "See https://example.gov.uk/b " + "b" * 101
    assert len(bilingual.pick("cy+en", welsh, english)) < 280
    assert bilingual.plan("", "x", welsh + " " + "c" * 40, english, ON) == ("cy", "en")
    assert bilingual.plan("", "facebook", welsh + " " + "c" * 40, english, ON) == ("cy+en",)
    # Emoji weigh 2 on X: 140 of them in each language fit alone, not together.
    assert bilingual.plan("", "x", "🌧" * 70, "☔" * 70, ON) == ("cy", "en")
    assert bilingual.fits("x", "cy", "🌧" * 70, "☔" * 70)


def test_the_alt_texts_together_must_fit_the_platforms_alt_text_limit():
    image = ImageToCheck("flood.jpg", "", "image/jpeg", 1000, 800, 600)
    alts = [(image, "a" * 600, "b" * 600)]
    assert bilingual.plan("", "facebook", WELSH, ENGLISH, ON, alts) == ("cy+en",)
    assert bilingual.plan("", "x", WELSH, ENGLISH, ON, alts) == ("cy", "en")


def test_separate_layout_and_single_language_channels():
    separate = Settings(True, layout=Layout.SEPARATE)
    assert bilingual.plan("", "x", WELSH, ENGLISH, separate) == ("cy", "en")
    assert bilingual.plan("cy", "x", WELSH, ENGLISH, ON) == ("cy",)
    assert bilingual.plan("en", "x", WELSH, ENGLISH, ON) == ("en",)
    assert bilingual.pick("cy", WELSH, ENGLISH) == WELSH
    assert bilingual.pick("", WELSH, ENGLISH) == ENGLISH
    assert bilingual.languages_of("en+cy") == ("en", "cy")
    assert bilingual.is_single_language("cy") and not bilingual.is_single_language("cy+en")


def test_a_channels_own_layout_overrides_the_installations():
    """Issue 18: "a setting per installation (and per channel ...)"."""
    separate = Settings(enabled=True, layout=Layout.SEPARATE)
    # One bilingual post on this channel, in its own order, though the gateway says two posts.
    assert bilingual.plan("", "facebook", WELSH, ENGLISH, separate, channel_layout="en-cy") == (
        "en+cy",
    )
    assert bilingual.plan("", "facebook", WELSH, ENGLISH, separate, channel_layout="cy-en") == (
        "cy+en",
    )
    # Two posts on this channel, though the gateway says one where it fits.
    assert bilingual.plan("", "facebook", WELSH, ENGLISH, ON, channel_layout="separate") == (
        "cy",
        "en",
    )
    english_first = Settings(enabled=True, order=Order.ENGLISH_FIRST)
    assert bilingual.plan(
        "", "facebook", WELSH, ENGLISH, english_first, channel_layout="separate"
    ) == ("en", "cy")
    # As the installation is set, and a channel kept for one language keeps it.
    assert bilingual.plan("", "facebook", WELSH, ENGLISH, ON, channel_layout="") == ("cy+en",)
    assert bilingual.plan("cy", "facebook", WELSH, ENGLISH, ON, channel_layout="en-cy") == ("cy",)
    # One bilingual post in its own order still only where it fits.
    long = "c" * 200
    assert bilingual.plan("", "x", long, long, ON, channel_layout="en-cy") == ("en", "cy")


def test_a_mastodon_instances_own_limit_decides_one_post_or_two():
    """Issue 18/21: the pair is planned against the channel's own limits, not the defaults."""
    welsh, english = "c" * 300, "e" * 300  # 602 with the blank line: over a stock 500
    assert bilingual.plan("", "mastodon", welsh, english, ON) == ("cy", "en")
    roomy = {"max_characters": 1000, "characters_reserved_per_url": 23}
    assert bilingual.plan("", "mastodon", welsh, english, ON, limits=roomy) == ("cy+en",)
    tight = {"max_characters": 200}
    assert bilingual.plan("", "mastodon", "c" * 120, "e" * 120, ON) == ("cy+en",)
    assert bilingual.plan("", "mastodon", "c" * 120, "e" * 120, ON, limits=tight) == ("cy", "en")

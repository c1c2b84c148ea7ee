"""Which deliveries of a bilingual post go out only together, and in which order they are made
(gateway.domain.bilingual, issue 18): pure rules, no fixtures."""

from __future__ import annotations

from gateway.domain import bilingual
from gateway.domain.bilingual import Layout, Order, Settings


def test_one_language_each_on_the_same_platform_are_partners():
    # Two posts on one channel, or the Welsh and the English account of one platform.
    assert bilingual.are_partners("cy", "x", "en", "x")
    assert bilingual.are_partners("en", "facebook", "cy", "facebook")


def test_a_post_with_both_texts_the_same_language_or_another_platform_has_no_partner():
    assert not bilingual.are_partners("cy+en", "x", "en", "x")
    assert not bilingual.are_partners("cy", "x", "cy+en", "x")
    assert not bilingual.are_partners("cy", "x", "cy", "x")
    assert not bilingual.are_partners("cy", "x", "en", "facebook")
    assert not bilingual.are_partners("", "x", "", "x")  # a post in one language


def test_two_posts_on_one_channel_come_in_the_councils_order():
    separate = Settings(True, Order.WELSH_FIRST, Layout.SEPARATE)
    assert bilingual.plan("", "x", "Cymraeg", "English", separate) == ("cy", "en")
    english_first = Settings(True, Order.ENGLISH_FIRST, Layout.SEPARATE)
    assert bilingual.plan("", "x", "Cymraeg", "English", english_first) == ("en", "cy")


def test_the_first_languages_own_channels_are_made_first():
    welsh_first = Settings(True, Order.WELSH_FIRST)
    order = sorted(["en", "", "cy"], key=lambda c: bilingual.sending_order(c, welsh_first))
    assert order == ["cy", "", "en"]
    english_first = Settings(True, Order.ENGLISH_FIRST)
    order = sorted(["cy", "", "en"], key=lambda c: bilingual.sending_order(c, english_first))
    assert order == ["en", "", "cy"]

"""Posts in Welsh and English (issue 18, "Bilingual posts"): which text each delivery sends.

The Welsh Language Standards ask a council in Wales not to treat the Welsh version of a post
less favourably: not later, not shorter, not missing from one platform. When the installation
publishes in both languages (GATEWAY_BILINGUAL), every post has a Welsh and an English text and
goes out in the council's chosen form, channel by channel:

- a channel kept for one language (``Channel.language`` "cy" or "en", for councils with separate
  Welsh and English accounts) gets that language's post;
- a channel for both gets one bilingual post, in the council's order (Welsh first by default),
  where the platform's limits allow it and the layout is "combined"; otherwise two posts at the
  same moment, its Welsh one and its English one.

Pure: no Flask, no database. A delivery's ``language`` is one of :data:`DELIVERY_LANGUAGES`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from gateway.domain.guardrails.media import find_platform
from gateway.domain.guardrails.model import ImageToCheck

WELSH = "cy"
ENGLISH = "en"
LANGUAGE_NAMES = {WELSH: "Welsh", ENGLISH: "English"}
#: Between the two texts of one bilingual post, and the two alt texts of one image.
SEPARATOR = "\n\n"

#: A channel's language: both (the default), Welsh only, English only.
CHANNEL_BOTH = ""
CHANNEL_LANGUAGES: dict[str, str] = {
    CHANNEL_BOTH: "Welsh and English",
    WELSH: "Welsh only",
    ENGLISH: "English only",
}

#: A delivery's language: the post's only text, one language, or both in one post.
MONOLINGUAL = ""
WELSH_FIRST = "cy+en"
ENGLISH_FIRST = "en+cy"
DELIVERY_LANGUAGES: dict[str, str] = {
    MONOLINGUAL: "",
    WELSH: "Welsh",
    ENGLISH: "English",
    WELSH_FIRST: "Welsh and English",
    ENGLISH_FIRST: "English and Welsh",
}

#: Platform rules that depend on the text (and alt text) rather than on the images themselves:
#: the ones a bilingual post can break where each language alone does not.
_TEXT_RULES = (".length", ".hashtags", ".mentions", ".alt_text")


class Order(StrEnum):
    """Which language comes first in one bilingual post (GATEWAY_BILINGUAL)."""

    WELSH_FIRST = "cy-en"
    ENGLISH_FIRST = "en-cy"

    @property
    def combined(self) -> str:
        return WELSH_FIRST if self is Order.WELSH_FIRST else ENGLISH_FIRST


class Layout(StrEnum):
    """How a channel for both languages gets them (GATEWAY_BILINGUAL_LAYOUT)."""

    #: One bilingual post where the platform's limits allow it, otherwise two posts.
    COMBINED = "combined"
    #: Always two posts at the same moment, the Welsh one and the English one.
    SEPARATE = "separate"


@dataclass(frozen=True)
class Settings:
    """The installation's choice: off, or both languages in this order and layout."""

    enabled: bool = False
    order: Order = Order.WELSH_FIRST
    layout: Layout = Layout.COMBINED


OFF = Settings()

#: A channel for both languages may have its own layout (issue 18: "a setting per installation
#: (and per channel ...)"): "" follows the installation's GATEWAY_BILINGUAL and
#: GATEWAY_BILINGUAL_LAYOUT; the others say the form that channel's posts take.
CHANNEL_AS_INSTALLATION = ""
CHANNEL_SEPARATE = "separate"
CHANNEL_LAYOUTS: dict[str, str] = {
    CHANNEL_AS_INSTALLATION: "As the gateway is set",
    Order.WELSH_FIRST.value: "One bilingual post, Welsh first",
    Order.ENGLISH_FIRST.value: "One bilingual post, English first",
    CHANNEL_SEPARATE: "Two posts at the same moment, one in each language",
}


def for_channel(settings: Settings, channel_layout: str | None) -> Settings:
    """The installation's settings as one channel applies them: its own layout (and, for one
    bilingual post, its own order) where an admin chose one (:data:`CHANNEL_LAYOUTS`)."""
    if channel_layout in (Order.WELSH_FIRST.value, Order.ENGLISH_FIRST.value):
        return Settings(
            enabled=settings.enabled, order=Order(channel_layout), layout=Layout.COMBINED
        )
    if channel_layout == CHANNEL_SEPARATE:
        return Settings(enabled=settings.enabled, order=settings.order, layout=Layout.SEPARATE)
    return settings


def parse(bilingual: str | None, layout: str | None = None) -> Settings:
    """The settings from GATEWAY_BILINGUAL ("off", "cy-en", "en-cy") and
    GATEWAY_BILINGUAL_LAYOUT ("combined", "separate"). ValueError names what is wrong."""
    raw = (bilingual or "").strip().lower()
    chosen_layout = (layout or "").strip().lower() or Layout.COMBINED.value
    if chosen_layout not in {m.value for m in Layout}:
        raise ValueError(
            f"GATEWAY_BILINGUAL_LAYOUT must be combined or separate, got {chosen_layout!r}."
        )
    if raw in ("", "off", "no", "false", "0"):
        return Settings(layout=Layout(chosen_layout))
    if raw in ("on", "yes", "true", "1"):
        raw = Order.WELSH_FIRST.value
    if raw not in {m.value for m in Order}:
        raise ValueError(f"GATEWAY_BILINGUAL must be off, cy-en or en-cy, got {raw!r}.")
    return Settings(enabled=True, order=Order(raw), layout=Layout(chosen_layout))


def languages_of(delivery_language: str) -> tuple[str, ...]:
    """The languages a delivery sends, in their order: ("cy",), ("cy", "en"), ...; () for a
    post in one language."""
    if delivery_language in (WELSH, ENGLISH):
        return (delivery_language,)
    if delivery_language in (WELSH_FIRST, ENGLISH_FIRST):
        first, second = delivery_language.split("+")
        return (first, second)
    return ()


def is_single_language(delivery_language: str) -> bool:
    """A delivery that sends one language of a bilingual post: it goes out only with its
    partner in the other language (:func:`partners`)."""
    return delivery_language in (WELSH, ENGLISH)


def pick(delivery_language: str, welsh: str, english: str) -> str:
    """The text (or alt text) a delivery sends: one language, or both joined in order."""
    languages = languages_of(delivery_language)
    if not languages:
        return english
    by_language = {WELSH: welsh, ENGLISH: english}
    return SEPARATOR.join(by_language[lang] for lang in languages if by_language[lang])


def fits(
    platform: str,
    delivery_language: str,
    welsh: str,
    english: str,
    images: Sequence[tuple[ImageToCheck, str, str]] = (),
    limits: Mapping[str, int] | None = None,
) -> bool:
    """Whether the bilingual post (or one language of it) keeps to the platform's limits on
    text: its length as the platform counts it (X weighted), hashtags, mentions and alt text.
    ``images``: each image with its Welsh and English alt text. ``limits``: the channel's own,
    where its server sets them (a Mastodon instance's character limit: Channel.limits)."""
    text = pick(delivery_language, welsh, english)
    checked = tuple(
        ImageToCheck(
            filename=image.filename,
            alt_text=pick(delivery_language, alt_cy, alt_en),
            content_type=image.content_type,
            size_bytes=image.size_bytes,
            width=image.width,
            height=image.height,
        )
        for image, alt_cy, alt_en in images
    )
    found = find_platform(text, checked, platform, limits)
    return not any(f.rule.endswith(_TEXT_RULES) for f in found)


def plan(
    channel_language: str,
    platform: str,
    welsh: str,
    english: str,
    settings: Settings,
    images: Sequence[tuple[ImageToCheck, str, str]] = (),
    limits: Mapping[str, int] | None = None,
    channel_layout: str | None = CHANNEL_AS_INSTALLATION,
) -> tuple[str, ...]:
    """The deliveries a channel gets for a bilingual post, by language, in the council's order
    (Welsh first by default): the first is made, queued and so sent first.

    A Welsh-only or English-only channel gets its language; a channel for both gets one post
    with both texts when its layout (the channel's own, else the installation's) is "combined"
    and it fits within the channel's own limits (``limits``, a Mastodon instance's), otherwise
    the two posts."""
    if channel_language == WELSH:
        return (WELSH,)
    if channel_language == ENGLISH:
        return (ENGLISH,)
    chosen = for_channel(settings, channel_layout)
    combined = chosen.order.combined
    if chosen.layout is Layout.COMBINED and fits(
        platform, combined, welsh, english, images, limits
    ):
        return (combined,)
    return languages_of(combined)


def sending_order(channel_language: str, settings: Settings) -> int:
    """Where a channel's deliveries come among a post's: the first language's own channels,
    then the channels for both, then the other language's, so that with separate Welsh and
    English accounts the first language's post is made and queued first as well."""
    first = languages_of(settings.order.combined)[0]
    if channel_language == first:
        return 0
    return 1 if channel_language == CHANNEL_BOTH else 2


def label(language: str | None) -> str:
    """A delivery's or a finding's language in words: "Welsh", "Welsh and English", ""."""
    return DELIVERY_LANGUAGES.get(language or "", language or "")


def are_partners(language: str, platform: str, other_language: str, other_platform: str) -> bool:
    """Whether two deliveries of one bilingual post go out only together: each sends one
    language, not the same one, to the same platform (two posts on one channel, or the Welsh
    and the English account of one platform). A post never goes out in English only because
    the Welsh one failed, nor the other way round (issue 18); a delivery that sends both
    languages in one post has no partner."""
    return (
        is_single_language(language)
        and is_single_language(other_language)
        and language != other_language
        and platform == other_platform
    )

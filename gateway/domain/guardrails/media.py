"""Accessibility of images and text, and each platform's own limits (issue #4, rules 6 and 7)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import regex
from twitter_text import parse_tweet

from gateway.domain.guardrails.citations import Clause, default_text
from gateway.domain.guardrails.model import Finding, ImageToCheck, Outcome

CHANNELS = ("x", "facebook", "instagram", "bluesky", "mastodon")

ACCESS_CLAUSE = default_text(Clause.ACCESSIBILITY)
_FILENAME_ALT = re.compile(
    r"^(?:[\w\-. ]+\.(?:jpe?g|png|gif|webp|heic|bmp|tiff?)"
    r"|(?:img|dsc|dcim|pxl|screenshot)[_\- ]?\d.*)$",
    re.IGNORECASE,
)
GENERIC_ALT = frozenset(
    {
        "image",
        "img",
        "photo",
        "photograph",
        "picture",
        "pic",
        "graphic",
        "alt",
        "alt text",
        "untitled",
        "screenshot",
        "image of",
        "photo of",
        "picture of",
        "jpeg",
        "jpg",
        "png",
        "gif",
        "logo",
        "banner",
        "poster",
    }
)
SHORT_ALT_CHARS = 10  # fewer characters than this rarely describe an image
LONG_LOWERCASE_HASHTAG = 12  # long enough to be several words run together
_HASHTAG = re.compile(r"(?<![\w&])#(\w+)")
_MENTION = re.compile(r"(?<![\w@])@(\w{1,30})")
_EMOJI_BASE = "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff]"
_EMOJI_MODIFIERS = "[\ufe0f\U0001f3fb-\U0001f3ff]*"
# One emoji as a reader sees it: a base, its modifiers, and any ZWJ-joined parts.
_EMOJI = re.compile(f"{_EMOJI_BASE}{_EMOJI_MODIFIERS}(?:\u200d{_EMOJI_BASE}{_EMOJI_MODIFIERS})*")
EMOJI_RUN = 3  # this many emoji in a row are read out one by one by a screen reader
EMOJI_SHARE = 0.3  # share of the post's visible characters

# Platform limits (issue #4 rule 7, from each platform's developer documentation).
X_MAX_WEIGHTED = 280
X_URL_WEIGHT = 23
X_LIGHT_CODEPOINT_MAX = 4351  # twitter-text config v3: code points 0-4351 weigh 1, most others 2
X_MAX_IMAGES = 4
X_MAX_IMAGE_BYTES = 5 * 1024 * 1024
X_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
FACEBOOK_MAX_CHARS = 63_206
INSTAGRAM_MAX_CAPTION = 2_200
INSTAGRAM_MAX_HASHTAGS = 30
INSTAGRAM_MAX_MENTIONS = 20
INSTAGRAM_MAX_IMAGES = 10
INSTAGRAM_MIN_RATIO = 4 / 5
INSTAGRAM_MAX_RATIO = 1.91
MAX_ALT_TEXT = 1_000
# Bluesky (issue 21; the app.bsky.feed.post and app.bsky.embed.images lexicons): 300 graphemes
# and 3,000 bytes of UTF-8, at most 4 images, each with alt text. Bluesky's app allows 2,000
# characters of alt text, but the gateway's own 1,000 above is the stricter.
BLUESKY_MAX_GRAPHEMES = 300
BLUESKY_MAX_TEXT_BYTES = 3_000
BLUESKY_MAX_IMAGES = 4
_GRAPHEME = regex.compile(r"\X")
# Mastodon (issue 21): every instance sets its own limits, read from its /api/v2/instance when
# the channel is connected or tested (Channel.limits). These are a stock instance's, used only
# for a value the instance did not give (peers that hard-code 500: postiz-app#1083, mixpost#148).
MASTODON_DEFAULT_LIMITS: dict[str, int] = {
    "max_characters": 500,
    "max_media_attachments": 4,
    "characters_reserved_per_url": 23,
    "description_limit": 1500,
}
_MASTODON_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)


def find_accessibility(text: str, images: tuple[ImageToCheck, ...]) -> list[Finding]:
    findings = []
    for image in images:
        problem = _alt_text_problem(image)
        if problem:
            findings.append(
                Finding(
                    "accessibility.alt_text",
                    Outcome.BLOCK,
                    f"Image {image.filename!r}: {problem}. Screen-reader users need alt text "
                    "that says what the image shows.",
                    ACCESS_CLAUSE,
                    None,
                    image.alt_text,
                )
            )
        elif len(image.alt_text.strip()) < SHORT_ALT_CHARS:
            findings.append(
                Finding(
                    "accessibility.alt_text",
                    Outcome.ADVISE,
                    f"Image {image.filename!r}: alt text this short rarely describes an image.",
                    ACCESS_CLAUSE,
                    None,
                    image.alt_text,
                )
            )
    if "#" in text:
        for m in _HASHTAG.finditer(text):
            tag = m.group(1)
            if (
                len(tag) >= LONG_LOWERCASE_HASHTAG
                and (tag.islower() or tag.isupper())
                and tag.isalpha()
            ):
                findings.append(
                    Finding(
                        "accessibility.hashtag",
                        Outcome.ADVISE,
                        f"Write #{tag} in CamelCase (each word capitalised) so screen readers "
                        "read it as words.",
                        ACCESS_CLAUSE,
                        m.span(),
                        m.group(),
                    )
                )
    if not text.isascii():
        findings += _emoji(text)
    return findings


def _alt_text_problem(image: ImageToCheck) -> str | None:
    alt = (image.alt_text or "").strip()
    if not alt:
        return "it has no alt text"
    if alt.casefold() == image.filename.strip().casefold() or _FILENAME_ALT.match(alt):
        return "its alt text is a file name"
    if alt.casefold().rstrip(".") in GENERIC_ALT:
        return f"its alt text {alt!r} does not describe it"
    return None


def _emoji(text: str) -> list[Finding]:
    emoji = list(_EMOJI.finditer(text))
    if not emoji:
        return []
    visible = sum(1 for c in text if not c.isspace())
    emoji_chars = sum(m.end() - m.start() for m in emoji)
    run, longest, last_end, run_start = 0, 0, -1, 0
    best = (0, 0)
    for m in emoji:
        if text[last_end : m.start()].strip() == "" and last_end >= 0:
            run += 1
        else:
            run, run_start = 1, m.start()
        last_end = m.end()
        if run > longest:
            longest, best = run, (run_start, m.end())
    if longest >= EMOJI_RUN or emoji_chars / max(visible, 1) > EMOJI_SHARE:
        return [
            Finding(
                "accessibility.emoji",
                Outcome.ADVISE,
                "Screen readers read every emoji's name aloud: use words, and keep emoji few "
                "and at the end.",
                ACCESS_CLAUSE,
                best,
                text[best[0] : best[1]],
            )
        ]
    return []


def _limit(rule: str, reason: str, clause: str, span: tuple[int, int] | None = None) -> Finding:
    return Finding(rule, Outcome.BLOCK, reason, clause, span, None)


def x_weighted_length(text: str) -> int:
    """X's weighted length (URLs 23, emoji and CJK 2), by twitter-text-parser."""
    return parse_tweet(text).weightedLength


def _x_length_bound(text: str) -> int:
    """An upper bound on X's weighted length: characters up to U+10FF weigh 1, others at
    most 2, and every URL (which needs a dot) at most 23. The parser is slow (~1 ms a post),
    so it only runs when this bound does not already fit."""
    heavy = 0 if text.isascii() else sum(1 for c in text if ord(c) > X_LIGHT_CODEPOINT_MAX)
    return len(text) + heavy + X_URL_WEIGHT * text.count(".")


def find_platform(
    text: str,
    images: tuple[ImageToCheck, ...],
    channel: str,
    limits: Mapping[str, int] | None = None,
) -> list[Finding]:
    """The platform's own limits. ``limits`` are the channel's own where its server sets them
    (a Mastodon instance's), else the platform's defaults."""
    if channel == "x":
        return _x(text, images)
    if channel == "facebook":
        if len(text) > FACEBOOK_MAX_CHARS:
            return [
                _limit(
                    "platform.facebook.length",
                    f"The post is {len(text):,} characters; a Facebook Page post may have at "
                    f"most {FACEBOOK_MAX_CHARS:,}.",
                    "Facebook Pages: post length",
                )
            ]
        return []
    if channel == "bluesky":
        return _bluesky(text, images)
    if channel == "mastodon":
        return _mastodon(text, images, mastodon_limits(limits))
    return _instagram(text, images)


def bluesky_length(text: str) -> int:
    """What Bluesky counts against its 300: user-perceived characters (extended grapheme
    clusters), so a flag, a ZWJ family or a letter with combining marks is one."""
    return len(_GRAPHEME.findall(text)) if not text.isascii() else len(text.replace("\r\n", "\n"))


def _alt_length(images: tuple[ImageToCheck, ...], rule: str, clause: str) -> list[Finding]:
    return [
        _limit(
            rule,
            f"Image {img.filename!r}: alt text is {len(img.alt_text):,} characters; at most "
            f"{MAX_ALT_TEXT:,} are allowed.",
            clause,
        )
        for img in images
        if img.alt_text and len(img.alt_text) > MAX_ALT_TEXT
    ]


def _x(text: str, images: tuple[ImageToCheck, ...]) -> list[Finding]:
    clause = "X developer platform: counting characters; media upload limits"
    findings = []
    weighted = 0 if _x_length_bound(text) <= X_MAX_WEIGHTED else x_weighted_length(text)
    if weighted > X_MAX_WEIGHTED:
        findings.append(
            _limit(
                "platform.x.length",
                f"The post weighs {weighted} characters as X counts them (links 23, emoji 2); "
                f"the limit is {X_MAX_WEIGHTED}.",
                clause,
            )
        )
    if len(images) > X_MAX_IMAGES:
        findings.append(
            _limit(
                "platform.x.images",
                f"{len(images)} images; X allows at most {X_MAX_IMAGES}.",
                clause,
            )
        )
    for img in images:
        # A still image is scaled and re-encoded to fit when published (issue 22); an animated
        # GIF goes as it is, so only a GIF can be too large for X.
        if img.content_type == "image/gif" and img.size_bytes > X_MAX_IMAGE_BYTES:
            findings.append(
                _limit(
                    "platform.x.image_size",
                    f"Image {img.filename!r} is {img.size_bytes / 1048576:.1f} MB; X allows 5 MB.",
                    clause,
                )
            )
        if img.content_type not in X_IMAGE_TYPES:
            findings.append(
                _limit(
                    "platform.x.image_type",
                    f"Image {img.filename!r} is {img.content_type}; "
                    "X takes JPEG, PNG, GIF or WebP.",
                    clause,
                )
            )
    return findings + _alt_length(images, "platform.x.alt_text", clause)


def _instagram(text: str, images: tuple[ImageToCheck, ...]) -> list[Finding]:
    clause = "Instagram Graph API: content publishing limits"
    findings = []
    if not images:
        findings.append(
            _limit(
                "platform.instagram.image_required",
                "Instagram posts need an image: add one, or leave Instagram out.",
                clause,
            )
        )
    if len(images) > INSTAGRAM_MAX_IMAGES:
        findings.append(
            _limit(
                "platform.instagram.images",
                f"{len(images)} images; an Instagram carousel takes at most "
                f"{INSTAGRAM_MAX_IMAGES}.",
                clause,
            )
        )
    # Instagram takes JPEG only, at most 8 MB: the gateway converts and scales each image to
    # that when it publishes (gateway.posts.images.for_platform, issue 22), so neither stops
    # a post. Its aspect ratio does: cropping would change what the approver saw.
    for img in images:
        if img.width <= 0 or img.height <= 0:
            findings.append(
                _limit(
                    "platform.instagram.aspect_ratio",
                    f"Image {img.filename!r} has no size; Instagram needs its aspect ratio.",
                    clause,
                )
            )
        elif not INSTAGRAM_MIN_RATIO <= img.width / img.height <= INSTAGRAM_MAX_RATIO:
            findings.append(
                _limit(
                    "platform.instagram.aspect_ratio",
                    f"Image {img.filename!r} is {img.width}x{img.height}; Instagram takes aspect "
                    "ratios from 4:5 (portrait) to 1.91:1 (landscape).",
                    clause,
                )
            )
    if len(text) > INSTAGRAM_MAX_CAPTION:
        findings.append(
            _limit(
                "platform.instagram.length",
                f"The caption is {len(text):,} characters; "
                f"Instagram allows {INSTAGRAM_MAX_CAPTION:,}.",
                clause,
            )
        )
    tags = len(_HASHTAG.findall(text))
    if tags > INSTAGRAM_MAX_HASHTAGS:
        findings.append(
            _limit(
                "platform.instagram.hashtags",
                f"{tags} hashtags; Instagram allows {INSTAGRAM_MAX_HASHTAGS}.",
                clause,
            )
        )
    mentions = len(_MENTION.findall(text))
    if mentions > INSTAGRAM_MAX_MENTIONS:
        findings.append(
            _limit(
                "platform.instagram.mentions",
                f"{mentions} mentions; Instagram allows {INSTAGRAM_MAX_MENTIONS}.",
                clause,
            )
        )
    return findings + _alt_length(images, "platform.instagram.alt_text", clause)


def _bluesky(text: str, images: tuple[ImageToCheck, ...]) -> list[Finding]:
    clause = "Bluesky: post record limits (app.bsky.feed.post, app.bsky.embed.images)"
    findings = []
    graphemes = bluesky_length(text)
    if graphemes > BLUESKY_MAX_GRAPHEMES:
        findings.append(
            _limit(
                "platform.bluesky.length",
                f"The post is {graphemes:,} characters as Bluesky counts them (each emoji, flag "
                f"or accented letter one); Bluesky allows {BLUESKY_MAX_GRAPHEMES}.",
                clause,
            )
        )
    elif len(text.encode("utf-8")) > BLUESKY_MAX_TEXT_BYTES:
        findings.append(
            _limit(
                "platform.bluesky.length",
                f"The post is {len(text.encode('utf-8')):,} bytes of UTF-8; Bluesky allows "
                f"{BLUESKY_MAX_TEXT_BYTES:,}.",
                clause,
            )
        )
    if len(images) > BLUESKY_MAX_IMAGES:
        findings.append(
            _limit(
                "platform.bluesky.images",
                f"{len(images)} images; Bluesky allows at most {BLUESKY_MAX_IMAGES}.",
                clause,
            )
        )
    # Bluesky itself takes an image without alt text; the gateway never sends one (peers that
    # drop alt text: postiz-app#948, #695). Each image is scaled to Bluesky's 1,000,000 bytes
    # when published (gateway.posts.images.for_platform), so its size never stops a post.
    findings.extend(
        _limit(
            "platform.bluesky.alt_text",
            f"Image {img.filename!r} has no alt text; Bluesky posts from the gateway always "
            "carry it.",
            clause,
        )
        for img in images
        if not (img.alt_text or "").strip()
    )
    return findings + _alt_length(images, "platform.bluesky.alt_text", clause)


def mastodon_limits(limits: Mapping[str, int] | None) -> dict[str, int]:
    """An instance's limits, its defaults filled in for any it did not give."""
    given = {k: int(v) for k, v in (limits or {}).items() if isinstance(v, int) and v > 0}
    return {
        **MASTODON_DEFAULT_LIMITS,
        **{k: v for k, v in given.items() if k in MASTODON_DEFAULT_LIMITS},
    }


def mastodon_length(text: str, reserved_per_url: int = 23) -> int:
    """Mastodon's count: every link as ``reserved_per_url`` characters, whatever its length,
    and the rest in grapheme clusters, as its StatusLengthValidator counts."""
    return bluesky_length(_MASTODON_URL.sub("x" * reserved_per_url, text))


def _mastodon(text: str, images: tuple[ImageToCheck, ...], limits: dict[str, int]) -> list[Finding]:
    clause = "Mastodon: the instance's own limits (/api/v2/instance)"
    findings = []
    length = mastodon_length(text, limits["characters_reserved_per_url"])
    if length > limits["max_characters"]:
        findings.append(
            _limit(
                "platform.mastodon.length",
                f"The post is {length:,} characters as Mastodon counts them (each link "
                f"{limits['characters_reserved_per_url']}); this instance allows "
                f"{limits['max_characters']:,}.",
                clause,
            )
        )
    if len(images) > limits["max_media_attachments"]:
        findings.append(
            _limit(
                "platform.mastodon.images",
                f"{len(images)} images; this instance allows at most "
                f"{limits['max_media_attachments']}.",
                clause,
            )
        )
    for img in images:
        alt = (img.alt_text or "").strip()
        if not alt:
            findings.append(
                _limit(
                    "platform.mastodon.alt_text",
                    f"Image {img.filename!r} has no alt text; Mastodon posts from the gateway "
                    "always carry it.",
                    clause,
                )
            )
        elif len(img.alt_text or "") > min(limits["description_limit"], MAX_ALT_TEXT):
            most = min(limits["description_limit"], MAX_ALT_TEXT)
            findings.append(
                _limit(
                    "platform.mastodon.alt_text",
                    f"Image {img.filename!r}: alt text is {len(img.alt_text or ''):,} "
                    f"characters; at most {most:,} are allowed.",
                    clause,
                )
            )
    return findings

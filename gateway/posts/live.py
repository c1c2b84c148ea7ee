"""Checks while an officer types (issue 22, item 3): the guardrails the submit runs, on a post
that is never saved.

The post is built as the form would build it (:func:`unsaved_post`) but never added to the
database session, and asked the very questions the submit, the approval and the emergency
"Post now" ask: :func:`gateway.posts.service.findings_for` for the findings, the emergency
service's :func:`gateway.posts.emergency.left_out` for the channels an emergency post would
leave out, and :func:`gateway.posts.service.preview` for each platform's count. Nothing is
written: no post, no delivery, no image file, no audit entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from gateway.domain import bilingual
from gateway.domain import emergency as rules
from gateway.domain.guardrails import Finding, Outcome, check
from gateway.domain.guardrails.engine import shown_once
from gateway.domain.statuses import DeliveryStatus, PostStatus
from gateway.models import Channel, Delivery, Post, PostImage, User
from gateway.models.base import utcnow
from gateway.policy import current_context, post_to_check
from gateway.posts import service
from gateway.posts.service import MAX_IMAGES, MAX_TEXT_CHARS, PostError

#: With no channel chosen yet, the rules about the words themselves (political, personal
#: data, offensive, accessibility, office hours) are still worth showing: they are asked as
#: for a Facebook Page, the platform with no limit of its own a draft could meet, and the
#: platform's own rules are left out until a channel is chosen.
CONTENT_ONLY_PLATFORM = "facebook"
PLATFORM_RULE_PREFIX = "platform."
#: The order the pages list findings in: what stops the post first.
OUTCOME_ORDER = {Outcome.BLOCK: 0, Outcome.REFER: 1, Outcome.ADVISE: 2}


@dataclass(frozen=True)
class ImageFacts:
    """What the browser knows of an image chosen but not yet uploaded, or what the database
    holds of one already saved with the post."""

    filename: str
    content_type: str
    size_bytes: int
    width: int
    height: int
    alt_text: str = ""
    #: The Welsh alt text, on a bilingual form (issue 18); None on a form in one language.
    alt_text_cy: str | None = None


@dataclass(frozen=True)
class ChannelCount:
    """One chosen channel's count, as its platform counts it (X: weighted, links 23)."""

    channel: Channel
    count: int
    limit: int
    #: Why an emergency post would leave this channel out (gateway.posts.emergency.left_out).
    left_out: str | None = None
    #: Why the channel could not take any post now (gateway.posts.service.channel_problem):
    #: the submit refuses it.
    problem: str | None = None
    #: What this delivery of a bilingual post sends (issue 18): "cy", "en", "cy+en", "en+cy";
    #: "" for a post in one language. A channel with two posts has a count for each.
    language: str = ""
    #: The text counted: one language, or both joined in the council's order.
    text: str = ""
    #: The texts it sends, each with its language, for the preview: () in one language.
    parts: tuple[tuple[str, str], ...] = ()

    @property
    def remaining(self) -> int:
        return self.limit - self.count

    @property
    def over(self) -> bool:
        return self.count > self.limit


@dataclass(frozen=True)
class LiveCheck:
    text: str
    at: datetime
    emergency: bool
    #: Each finding once, what stops the post first, with the channels it applies to.
    findings: list[Finding]
    finding_channels: dict[Finding, list[int]]
    counts: list[ChannelCount]
    #: True when no channel is chosen: the platforms' own rules were not asked.
    content_only: bool = False
    left_out: dict[int, str] = field(default_factory=dict)

    @property
    def blocked(self) -> bool:
        return any(f.outcome is Outcome.BLOCK for f in self.findings)


def merge_findings(by_channel: dict[int, list[Finding]]) -> tuple[list[Finding], dict]:
    """Each finding once, what stops the post first (as the post pages list them), and the
    channels each applies to."""
    channels: dict[tuple, list[int]] = {}
    merged: dict[tuple, Finding] = {}
    for channel_id, findings in by_channel.items():
        for finding in findings:
            key = (finding.rule, finding.outcome, finding.reason, finding.span, finding.language)
            merged.setdefault(key, finding)
            if channel_id is not None and channel_id not in channels.setdefault(key, []):
                channels[key].append(channel_id)
    ordered = sorted(merged.items(), key=lambda item: OUTCOME_ORDER[item[1].outcome])
    return [f for _key, f in ordered], {f: channels.get(key, []) for key, f in ordered}


def findings_shown(post: Post) -> tuple[list[Finding], dict[Finding, list[int]]]:
    """A saved post's findings as the post page and the API show them: each once, what stops
    the post first, with the channels each applies to. Raises PostError as the service does."""
    merged, channels = merge_findings(service.findings_for(post))
    # Each once: the same words on every channel, or found by two rules of a family, are one
    # finding to the officer (issue 22).
    return shown_once(merged), channels


def unsaved_post(
    author: User,
    *,
    text: str,
    channels: Sequence[Channel],
    images: Sequence[ImageFacts],
    scheduled_at: datetime | None,
    emergency_category: str | None,
    text_cy: str | None = None,
) -> Post:
    """The post the form would make, never added to the session: nothing is saved, and no
    flush can save it (a delivery refers to its channel, never the other way round). With
    ``text_cy``, a bilingual post: each channel's deliveries planned as the submit plans them
    (its language, its layout, its own limits: gateway.posts.bilingual.plan_for)."""
    post = Post(
        text=text,
        text_cy=text_cy,
        author_id=author.id,
        holder_id=author.id,
        approval_round=0,
        status=PostStatus.DRAFT.value,
        scheduled_at=scheduled_at,
        emergency_category=emergency_category or None,
    )
    post.images = [
        PostImage(
            position=position,
            filename=image.filename[:255],
            content_type=image.content_type,
            size_bytes=image.size_bytes,
            width=image.width,
            height=image.height,
            alt_text=(image.alt_text or "").strip(),
            alt_text_cy=(image.alt_text_cy or "").strip() if text_cy is not None else None,
            sha256="",
            storage_key="",
        )
        for position, image in enumerate(images)
    ]
    if text_cy is None:
        post.deliveries = [
            Delivery(channel=c, channel_id=c.id, status=DeliveryStatus.PENDING.value)
            for c in channels
        ]
        return post
    from gateway.policy import image_alts
    from gateway.posts.bilingual import plan_for

    alts = image_alts(post)
    post.deliveries = [
        Delivery(channel=c, channel_id=c.id, status=DeliveryStatus.PENDING.value, language=language)
        for c in channels
        for language in plan_for(c, text_cy, text, alts)
    ]
    return post


def stored_images(post: Post) -> list[ImageFacts]:
    """The images saved with a post, as the live check takes them."""
    return [
        ImageFacts(
            i.filename,
            i.content_type,
            i.size_bytes,
            i.width or 0,
            i.height or 0,
            i.alt_text,
            i.alt_text_cy,
        )
        for i in post.images
    ]


def check_unsaved(
    author: User,
    *,
    text: str,
    channel_ids: Iterable[int],
    images: Sequence[ImageFacts] = (),
    scheduled_at: datetime | None = None,
    emergency: bool = False,
    emergency_category: str | None = None,
    text_cy: str | None = None,
) -> LiveCheck:
    """The findings and counts for the form as it is now, at ``scheduled_at`` (or now).
    ``text_cy``: the Welsh text of a bilingual form (issue 18), checked with the English as
    the submit checks them; while only one of the two is written, that one is checked.

    Refused with a :class:`PostError` where the submit would refuse the input itself (a
    channel that does not exist or is disabled, text over the longest limit, too many
    images, an emergency category not on the form); an empty text is no error while typing."""
    text = (text or "").strip()
    welsh = (text_cy or "").strip() if text_cy is not None else None
    if len(text) > MAX_TEXT_CHARS:
        raise PostError(f"The text must be {MAX_TEXT_CHARS:,} characters or fewer", "text")
    if welsh is not None and len(welsh) > MAX_TEXT_CHARS:
        raise PostError(f"The Welsh text must be {MAX_TEXT_CHARS:,} characters or fewer", "text_cy")
    # Only one language written so far: check that one alone, its findings named by it.
    only = None
    if welsh is not None and not (text and welsh):
        only = bilingual.WELSH if welsh else bilingual.ENGLISH
        text, welsh = (welsh or text), None
    if len(images) > MAX_IMAGES:
        raise PostError(f"Add at most {MAX_IMAGES} images.", "images")
    ids = list(channel_ids)
    channels = service.chosen_channels(ids) if ids else []
    if emergency and emergency_category:
        try:
            rules.check_category(emergency_category)
        except rules.EmergencyError as exc:
            raise PostError(exc.message, exc.field) from None
    category = emergency_category if emergency else None
    at = utcnow() if emergency else (scheduled_at or utcnow())
    post = unsaved_post(
        author,
        text=text,
        channels=channels,
        images=images,
        scheduled_at=None if emergency else scheduled_at,
        emergency_category=category,
        text_cy=welsh,
    )
    if only == bilingual.WELSH:
        # The Welsh text checked alone: its images' Welsh alt texts with it.
        for image, facts in zip(post.images, images, strict=True):
            image.alt_text = (facts.alt_text_cy or "").strip()
    if not text:
        by_channel: dict = {}
    elif channels:
        by_channel = service.findings_for(post, at=at)
    else:
        by_channel = {None: _content_findings(post, at)}
    # An emergency post leaves out a channel that cannot take it (its own limits, or it needs
    # reconnecting); any other post is refused until the channel is fixed or unticked.
    if emergency:
        from gateway.posts.emergency import left_out

        skipped, problems = (left_out(post, by_channel) if text else {}), {}
    else:
        skipped, problems = {}, _channel_problems(post)
    if only:
        by_channel = {
            channel_id: [replace(f, language=only) for f in found]
            for channel_id, found in by_channel.items()
        }
    if welsh is None:
        counts = [
            ChannelCount(
                c,
                **_count(text, c.platform, c.limits),
                left_out=skipped.get(c.id),
                problem=problems.get(c.id),
                language=only or "",
                text=text,
            )
            for c in channels
        ]
    else:
        counts = [
            _bilingual_count(d, welsh, text, skipped, problems)
            for d in post.deliveries
            if d.channel is not None
        ]
    findings, finding_channels = merge_findings(by_channel)
    # Each once, as the post pages show them (issue 22, item 9).
    findings = shown_once(findings)
    return LiveCheck(
        text,
        at,
        emergency,
        findings,
        finding_channels,
        counts,
        content_only=not channels,
        left_out=skipped,
    )


def _bilingual_count(
    delivery: Delivery, welsh: str, english: str, skipped: dict, problems: dict
) -> ChannelCount:
    """One planned delivery of a bilingual post, counted as its platform counts what it sends
    (one language, or both in one post)."""
    channel = delivery.channel
    sent = bilingual.pick(delivery.language, welsh, english)
    return ChannelCount(
        channel,
        **_count(sent, channel.platform, channel.limits),
        left_out=skipped.get(channel.id),
        problem=problems.get(channel.id),
        language=delivery.language,
        text=sent,
        parts=tuple(
            (lang, welsh if lang == bilingual.WELSH else english)
            for lang in bilingual.languages_of(delivery.language)
        ),
    )


def _channel_problems(post: Post) -> dict[int, str]:
    """Why a chosen channel could not take the post, as the submit finds it."""
    found = {d.channel_id: service.channel_problem(d) for d in post.deliveries}
    return {channel_id: problem for channel_id, problem in found.items() if problem}


def _count(text: str, platform: str, limits: dict[str, int] | None = None) -> dict:
    shown = service.preview(text, platform, limits)
    return {"count": shown["count"], "limit": shown["limit"]}


def _content_findings(post: Post, at: datetime) -> list[Finding]:
    """The rules about the words alone, for a post with no channel yet: the engine asked as
    the submit asks it (gateway.policy.findings_for), without the platform's own rules."""
    from gateway.domain.guardrails import GuardrailInputError
    from gateway.policy import merge_languages

    languages = (bilingual.WELSH, bilingual.ENGLISH) if post.bilingual else (None,)
    found: list[Finding] = []
    for language in languages:
        subject = post_to_check(post, language or bilingual.MONOLINGUAL)
        try:
            each = check(subject, CONTENT_ONLY_PLATFORM, at, current_context())
        except GuardrailInputError as exc:
            raise PostError(str(exc), "text") from None
        found += [replace(f, language=language) if language else f for f in each]
    found = merge_languages(found) if post.bilingual else found
    return [f for f in found if not f.rule.startswith(PLATFORM_RULE_PREFIX)]

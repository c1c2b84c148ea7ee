"""The guardrails' context as it is in the database now, and the guardrails asked per post.

The web form, the approval step and the publish job all call ``findings_for`` so they ask the
same question of the same pure engine (gateway.domain.guardrails).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from gateway.domain import bilingual
from gateway.domain.emergency import policy_category
from gateway.domain.guardrails import (
    AllowedContacts,
    Election,
    ElectionKind,
    Finding,
    ImageToCheck,
    PolicyContext,
    PostToCheck,
    check,
)
from gateway.domain.guardrails.citations import Citations
from gateway.domain.guardrails.media import find_platform
from gateway.domain.guardrails.register import Person, Register
from gateway.domain.statuses import DeliveryStatus
from gateway.extensions import db
from gateway.models import (
    AllowedContact,
    ClosureDay,
    PolicySetting,
    PolicyVersion,
    Post,
    RegisterPerson,
)
from gateway.models import Election as ElectionRow

_cache_lock = threading.Lock()
#: Compiled contexts by (database, policy version, nation).
_cache: dict[tuple[str, int, str], PolicyContext] = {}
_CACHE_SIZE = 4
#: The council's own citation of each policy clause is a policy setting under this prefix and
#: the clause's key ("citation.personal_data"), kept on the admin's "Policy clauses" page.
CITATION_PREFIX = "citation."


def citations() -> Citations:
    """The council's own citations, as the admin saved them (gateway.admin.policy)."""
    rows = db.session.execute(
        select(PolicySetting.key, PolicySetting.value).where(
            PolicySetting.key.startswith(CITATION_PREFIX, autoescape=True)
        )
    ).all()
    return Citations.of((key.removeprefix(CITATION_PREFIX), value) for key, value in rows)


def _election(row: ElectionRow) -> Election:
    return Election(
        kind=ElectionKind(row.kind),
        polling_day=row.polling_day,
        notice_date=row.notice_published,
        wards=frozenset(w.strip() for w in (row.wards or "").splitlines() if w.strip()),
        subject_terms=tuple(
            t.strip() for t in (row.subject or "").replace("\n", ",").split(",") if t.strip()
        ),
        name=row.name or "",
    )


def current_context() -> PolicyContext:
    """The policy as it is in the database now: one query when nothing changed.

    Contexts are cached by the policy data's version number, which database triggers move on
    with any change to the register, elections, allowed contacts or closure days (migration
    0005), so a publish-time check always sees the data as it is at that instant.
    """
    version = db.session.scalar(select(PolicyVersion.version).where(PolicyVersion.id == 1))
    nation = current_app.config.get("HOLIDAY_NATION", "ENG")
    # The database's identity too: a process may serve several databases (tests, benchmarks).
    key = (str(db.engine.url), version, nation)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    # Contexts are kept by the policy version: policy_settings moves it on too (migration
    # 0014), so a citation changed by an admin is cited at once.
    people = db.session.execute(
        select(
            RegisterPerson.name, RegisterPerson.party, RegisterPerson.role, RegisterPerson.ward
        ).order_by(RegisterPerson.id)
    ).all()
    elections = db.session.scalars(select(ElectionRow).order_by(ElectionRow.id)).all()
    contacts = db.session.execute(
        select(AllowedContact.kind, AllowedContact.value).order_by(AllowedContact.id)
    ).all()
    closures = db.session.scalars(select(ClosureDay.day)).all()
    contacts_text = "\n".join(f"{kind}: {value}" for kind, value in contacts)
    context = PolicyContext(
        register=Register(Person(*p) for p in people),
        elections=tuple(_election(e) for e in elections),
        contacts=AllowedContacts.from_text(contacts_text),
        closure_days=frozenset(closures),
        holiday_nation=nation,
        citations=citations(),
    )
    if version is not None:
        with _cache_lock:
            if len(_cache) >= _CACHE_SIZE:
                _cache.clear()
            _cache[key] = context
    return context


def _image(image, alt_text: str | None) -> ImageToCheck:  # noqa: ANN001
    return ImageToCheck(
        filename=image.filename,
        alt_text=alt_text,
        content_type=image.content_type,
        size_bytes=image.size_bytes,
        width=image.width or 0,
        height=image.height or 0,
    )


def post_to_check(post: Post, language: str = bilingual.MONOLINGUAL) -> PostToCheck:
    """The post as the engine reads it: for a bilingual post, the text and alt texts a
    delivery of ``language`` sends ("cy", "en", or both in one post: "cy+en", "en+cy")."""
    if not post.bilingual or language == bilingual.MONOLINGUAL:
        return PostToCheck(
            text=post.text,
            images=tuple(_image(i, i.alt_text) for i in post.images),
            emergency_category=policy_category(post.emergency_category),
        )
    return PostToCheck(
        text=bilingual.pick(language, post.text_cy or "", post.text),
        images=tuple(
            _image(i, bilingual.pick(language, i.alt_text_cy or "", i.alt_text or ""))
            for i in post.images
        ),
        emergency_category=policy_category(post.emergency_category),
    )


def image_alts(post: Post) -> list[tuple[ImageToCheck, str, str]]:
    """Each image with its Welsh and English alt text (gateway.domain.bilingual.plan)."""
    return [(_image(i, i.alt_text), i.alt_text_cy or "", i.alt_text or "") for i in post.images]


_PLATFORM = "platform."


def merge_languages(findings: list[Finding]) -> list[Finding]:
    """Each finding once, in order: one found alike in both texts (office hours, a period,
    the images) is about the post, not about one language."""
    languages: dict[tuple, set] = {}
    first: dict[tuple, Finding] = {}
    for f in findings:
        key = (f.rule, f.outcome, f.reason, f.span, f.matched)
        languages.setdefault(key, set()).add(f.language)
        first.setdefault(key, f)
    out = []
    for key, f in first.items():
        both = len(languages[key]) > 1
        out.append(replace(f, language=None) if both else f)
    return out


def _bilingual_findings(
    post: Post, deliveries: list, at: datetime, context: PolicyContext
) -> dict[int, list[Finding]]:
    """Both texts checked by every rule on every channel (one approval covers both, and if
    one language cannot go out neither does), each finding naming its language; the
    platform's limits checked on what each delivery sends: one language, or both in one post
    (X weighted)."""
    by_platform: dict[tuple[str, str], tuple[list[Finding], dict[str, list[Finding]]]] = {}
    out: dict[int, list[Finding]] = {}
    for delivery in deliveries:
        platform = delivery.channel.platform
        channel_limits = delivery.channel.limits
        # Two Mastodon channels on different instances have different limits.
        key = (platform, delivery.channel.platform_limits or "")
        if key not in by_platform:
            content: list[Finding] = []
            limits: dict[str, list[Finding]] = {}
            for language in (bilingual.WELSH, bilingual.ENGLISH):
                found = check(
                    post_to_check(post, language), platform, at, context, limits=channel_limits
                )
                content += [
                    replace(f, language=language) for f in found if not f.rule.startswith(_PLATFORM)
                ]
                limits[language] = [
                    replace(f, language=language) for f in found if f.rule.startswith(_PLATFORM)
                ]
            by_platform[key] = (content, limits)
        content, limits = by_platform[key]
        language = delivery.language
        if bilingual.is_single_language(language):
            sent = limits[language]
        else:
            # One bilingual post (or a row written before the post was bilingual): its
            # limits are those of both texts together.
            language = language or bilingual.WELSH_FIRST
            subject = post_to_check(post, language)
            sent = [
                replace(f, language=language)
                for f in find_platform(subject.text, subject.images, platform, channel_limits)
            ]
        out.setdefault(delivery.channel_id, []).extend(content + sent)
    return {channel_id: merge_languages(items) for channel_id, items in out.items()}


def findings_for(
    post: Post, *, at: datetime, context: PolicyContext | None = None
) -> dict[int, list[Finding]]:
    """The guardrails' findings for the post on each of its channels, at ``at``; not on a
    channel an emergency post left out because it could not take it (issue 22)."""
    context = context or current_context()
    live = [d for d in post.deliveries if d.status != DeliveryStatus.SKIPPED.value]
    if post.bilingual:
        return _bilingual_findings(post, live, at, context)
    subject = post_to_check(post)
    return {
        d.channel_id: check(subject, d.channel.platform, at, context, limits=d.channel.limits)
        for d in live
    }

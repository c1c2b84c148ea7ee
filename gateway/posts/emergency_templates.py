"""Prepared emergency texts, one per category, kept by an admin (issue 18: "the form making the
Welsh text quick to enter (a prepared bilingual template per emergency category that an admin
keeps)").

A duty officer at 3am starts from the category's template, in both languages, rather than
translating a flood warning on a phone. The template is checked by the same guardrails as an
emergency post of its category when the admin saves it, so a template that the guardrails
would stop at 3am is never saved; what it only advises on is shown.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from gateway.audit import Actor, record
from gateway.domain import bilingual
from gateway.domain.emergency import CATEGORIES, policy_category
from gateway.domain.guardrails import Finding, Outcome, PostToCheck, check
from gateway.domain.guardrails.engine import OFFICE_HOURS_RULE
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import EmergencyTemplate, User
from gateway.models.base import utcnow
from gateway.posts.service import PostError

#: A template is checked as a Facebook post: the platform with the most room, so only the
#: content rules speak. Each channel's own limits are checked when the post is sent.
CHECKED_AS = "facebook"
#: Findings about a platform's limits or the hour are about a post being sent, not a text
#: kept for later.
_NOT_ABOUT_A_TEMPLATE = ("platform.", OFFICE_HOURS_RULE)
#: The longest template, as the emergency form's own limit on its text.
MAX_TEMPLATE_CHARS = 5_000


def all_templates() -> dict[str, EmergencyTemplate]:
    """Every saved template, by category."""
    rows = db.session.scalars(select(EmergencyTemplate)).all()
    return {row.category: row for row in rows if row.category in CATEGORIES}


def template_for(category: str | None) -> EmergencyTemplate | None:
    if category not in CATEGORIES:
        return None
    return db.session.get(EmergencyTemplate, category)


def findings(category: str, text_en: str, text_cy: str = "") -> list[Finding]:
    """What the guardrails say of the template's texts as an emergency post of ``category``
    now, each finding naming its language when the template has a Welsh text."""
    from gateway.policy import current_context

    context = current_context()
    at = utcnow()
    found: list[Finding] = []
    texts = [(bilingual.WELSH, text_cy), (bilingual.ENGLISH, text_en)]
    for language, text in texts:
        if not (text or "").strip():
            continue
        subject = PostToCheck(text=text, emergency_category=policy_category(category))
        for f in check(subject, CHECKED_AS, at, context):
            if f.rule.startswith(_NOT_ABOUT_A_TEMPLATE):
                continue
            found.append(replace(f, language=language) if text_cy.strip() else f)
    return found


def stops(found: list[Finding]) -> bool:
    """Whether the findings would stop an emergency post (a block, or a referral, which an
    emergency post cannot wait for)."""
    return any(f.outcome in (Outcome.BLOCK, Outcome.REFER) for f in found)


class TemplateRefused(PostError):
    """The guardrails would stop an emergency post with this text: not saved."""

    def __init__(self, found: list[Finding]) -> None:
        super().__init__(
            "The template cannot be saved until you change what the guardrails found, listed "
            "above the form: an emergency post with this text would be stopped.",
            "text",
        )
        self.findings = found


def save(
    admin: User, category: str, *, text_en: str, text_cy: str = "", welsh_required: bool = False
) -> tuple[bool, list[Finding]]:
    """Save the category's template (both texts required when ``welsh_required``), with an
    ``emergency_template.changed`` entry holding both texts and the previous ones. Returns
    whether anything changed and the guardrails' findings. The caller commits."""
    if not admin.has_role(Role.ADMIN):
        raise PostError("Only an admin can change the emergency templates.")
    if category not in CATEGORIES:
        raise PostError(f"{category!r} is not an emergency category.", "category")
    text_en, text_cy = (text_en or "").strip(), (text_cy or "").strip()
    if not text_en:
        raise PostError("Enter the English text of the template", "text")
    if welsh_required and not text_cy:
        raise PostError("Enter the Welsh text of the template", "text_cy")
    for text in (text_en, text_cy):
        if len(text) > MAX_TEMPLATE_CHARS:
            raise PostError(
                f"A template's text must be {MAX_TEMPLATE_CHARS:,} characters or fewer", "text"
            )
    found = findings(category, text_en, text_cy)
    if stops(found):
        raise TemplateRefused(found)
    row = db.session.get(EmergencyTemplate, category, with_for_update=True)
    previous = {"text_cy": row.text_cy, "text_en": row.text_en} if row is not None else None
    if previous == {"text_cy": text_cy, "text_en": text_en}:
        return False, found
    if row is None:
        row = EmergencyTemplate(category=category)
        db.session.add(row)
    row.text_cy, row.text_en = text_cy, text_en
    row.changed_at = utcnow()
    row.changed_by_id = admin.id
    record(
        "emergency_template.changed",
        actor=Actor.of(admin),
        obj=("emergency_template", category),
        payload={
            "category": category,
            "text_cy": text_cy,
            "text_en": text_en,
            "previous": previous,
            "findings": [f.as_dict() for f in found],
        },
    )
    db.session.flush()
    return True, found


def remove(admin: User, category: str) -> bool:
    """Delete the category's template, on the record; False when there was none."""
    if not admin.has_role(Role.ADMIN):
        raise PostError("Only an admin can change the emergency templates.")
    row = db.session.get(EmergencyTemplate, category, with_for_update=True)
    if row is None:
        return False
    record(
        "emergency_template.removed",
        actor=Actor.of(admin),
        obj=("emergency_template", category),
        payload={
            "category": category,
            "previous": {"text_cy": row.text_cy, "text_en": row.text_en},
        },
    )
    db.session.delete(row)
    db.session.flush()
    return True

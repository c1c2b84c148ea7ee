"""The guardrails' context as it is in the database now, and the guardrails asked per post.

The web form, the approval step and the publish job all call ``findings_for`` so they ask the
same question of the same pure engine (gateway.domain.guardrails).
"""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime

from flask import current_app
from sqlalchemy import select

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
from gateway.domain.guardrails.register import Person, Register
from gateway.extensions import db
from gateway.models import AllowedContact, ClosureDay, Post, RegisterPerson
from gateway.models import Election as ElectionRow

_cache_lock = threading.Lock()
#: Compiled contexts by the digest of the rows they were built from: a change to any row
#: gives a new digest, so a publish-time check always sees the register as it is now.
_cache: dict[str, PolicyContext] = {}
_CACHE_SIZE = 4


def _election(row: ElectionRow) -> Election:
    return Election(
        kind=ElectionKind(row.kind),
        polling_day=row.polling_day,
        notice_date=row.notice_published,
        wards=frozenset(w.strip() for w in (row.wards or "").splitlines() if w.strip()),
        subject_terms=tuple(
            t.strip() for t in (row.subject or "").replace("\n", ",").split(",") if t.strip()
        ),
        name=f"{row.kind} {row.polling_day.isoformat()}",
    )


def current_context() -> PolicyContext:
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
    nation = current_app.config.get("HOLIDAY_NATION", "ENG")
    digest = hashlib.sha256(
        repr(
            (
                people,
                [
                    (e.kind, e.polling_day, e.notice_published, e.wards, e.subject)
                    for e in elections
                ],
                contacts,
                sorted(closures),
                nation,
            )
        ).encode()
    ).hexdigest()
    with _cache_lock:
        cached = _cache.get(digest)
    if cached is not None:
        return cached
    contacts_text = "\n".join(f"{kind}: {value}" for kind, value in contacts)
    context = PolicyContext(
        register=Register(Person(*p) for p in people),
        elections=tuple(_election(e) for e in elections),
        contacts=AllowedContacts.from_text(contacts_text),
        closure_days=frozenset(closures),
        holiday_nation=nation,
    )
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.clear()
        _cache[digest] = context
    return context


def post_to_check(post: Post) -> PostToCheck:
    return PostToCheck(
        text=post.text,
        images=tuple(
            ImageToCheck(
                filename=i.filename,
                alt_text=i.alt_text,
                content_type=i.content_type,
                size_bytes=i.size_bytes,
                width=i.width or 0,
                height=i.height or 0,
            )
            for i in post.images
        ),
        emergency_category=policy_category(post.emergency_category),
    )


def findings_for(
    post: Post, *, at: datetime, context: PolicyContext | None = None
) -> dict[int, list[Finding]]:
    """The guardrails' findings for the post on each of its channels, at ``at``."""
    context = context or current_context()
    subject = post_to_check(post)
    return {d.channel_id: check(subject, d.channel.platform, at, context) for d in post.deliveries}

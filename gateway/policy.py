"""The guardrails' context as it is in the database now, and the guardrails asked per post.

The web form, the approval step and the publish job all call ``findings_for`` so they ask the
same question of the same pure engine (gateway.domain.guardrails).
"""

from __future__ import annotations

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
from gateway.domain.guardrails.citations import Citations
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
    """The guardrails' findings for the post on each of its channels, at ``at``; not on a
    channel an emergency post left out because it could not take it (issue 22)."""
    context = context or current_context()
    subject = post_to_check(post)
    return {
        d.channel_id: check(subject, d.channel.platform, at, context)
        for d in post.deliveries
        if d.status != DeliveryStatus.SKIPPED.value
    }

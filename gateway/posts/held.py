"""A person's decision on a delivery held with its partner in the other language (issue 18).

When one language's post of a bilingual post fails, is blocked or is held, its partner is held
with it (gateway.publishing.pairs) and "a person decides". A delivery held that way was never
sent (it was held before its platform call), so it can safely be sent now, or not at all:

- **publish alone**: it goes out without the other language after all, at once, through the
  ordinary claim (the approval and the guardrails are checked again); ``alone_by_id`` records
  who decided, and it is not held with its partner again;
- **do not publish**: it is cancelled, and the post settles from its other deliveries.

Both need a reason, on the record. Only deliveries held with a partner: a delivery held after
an unknown outcome may already be on the platform and is never released blindly.
The caller commits; the publish job is queued after the commit.
"""

from __future__ import annotations

from sqlalchemy import update

from gateway.audit import Actor, record
from gateway.domain import bilingual
from gateway.domain.roles import Role
from gateway.domain.statuses import DeliveryStatus, transition_delivery
from gateway.extensions import db
from gateway.models import Delivery, Post, User
from gateway.models.base import utcnow
from gateway.posts.service import MAX_REASON_CHARS, PostError

D = DeliveryStatus


def held_with_partner(post: Post, delivery_id: int) -> Delivery:
    """The post's delivery ``delivery_id``, held with its partner; PostError otherwise."""
    delivery = next((d for d in post.deliveries if d.id == delivery_id), None)
    if delivery is None:
        raise PostError("This post has no such delivery.")
    if delivery.status != D.HELD.value or delivery.held_with_id is None:
        raise PostError("Only a delivery held with its partner in the other language can be.")
    return delivery


def _check(officer: User, reason: str) -> str:
    if not officer.has_role(Role.OFFICER, Role.DUTY_OFFICER):
        raise PostError("Only an officer can decide on a held delivery.")
    reason = (reason or "").strip()
    if not reason:
        raise PostError("Enter the reason", "reason")
    if len(reason) > MAX_REASON_CHARS:
        raise PostError(f"The reason must be {MAX_REASON_CHARS:,} characters or fewer", "reason")
    return reason


def _take(delivery: Delivery, target: DeliveryStatus, **values: object) -> None:
    """Move the held delivery on only if it is still held with its partner (a conditional
    UPDATE: a second click, or another officer's decision a moment earlier, changes nothing)."""
    new = transition_delivery(delivery.status_enum, target)
    changed = db.session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery.id,
            Delivery.status == D.HELD.value,
            Delivery.held_with_id == delivery.held_with_id,
        )
        .values(status=new.value, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise PostError("Someone else decided on this delivery a moment ago.")
    db.session.refresh(delivery)


def _payload(delivery: Delivery, partner_id: int | None, reason: str) -> dict:
    return {
        "post_id": delivery.post_id,
        "delivery_id": delivery.id,
        "language": delivery.language,
        "partner_id": partner_id,
        "reason": reason,
    }


def publish_alone(post: Post, delivery_id: int, officer: User, reason: str) -> Delivery:
    """The held delivery goes out now without its partner: ``delivery.released_alone``."""
    from gateway.publishing.release import enqueue_delivery_after_commit

    reason = _check(officer, reason)
    delivery = held_with_partner(post, delivery_id)
    partner_id = delivery.held_with_id
    now = utcnow()
    _take(
        delivery,
        D.SCHEDULED,
        alone_by_id=officer.id,
        held_with_id=None,
        held_reason=None,
        due_at=now,  # now, as decided: not the missed time, which the grace rule would hold
        next_attempt_at=None,
    )
    record(
        "delivery.released_alone",
        actor=Actor.of(officer),
        obj=("delivery", delivery.id),
        payload=_payload(delivery, partner_id, reason),
    )
    enqueue_delivery_after_commit(delivery, emergency=bool(post.emergency_category))
    return delivery


def do_not_publish(post: Post, delivery_id: int, officer: User, reason: str) -> Delivery:
    """The held delivery is cancelled, and the post settles: ``delivery.cancelled``."""
    from gateway.publishing.attempt import settle_post

    reason = _check(officer, reason)
    delivery = held_with_partner(post, delivery_id)
    partner_id = delivery.held_with_id
    _take(delivery, D.CANCELLED)
    record(
        "delivery.cancelled",
        actor=Actor.of(officer),
        obj=("delivery", delivery.id),
        payload=_payload(delivery, partner_id, reason),
    )
    settle_post(post)
    return delivery


def language_words(delivery: Delivery) -> str:
    """ "Welsh", "English": the language a delivery sends, for the page's buttons."""
    return bilingual.LANGUAGE_NAMES.get(delivery.language, bilingual.label(delivery.language))

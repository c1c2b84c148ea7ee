"""The Welsh and English posts of a bilingual post go out together, or neither does (issue 18).

A bilingual post that cannot go out as one post on a channel goes out as two at the same moment
(its Welsh and its English post), or each on its own language's account. The Welsh Language
Standards ask that the Welsh version is not treated less favourably: so if one language's
delivery fails for good, is blocked by the publish-time check, or is held (outcome unknown,
missed, channel to reconnect), its partner in the other language is held with it and a person
decides. A post never goes out in English only because the Welsh one failed.

Partners are published by different workers at the same instant, so the rule is kept in three
places, each under the post's row lock (gateway.publishing.attempt._lock_post_row):

1. At the claim, before the platform call: a partner already stopped, or one that the same
   checks would stop now (the guardrails on its channel, its channel unusable), holds this one.
2. When a delivery is stopped (blocked, held, failed), each partner not yet sent is held with it.
3. A partner already sent at the same moment cannot be recalled, and is never deleted: the pair
   is recorded in the log (``delivery.partner_published_alone``) and the delivery that did not
   go out is held for a person rather than failed.

Only functions of the publish attempt's transaction; the caller commits.
"""

from __future__ import annotations

from sqlalchemy import update

from gateway.audit import Actor, record
from gateway.domain import bilingual
from gateway.domain.statuses import DeliveryStatus, transition_delivery
from gateway.extensions import db
from gateway.models import Delivery, Post

D = DeliveryStatus
SYSTEM = Actor.system()

#: A partner in one of these will not go out without a person's decision: its pair waits too.
#: Skipped: an emergency post left its channel out (issue 22), the other language must not go
#: out alone on the same platform either.
STOPPED = frozenset({D.FAILED.value, D.BLOCKED.value, D.HELD.value, D.SKIPPED.value})
#: A partner in one of these has not been sent yet and waits for its time: it can still be
#: held. (A pending one belongs to a post not approved: nothing of it goes out.)
NOT_SENT = frozenset({D.SCHEDULED.value, D.RETRY.value})
#: A partner in one of these may already be on the platform.
SENT = frozenset({D.PUBLISHING.value, D.PUBLISHED.value})

_WHY = {
    D.FAILED.value: "was refused by the platform",
    D.BLOCKED.value: "was blocked at publish time",
    D.HELD.value: "is held for a person",
    D.SKIPPED.value: "was left out of this emergency post",
}


def partners(post: Post, delivery: Delivery) -> list[Delivery]:
    """The deliveries of the other language that go out only with ``delivery``."""
    return [
        d
        for d in post.deliveries
        if d.id != delivery.id
        and bilingual.are_partners(
            delivery.language, delivery.channel.platform, d.language, d.channel.platform
        )
    ]


def _name(delivery: Delivery) -> str:
    language = bilingual.LANGUAGE_NAMES.get(delivery.language, "other")
    return f"{language} post on {delivery.channel.display_name}"


def _decide() -> str:
    return (
        "A person decides: fix the cause and release both, publish this one alone, or "
        "cancel the post."
    )


def stopped_partner(post: Post, delivery: Delivery) -> Delivery | None:
    """A partner that will not go out without a person, unless a person already decided this
    delivery may go out alone (``alone_by_id``)."""
    if delivery.alone_by_id is not None:
        return None
    return next((p for p in partners(post, delivery) if p.status in STOPPED), None)


def held_with_reason(partner: Delivery, why: str | None = None) -> str:
    """What a person reads on a delivery held with its partner."""
    why = why or _WHY.get(partner.status, f"is {partner.status}")
    detail = partner.held_reason or partner.last_error
    if detail and why in _WHY.values():
        why = f"{why} ({detail})"
    return (
        f"Held with its {_name(partner)}, which {why}: a post never goes out in one language "
        f"only. {_decide()}"
    )


def hold_with(delivery: Delivery, partner: Delivery, reason: str, attempt_id: str | None) -> bool:
    """Hold ``delivery`` with ``partner`` if it is still as read (a conditional UPDATE, so a
    claim or an outcome committed since is never overwritten). Returns whether it was held."""
    target = transition_delivery(delivery.status_enum, D.HELD)
    held = db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery.id, Delivery.status == delivery.status)
        .values(
            status=target.value,
            held_reason=reason,
            held_with_id=partner.id,
            lease_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if held != 1:
        return False
    delivery.status, delivery.held_reason, delivery.held_with_id = target.value, reason, partner.id
    delivery.lease_expires_at = None
    record(
        "delivery.held",
        actor=SYSTEM,
        obj=("delivery", delivery.id),
        payload={
            "post_id": delivery.post_id,
            "delivery_id": delivery.id,
            "attempt_id": attempt_id,
            "language": delivery.language,
            "held_with_id": partner.id,
            "reason": reason,
        },
    )
    return True


def hold_partners(post: Post, stopped: Delivery) -> list[Delivery]:
    """``stopped`` will not go out now: hold each partner not sent yet with it. Returns the
    partners already sent (publishing or published) at the same moment."""
    sent = []
    for partner in partners(post, stopped):
        if partner.status in NOT_SENT and partner.alone_by_id is None:
            hold_with(partner, stopped, held_with_reason(stopped), None)
        elif partner.status in SENT:
            sent.append(partner)
    return sent


def sent_alone_reason(partner: Delivery, what: str) -> str:
    """What a person reads on a delivery that did not go out while its partner did."""
    if partner.status == D.PUBLISHED.value:
        sent = "was already published at the same moment and stays up"
    else:
        sent = "was already being sent at the same moment and cannot be recalled"
    return (
        f"{what} Its {_name(partner)} {sent}: the post may be out in one language only. {_decide()}"
    )


def record_published_alone(published: Delivery, missing: Delivery) -> None:
    """On the record: ``published`` went out while its partner ``missing`` did not."""
    record(
        "delivery.partner_published_alone",
        actor=SYSTEM,
        obj=("delivery", published.id),
        payload={
            "post_id": published.post_id,
            "delivery_id": published.id,
            "language": published.language,
            "platform_post_id": published.platform_post_id,
            "partner_id": missing.id,
            "partner_language": missing.language,
            "partner_status": missing.status,
        },
    )


def channel_unusable(channel) -> str | None:  # noqa: ANN001
    """Why a partner's channel could not take its post now, as the claim would find it."""
    if not channel.enabled:
        return "its channel is disabled"
    if channel.needs_reauthorisation or channel.credentials_encrypted is None:
        return "its channel needs to be reconnected"
    return None

"""Post and delivery statuses, and the one function through which each one changes.

A status change that is not in the tables below is refused, so no code path (web form, JSON API,
worker, sweep) can move a post somewhere the approval process does not allow.
"""

from __future__ import annotations

from enum import Enum, StrEnum


class PostStatus(StrEnum):
    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"  # approved and scheduled: deliveries wait for their due time
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    PARTLY_PUBLISHED = "partly_published"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    BLOCKED = "blocked"  # blocked at publish time by the guardrails or the approval check

    @property
    def label(self) -> str:
        return _POST_LABELS[self]


_POST_LABELS = {
    PostStatus.DRAFT: "Draft",
    PostStatus.AWAITING_APPROVAL: "Awaiting approval",
    PostStatus.APPROVED: "Approved (scheduled)",
    PostStatus.PUBLISHING: "Publishing",
    PostStatus.PUBLISHED: "Published",
    PostStatus.PARTLY_PUBLISHED: "Partly published",
    PostStatus.FAILED: "Failed",
    PostStatus.REJECTED: "Rejected",
    PostStatus.CANCELLED: "Cancelled",
    PostStatus.BLOCKED: "Blocked at publish time",
}

P = PostStatus

#: Every allowed post transition. Editing a submitted or approved post sends it back to draft
#: (issue 6: "Editing a submitted or approved post sends it back to draft and clears its
#: approvals"); a failed, rejected or blocked post can be reworked as a draft.
POST_TRANSITIONS: frozenset[tuple[PostStatus, PostStatus]] = frozenset(
    {
        (P.DRAFT, P.AWAITING_APPROVAL),
        (P.DRAFT, P.CANCELLED),
        (P.AWAITING_APPROVAL, P.APPROVED),
        (P.AWAITING_APPROVAL, P.REJECTED),
        (P.AWAITING_APPROVAL, P.DRAFT),
        (P.AWAITING_APPROVAL, P.CANCELLED),
        (P.APPROVED, P.PUBLISHING),
        (P.APPROVED, P.DRAFT),
        (P.APPROVED, P.CANCELLED),
        (P.APPROVED, P.BLOCKED),
        (P.PUBLISHING, P.PUBLISHED),
        (P.PUBLISHING, P.PARTLY_PUBLISHED),
        (P.PUBLISHING, P.FAILED),
        (P.PUBLISHING, P.BLOCKED),
        (P.PARTLY_PUBLISHED, P.PUBLISHING),  # a person retries the channels that failed
        (P.FAILED, P.PUBLISHING),  # a person retries after the cause is fixed
        (P.FAILED, P.DRAFT),
        (P.REJECTED, P.DRAFT),
        (P.BLOCKED, P.DRAFT),
    }
)

#: Emergency posts skip the second approval (issue 7; Swale policy: posts outside office hours
#: "in cases of emergencies"), so a duty officer's draft goes straight to approved.
EMERGENCY_TRANSITIONS: frozenset[tuple[PostStatus, PostStatus]] = frozenset({(P.DRAFT, P.APPROVED)})

TERMINAL_POST_STATUSES = frozenset({P.PUBLISHED, P.CANCELLED})


class TransitionNotAllowed(ValueError):
    """A status change the approval process does not allow."""

    def __init__(self, kind: str, current: Enum, target: Enum) -> None:
        super().__init__(f"A {kind} cannot go from {current.value} to {target.value}.")
        self.current = current
        self.target = target


def transition(current: PostStatus, target: PostStatus, *, emergency: bool = False) -> PostStatus:
    """Return ``target`` if a post may move there from ``current``, else raise."""
    current, target = PostStatus(current), PostStatus(target)
    if (current, target) in POST_TRANSITIONS or (
        emergency and (current, target) in EMERGENCY_TRANSITIONS
    ):
        return target
    raise TransitionNotAllowed("post", current, target)


class DeliveryStatus(StrEnum):
    """One post on one channel."""

    PENDING = "pending"  # the post is not approved yet
    SCHEDULED = "scheduled"  # approved, waiting for its due time
    PUBLISHING = "publishing"  # claimed by a worker: an attempt is under way
    PUBLISHED = "published"
    RETRY = "retry"  # failed before reaching the platform: tried again after a back-off
    HELD = "held"  # waits for a person: outcome unknown, missed, reauthorisation, quota
    FAILED = "failed"  # the platform rejected it
    BLOCKED = "blocked"  # the guardrails or the approval check stopped it at publish time
    CANCELLED = "cancelled"
    #: An emergency post left this channel out: it could not take the post (issue 22).
    SKIPPED = "skipped"


D = DeliveryStatus

DELIVERY_TRANSITIONS: frozenset[tuple[DeliveryStatus, DeliveryStatus]] = frozenset(
    {
        (D.PENDING, D.SCHEDULED),
        (D.PENDING, D.CANCELLED),
        (D.SCHEDULED, D.PUBLISHING),
        (D.SCHEDULED, D.PENDING),  # the post went back to draft
        (D.SCHEDULED, D.CANCELLED),
        (D.SCHEDULED, D.HELD),  # missed its grace period, or its channel needs reconnecting
        (D.SCHEDULED, D.BLOCKED),
        (D.RETRY, D.PUBLISHING),
        (D.RETRY, D.CANCELLED),
        (D.RETRY, D.HELD),
        (D.RETRY, D.BLOCKED),
        (D.PUBLISHING, D.PUBLISHED),
        (D.PUBLISHING, D.RETRY),
        (D.PUBLISHING, D.HELD),
        (D.PUBLISHING, D.FAILED),
        (D.PUBLISHING, D.BLOCKED),
        (D.HELD, D.SCHEDULED),  # a person releases it
        (D.HELD, D.PUBLISHED),  # a person confirms it did reach the platform
        (D.HELD, D.FAILED),
        (D.HELD, D.CANCELLED),
        (D.HELD, D.PENDING),  # the post was edited back to draft
        # Refused by the platform while its partner in the other language was being sent at
        # the same moment and went out: held for a person, never left as a plain failure of
        # a post that is now out in one language only (issue 18, gateway.publishing.pairs).
        (D.FAILED, D.HELD),
        (D.RETRY, D.PENDING),
        (D.FAILED, D.SCHEDULED),
        (D.FAILED, D.PENDING),
        (D.BLOCKED, D.PENDING),
        # An emergency post reaches every channel it can; one that cannot take it is left
        # out at once, before anything is scheduled (issue 22). Edited, it is tried again.
        (D.PENDING, D.SKIPPED),
        (D.SKIPPED, D.PENDING),
    }
)


def transition_delivery(current: DeliveryStatus, target: DeliveryStatus) -> DeliveryStatus:
    """Return ``target`` if a delivery may move there from ``current``, else raise."""
    current, target = DeliveryStatus(current), DeliveryStatus(target)
    if (current, target) in DELIVERY_TRANSITIONS:
        return target
    raise TransitionNotAllowed("delivery", current, target)

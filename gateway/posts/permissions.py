"""Who may do what to a post: one answer for the officers' pages and the JSON API (issue 17).

The roles each action needs are declared here once; the route decorators of both
(``gateway.security.requires``) take them from here, and :func:`actions_for` says which actions
a person may take on one post now (the post page's buttons, the API's ``actions``). The object
checks (only the holder edits or submits; nobody approves what they wrote or changed) stay in
the post service, which both call.
"""

from __future__ import annotations

from gateway.domain.guardrails import Finding, Outcome
from gateway.domain.roles import Role
from gateway.domain.statuses import PostStatus
from gateway.models import Post, User
from gateway.posts import service

#: Draft, edit, submit, take over and cancel a post.
WRITE = (Role.OFFICER, Role.DUTY_OFFICER)
#: Approve or reject another officer's post.
APPROVE = (Role.OFFICER,)
#: Decide a guardrail referral, with a written reason.
DECIDE_REFERRAL = (Role.MONITORING_OFFICER,)
#: Send an emergency post (out at once out of hours, fast-tracked in them).
EMERGENCY = (Role.DUTY_OFFICER,)
#: The approval queue.
QUEUE = (Role.OFFICER, Role.MONITORING_OFFICER)

EDITABLE = service.EDITABLE_STATUSES
CANCELLABLE = frozenset({PostStatus.DRAFT, PostStatus.AWAITING_APPROVAL, PostStatus.APPROVED})


def actions_for(post: Post, user: User, findings: list[Finding]) -> dict[str, bool]:
    """The actions ``user`` may take on ``post`` now. The service refuses the others anyway:
    this is what a page offers and what the API lists, never the check itself."""
    status = post.status_enum
    holds = post.current_holder_id == user.id
    can_write = user.has_role(*WRITE)
    awaiting = status is PostStatus.AWAITING_APPROVAL
    refusal = service.writers_refusal(post, user) if awaiting else None
    return {
        "edit": can_write and holds and status in EDITABLE,
        "take_over": can_write and not holds and status in EDITABLE,
        "submit": can_write and holds and status is PostStatus.DRAFT,
        "approve": user.has_role(*APPROVE) and awaiting and refusal is None,
        "reject": user.has_role(*APPROVE) and awaiting and refusal is None,
        "referral": user.has_role(*DECIDE_REFERRAL)
        and awaiting
        and any(f.outcome is Outcome.REFER for f in findings),
        "cancel": can_write and status in CANCELLABLE,
    }

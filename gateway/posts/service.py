"""The post service: one place that enforces the approval process for the web form, the JSON
API and the worker alike.

Every function works inside the caller's database transaction and writes its audit entry there;
the caller commits. Two-person approval is enforced here, not in a template (STYLE.md, from GOV.UK
Notify): nobody approves their own post, whatever a form says.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from gateway.audit import Actor, content_of, record
from gateway.domain import bilingual, two_person
from gateway.domain.fingerprint import fingerprint
from gateway.domain.guardrails import Finding, GuardrailInputError, Outcome
from gateway.domain.roles import Role
from gateway.domain.statuses import (
    DeliveryStatus,
    PostStatus,
    TransitionNotAllowed,
    transition,
    transition_delivery,
)
from gateway.extensions import db
from gateway.models import Approval, Channel, Delivery, Post, PostEditor, PostImage, User
from gateway.models.base import utcnow
from gateway.policy import findings_for as _policy_findings
from gateway.posts import bilingual as bilingual_setting
from gateway.posts import images as image_store

#: Approval decisions kept in the approvals table.
APPROVED = "approved"
REJECTED = "rejected"
REFERRAL_CLEARED = "referral_cleared"
REFERRAL_UPHELD = "referral_upheld"
MAX_TEXT_CHARS = 63_206  # Facebook's limit, the longest of our platforms
MAX_IMAGES = 4  # X's limit, the smallest of our platforms
MAX_ALT_CHARS = 1_500  # X's alt text limit (Facebook's and Mastodon's are longer)
MAX_REASON_CHARS = 2_000  # a reason is a sentence or two for the record, not a document
#: A delivery an emergency post left out (gateway.posts.emergency, issue 22): never scheduled,
#: and not checked by the guardrails again.
SKIPPED = DeliveryStatus.SKIPPED.value
#: The statuses in which a post can be edited, and so taken over.
EDITABLE_STATUSES = frozenset(
    {
        PostStatus.DRAFT,
        PostStatus.AWAITING_APPROVAL,
        PostStatus.APPROVED,
        PostStatus.REJECTED,
        PostStatus.BLOCKED,
        PostStatus.FAILED,
    }
)


class PostError(ValueError):
    """A user-facing reason; ``field`` names the form field it belongs to, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class NewImage:
    filename: str
    content_type: str
    data: bytes
    alt_text: str
    #: The Welsh alt text, on a bilingual post (``alt_text`` is then the English one).
    alt_text_cy: str | None = None


def _record(action: str, post: Post, user: User, payload: dict, *, content: bool = True) -> None:
    """An audit entry by ``user`` about ``post``, holding the post's content as it is now
    (what was created, edited, checked or approved) unless ``content`` is False."""
    record(
        action,
        actor=Actor.of(user),
        obj=("post", post.id),
        payload=payload,
        content=content_of(post) if content else None,
    )


def _channels(channel_ids: Iterable[int]) -> list[Channel]:
    ids = sorted({int(i) for i in channel_ids})
    if not ids:
        raise PostError("Choose at least one channel.", "channels")
    channels = db.session.scalars(select(Channel).where(Channel.id.in_(ids))).all()
    if len(channels) != len(ids):
        raise PostError("One of the chosen channels does not exist.", "channels")
    disabled = [c.display_name for c in channels if not c.enabled]
    if disabled:
        raise PostError(f"{', '.join(disabled)} is disabled: choose another channel.", "channels")
    return channels


def chosen_channels(channel_ids: Iterable[int]) -> list[Channel]:
    """The channels chosen on a form, refused as a save refuses them (the live check, issue
    22)."""
    return _channels(channel_ids)


def _check_text(text: str, language: str = "") -> str:
    field = "text_cy" if language == bilingual.WELSH else "text"
    words = f"{bilingual.LANGUAGE_NAMES[language]} text" if language else "text"
    text = (text or "").strip()
    if not text:
        raise PostError(f"Enter the {words} of the post.", field)
    if len(text) > MAX_TEXT_CHARS:
        raise PostError(f"The {words} is longer than {MAX_TEXT_CHARS:,} characters.", field)
    return text


def _set_texts(post: Post, text: str, text_cy: str | None) -> None:
    """The post's text, and its Welsh text when it is bilingual (issue 18): both are required
    while the installation publishes in Welsh and English (GATEWAY_BILINGUAL)."""
    if text_cy is None and bilingual_setting.enabled():
        raise PostError("Enter the Welsh text of the post.", "text_cy")
    if text_cy is None:
        post.text, post.text_cy = _check_text(text), None
        return
    post.text_cy = _check_text(text_cy, bilingual.WELSH)
    post.text = _check_text(text, bilingual.ENGLISH)


def _image_rows(new_images: Sequence[NewImage]) -> list[PostImage]:
    if len(new_images) > MAX_IMAGES:
        raise PostError(f"Add at most {MAX_IMAGES} images.", "images")
    rows = []
    for position, new in enumerate(new_images):
        try:
            checked = image_store.clean_image(new.data, new.filename)  # EXIF gone (#20)
        except image_store.ImageError as exc:
            raise PostError(str(exc), "images") from None
        image_store.store(checked.data, checked.sha256)
        rows.append(
            PostImage(
                position=position,
                filename=new.filename[:255],
                content_type=checked.content_type,
                size_bytes=checked.size_bytes,
                width=checked.width,
                height=checked.height,
                sha256=checked.sha256,
                alt_text=(new.alt_text or "").strip(),
                alt_text_cy=(new.alt_text_cy or "").strip()
                if new.alt_text_cy is not None
                else None,
                storage_key=checked.sha256,
            )
        )
    return rows


def planned(post: Post, channel: Channel) -> tuple[str, ...]:
    """The deliveries ``channel`` gets for this post, by language (gateway.domain.bilingual):
    ("",) for a post in one language."""
    if not post.bilingual:
        return (bilingual.MONOLINGUAL,)
    from gateway.policy import image_alts

    return bilingual_setting.plan_for(channel, post.text_cy or "", post.text, image_alts(post))


def _set_channels(post: Post, channels: list[Channel]) -> None:
    """One delivery for each channel, or for a bilingual post each channel's planned
    deliveries: one bilingual post, or its Welsh and its English post, made in the council's
    order (Welsh first by default), so the first language's job is queued first."""
    if post.bilingual:
        settings = bilingual_setting.settings()
        channels = sorted(
            channels, key=lambda c: (bilingual.sending_order(c.language, settings), c.id)
        )
    wanted = {(c.id, language) for c in channels for language in planned(post, c)}
    for delivery in list(post.deliveries):
        if (delivery.channel_id, delivery.language) not in wanted:
            post.deliveries.remove(delivery)
    have = {(d.channel_id, d.language) for d in post.deliveries}
    for channel in channels:
        for language in planned(post, channel):
            if (channel.id, language) not in have:
                post.deliveries.append(
                    Delivery(channel=channel, channel_id=channel.id, language=language)
                )


def _post_payload(post: Post) -> dict:
    return {"author_id": post.author_id, "emergency_category": post.emergency_category}


def create_draft(
    author: User,
    *,
    text: str,
    channel_ids: Iterable[int],
    scheduled_at: datetime | None,
    images: Sequence[NewImage] = (),
    emergency_category: str | None = None,
    text_cy: str | None = None,
) -> Post:
    """A new draft. ``text_cy``: its Welsh text, making it bilingual (``text`` is then the
    English one); required while the installation publishes in both languages."""
    post = Post(
        author_id=author.id,
        holder_id=author.id,
        approval_round=0,
        status=PostStatus.DRAFT.value,
        scheduled_at=scheduled_at,
        emergency_category=emergency_category or None,
    )
    _set_texts(post, text, text_cy)
    post.images = _image_rows(images)
    _set_channels(post, _channels(channel_ids))
    db.session.add(post)
    db.session.flush()
    _record("post.created", post, author, _post_payload(post))
    return post


def _clear_approvals(post: Post) -> None:
    for approval in post.approvals:
        approval.current = False


def check_holder(post: Post, user: User, doing: str) -> None:
    """Only the officer who holds the post (its author, or whoever took it over) edits or
    submits it (issue 20): anyone else takes it over first, on the record."""
    if post.current_holder_id != user.id:
        holder = post.holder or post.author
        raise PostError(
            f"Only {holder.email} can {doing} this post. To {doing} it yourself, take it "
            "over first: that is recorded, and you then cannot approve it."
        )


def _note_editor(post: Post, editor: User) -> None:
    """Count ``editor`` among the writers of the post's open approval round."""
    if editor.id == post.author_id or editor.id in post.editor_ids():
        return
    post.editors.append(PostEditor(user_id=editor.id, round=post.approval_round))


def take_over(post: Post, officer: User, reason: str) -> None:
    """An officer becomes the post's holder, so they can edit and submit it (issue 20). What
    they then change makes them one of its writers: they cannot approve it."""
    if not officer.has_role(Role.OFFICER, Role.DUTY_OFFICER):
        raise PostError("Only an officer can take over a post.")
    if post.current_holder_id == officer.id:
        raise PostError("You already hold this post.")
    if post.status_enum not in EDITABLE_STATUSES:
        raise PostError(f"A post that is {post.status_enum.label.lower()} cannot be taken over.")
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise PostError("Say why you are taking the post over (the author is told).", "reason")
    if len(reason) > MAX_REASON_CHARS:
        raise PostError(f"Keep the reason under {MAX_REASON_CHARS:,} characters.", "reason")
    previous = post.current_holder_id
    post.holder_id = officer.id
    post.updated_at = utcnow()
    db.session.flush()
    _record(
        "post.taken_over",
        post,
        officer,
        {"previous_holder_id": previous, "holder_id": officer.id, "reason": reason},
        content=False,
    )


def update_post(
    post: Post,
    editor: User,
    *,
    text: str,
    channel_ids: Iterable[int],
    scheduled_at: datetime | None,
    images: Sequence[NewImage] | None = None,
    expected_version: int | None = None,
    text_cy: str | None = None,
) -> Post:
    """Edit a post. A submitted or approved post goes back to draft and loses its approvals.

    Only its holder edits it, and the edit makes the editor one of the writers its next
    approver must differ from."""
    status = _begin_edit(post, editor, expected_version)
    _set_texts(post, text, text_cy)
    post.scheduled_at = scheduled_at
    if images is not None:
        post.images = _image_rows(images)
    _set_channels(post, _channels(channel_ids))
    return _end_edit(post, editor, status)


def _begin_edit(post: Post, editor: User, expected_version: int | None) -> PostStatus:
    """The checks every edit makes (the holder, the version read, an editable status), then
    the post back to draft without its approvals; the status it had."""
    check_holder(post, editor, "edit")
    if expected_version is not None and expected_version != post.version:
        raise PostError(
            "Someone else changed this post while you were editing it. Check their changes "
            "and make yours again."
        )
    status = post.status_enum
    if status not in EDITABLE_STATUSES:
        raise PostError(f"A post that is {status.label.lower()} cannot be edited.")
    if any(
        d.status in (DeliveryStatus.PUBLISHED.value, DeliveryStatus.PUBLISHING.value)
        for d in post.deliveries
    ):
        raise PostError("Part of this post is already published: make a new post instead.")
    if status is not PostStatus.DRAFT:
        post.status = transition(status, PostStatus.DRAFT).value
    _clear_approvals(post)
    return status


def _end_edit(post: Post, editor: User, status: PostStatus) -> Post:
    for delivery in post.deliveries:
        _reset_delivery(delivery)
    _note_editor(post, editor)
    post.updated_at = utcnow()
    db.session.flush()
    _record(
        "post.edited",
        post,
        editor,
        {**_post_payload(post), "previous_status": status.value, "round": post.approval_round},
    )
    return post


def check_alt_text(new: NewImage, *, bilingual_post: bool, number: int = 1) -> None:
    """Alt text is required (WCAG 2.2 1.1.1), and in Welsh too on a bilingual post: the words
    the post form uses."""
    words = "English alt text" if bilingual_post else "alt text"
    if not (new.alt_text or "").strip():
        raise PostError(f"Enter {words} for image {number}", "alt_text")
    if bilingual_post and not (new.alt_text_cy or "").strip():
        raise PostError(f"Enter Welsh alt text for image {number}", "alt_text_cy")
    for value, field in ((new.alt_text, "alt_text"), (new.alt_text_cy, "alt_text_cy")):
        if value is not None and len(value) > MAX_ALT_CHARS:
            raise PostError(f"Keep the alt text under {MAX_ALT_CHARS:,} characters.", field)


def add_image(
    post: Post, editor: User, new: NewImage, *, expected_version: int | None = None
) -> PostImage:
    """Add one image, with its alt text, after the post's others: an edit of the post (it goes
    back to draft, as any edit does). The image is checked and cleaned as every upload is."""
    status = _begin_edit(post, editor, expected_version)
    if len(post.images) >= MAX_IMAGES:
        raise PostError(f"Add at most {MAX_IMAGES} images.", "images")
    check_alt_text(new, bilingual_post=post.bilingual, number=len(post.images) + 1)
    (row,) = _image_rows([new])
    row.position = max((i.position for i in post.images), default=-1) + 1
    post.images.append(row)
    # A bilingual post's plan can depend on its images' alt texts (gateway.domain.bilingual).
    _set_channels(post, _channels(d.channel_id for d in post.deliveries))
    _end_edit(post, editor, status)
    return row


def remove_image(
    post: Post, editor: User, image_id: int, *, expected_version: int | None = None
) -> None:
    """Take one image off the post: an edit of the post, as :func:`add_image`."""
    image = next((i for i in post.images if i.id == image_id), None)
    if image is None:
        raise PostError("The post has no such image.", "images")
    status = _begin_edit(post, editor, expected_version)
    post.images.remove(image)
    _set_channels(post, _channels(d.channel_id for d in post.deliveries))
    _end_edit(post, editor, status)


def _reset_delivery(delivery: Delivery) -> None:
    if delivery.status == DeliveryStatus.PENDING.value:
        return
    delivery.status = transition_delivery(delivery.status_enum, DeliveryStatus.PENDING).value
    delivery.due_at = None
    delivery.next_attempt_at = None
    delivery.held_reason = None
    delivery.last_error = None


def findings_for(post: Post, *, at: datetime | None = None) -> dict[int, list[Finding]]:
    """Guardrail findings per channel at the time the post will go out (or ``at``)."""
    when = at or post.scheduled_at or utcnow()
    try:
        return _policy_findings(post, at=when)
    except GuardrailInputError as exc:
        raise PostError(str(exc), "text") from None


def distinct_findings(found: dict[int, list[Finding]]) -> list[Finding]:
    """Each finding once, in the order found: most rules find the same thing on every channel."""
    seen, out = set(), []
    for items in found.values():
        for f in items:
            key = (f.rule, f.outcome, f.reason, f.span, f.language)
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def finding_words(finding: Finding) -> str:
    """A finding's reason, saying which text of a bilingual post it is about."""
    if finding.language:
        return f"{bilingual.label(finding.language)} text: {finding.reason}"
    return finding.reason


def _blocking(found: dict[int, list[Finding]]) -> list[Finding]:
    return [f for f in distinct_findings(found) if f.outcome is Outcome.BLOCK]


def _referrals(found: dict[int, list[Finding]]) -> list[Finding]:
    return [f for f in distinct_findings(found) if f.outcome is Outcome.REFER]


def record_verdict(post: Post, actor: User, stage: str, found: dict[int, list[Finding]]) -> None:
    """Write the guardrails' findings on each channel to the publish log, whatever they say:
    a refused submission, approval or emergency post is on the record too."""
    _record(
        "guardrails.verdict",
        post,
        actor,
        {
            "stage": stage,
            "findings": {
                str(channel_id): [f.as_dict() for f in items] for channel_id, items in found.items()
            },
        },
    )


def channel_problem(delivery: Delivery) -> str | None:
    """Why this delivery's channel could not take a post now, or None."""
    from gateway.credentials import CredentialsError, decrypt_credentials

    channel = delivery.channel
    name = channel.display_name
    if not channel.enabled:
        return f"{name} is disabled: choose another channel."
    if channel.needs_reauthorisation or channel.credentials_encrypted is None:
        return f"{name} needs to be reconnected by an administrator first."
    try:
        decrypt_credentials(channel.id, channel.credentials_encrypted)
    except CredentialsError:
        return f"{name}'s stored credentials cannot be read: reconnect it."
    return None


def channel_problems(post: Post) -> list[str]:
    """Why a channel could not take this post, found when it is scheduled, not at 3am."""
    found = (channel_problem(d) for d in post.deliveries if d.status != SKIPPED)
    return [problem for problem in found if problem]


def check_channels(post: Post) -> None:
    """Refuse a post that one of its channels could not take (:func:`channel_problems`)."""
    problems = channel_problems(post)
    if problems:
        raise PostError(" ".join(problems), "channels")


def submit(post: Post, actor: User) -> list[Finding]:
    """Send a draft for approval. Refused while a guardrail blocks it; only its holder
    submits it."""
    check_holder(post, actor, "submit")
    check_channels(post)
    now = utcnow()
    if post.scheduled_at is None and not post.emergency_category:
        raise PostError("Choose the date and time the post goes out.", "scheduled_at")
    if post.scheduled_at is not None and post.scheduled_at < now:
        raise PostError("The publish time is in the past: choose a later time.", "scheduled_at")
    found = findings_for(post)
    record_verdict(post, actor, "submitted", found)
    blocking = _blocking(found)
    if blocking:
        raise PostError(
            "The post cannot be submitted: " + " ".join(finding_words(f) for f in blocking),
            "text",
        )
    try:
        post.status = transition(post.status_enum, PostStatus.AWAITING_APPROVAL).value
    except TransitionNotAllowed as exc:
        raise PostError(str(exc)) from None
    _record("post.submitted", post, actor, _post_payload(post))
    db.session.flush()
    return distinct_findings(found)


def _current(post: Post, decision: str, print_: str) -> Approval | None:
    for approval in post.approvals:
        if approval.current and approval.decision == decision and approval.fingerprint == print_:
            return approval
    return None


def decide_referral(post: Post, officer: User, *, cleared: bool, reason: str) -> None:
    """A monitoring officer's decision on a guardrail referral, with a written reason."""
    if not officer.has_role(Role.MONITORING_OFFICER):
        raise PostError("Only a monitoring officer can decide a referral.")
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise PostError("Write the reason for your decision (at least 10 characters).", "reason")
    if post.status_enum is not PostStatus.AWAITING_APPROVAL:
        raise PostError("Only a post awaiting approval can have a referral decided.")
    print_ = fingerprint(content_of(post))
    post.approvals.append(
        Approval(
            approver_id=officer.id,
            fingerprint=print_,
            decision=REFERRAL_CLEARED if cleared else REFERRAL_UPHELD,
            reason=reason,
        )
    )
    _record(
        "referral.decided",
        post,
        officer,
        {"cleared": cleared, "reason": reason, "fingerprint": print_},
    )
    if not cleared:
        post.status = transition(post.status_enum, PostStatus.REJECTED).value
        _clear_approvals(post)
    db.session.flush()


#: What an officer is told when the two-person rule refuses their approval.
_REFUSALS = {
    two_person.AUTHOR: (
        "You cannot approve your own post. You need another member of your team to approve it."
    ),
    two_person.EDITOR: (
        "You changed this post since it was last approved, so you cannot approve it. "
        "Another officer, who did not write or change it, needs to approve it."
    ),
}


def writers_refusal(post: Post, user: User) -> str | None:
    """Why ``user`` may not approve or reject this version of the post (two-person rule)."""
    why = two_person.approval_refusal(user.id, post.author_id, post.editor_ids())
    return _REFUSALS[why] if why else None


def approvers(post: Post) -> list[User]:
    """Who can approve this version of the post now: the active officers who wrote none of it
    (neither its author nor an editor of its open round), by email address."""
    from gateway.models import UserRole

    return list(
        db.session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(
                UserRole.role == Role.OFFICER.value,
                User.active.is_(True),
                User.id.notin_(two_person.writers(post.author_id, post.editor_ids())),
            )
            .distinct()
            .order_by(User.email)
        )
    )


def approve(post: Post, approver: User) -> None:
    """Approve another officer's post and schedule its deliveries.

    The approver must differ from everyone who wrote or changed this version: its author and
    each editor of its approval round (issue 20)."""
    refusal = writers_refusal(post, approver)
    if refusal:
        raise PostError(refusal)
    if not approver.has_role(Role.OFFICER):
        raise PostError("Only an officer can approve posts.")
    if post.status_enum is PostStatus.APPROVED:
        raise PostError("This post is already approved.")
    if post.status_enum is not PostStatus.AWAITING_APPROVAL:
        raise PostError(f"A post that is {post.status_enum.label.lower()} cannot be approved.")
    check_channels(post)
    found = findings_for(post)
    record_verdict(post, approver, "approval", found)
    blocking = _blocking(found)
    if blocking:
        raise PostError(
            "The post cannot be approved: " + " ".join(finding_words(f) for f in blocking)
        )
    print_ = fingerprint(content_of(post))
    if _referrals(found) and _current(post, REFERRAL_CLEARED, print_) is None:
        raise PostError(
            "A guardrail referred this post to the monitoring officer. It needs their "
            "decision, with a written reason, before it can be approved."
        )
    post.status = transition(post.status_enum, PostStatus.APPROVED).value
    round_ = post.approval_round
    editors = sorted(post.editor_ids(round_))
    post.approvals.append(
        Approval(approver_id=approver.id, fingerprint=print_, decision=APPROVED, round=round_)
    )
    post.approval_round = round_ + 1
    _record(
        "post.approved",
        post,
        approver,
        {
            "approver_id": approver.id,
            "author_id": post.author_id,
            "editor_ids": editors,
            "fingerprint": print_,
            "round": round_,
            # An emergency post approved by fast track goes out at once: receivers of
            # "emergency.sent" are told of it as of one sent out of hours (issue 17).
            **({"category": post.emergency_category} if post.emergency_category else {}),
        },
    )
    schedule_deliveries(post, approver)
    db.session.flush()


def schedule_deliveries(post: Post, actor: User | None) -> None:
    """Approved: each channel's delivery gets its due time; late ones follow the grace rule."""
    from gateway.publishing.release import enqueue_delivery_after_commit

    now = utcnow()
    due = post.scheduled_at or now
    grace = timedelta(minutes=current_app.config["PUBLISH_GRACE_MINUTES"])
    for delivery in post.deliveries:
        if delivery.status == SKIPPED:
            continue  # left out of an emergency post: it could not take it (issue 22)
        delivery.due_at = due
        delivery.next_attempt_at = None
        if due + grace < now:
            # Approved after its time and past the grace period: never sent out by surprise.
            delivery.status = transition_delivery(
                delivery.status_enum, DeliveryStatus.SCHEDULED
            ).value
            delivery.status = transition_delivery(delivery.status_enum, DeliveryStatus.HELD).value
            delivery.held_reason = (
                f"Missed: approved after its time ({due:%Y-%m-%d %H:%M} UTC) and past the "
                f"{grace.seconds // 60}-minute grace period. Choose a new time."
            )
        else:
            delivery.status = transition_delivery(
                delivery.status_enum, DeliveryStatus.SCHEDULED
            ).value
    db.session.flush()
    for delivery in post.deliveries:
        if delivery.status == DeliveryStatus.SCHEDULED.value:
            enqueue_delivery_after_commit(delivery, emergency=bool(post.emergency_category))


def reject(post: Post, approver: User, reason: str) -> None:
    if writers_refusal(post, approver):
        raise PostError("You cannot reject a post you wrote or changed: edit it or cancel it.")
    reason = (reason or "").strip()
    if not reason:
        raise PostError("Tell the author why the post is rejected.", "reason")
    if post.status_enum is not PostStatus.AWAITING_APPROVAL:
        raise PostError(f"A post that is {post.status_enum.label.lower()} cannot be rejected.")
    post.status = transition(post.status_enum, PostStatus.REJECTED).value
    post.approvals.append(
        Approval(
            approver_id=approver.id,
            fingerprint=fingerprint(content_of(post)),
            decision=REJECTED,
            reason=reason,
        )
    )
    _clear_approvals(post)
    _record(
        "post.rejected",
        post,
        approver,
        {"approver_id": approver.id, "author_id": post.author_id, "reason": reason},
        content=False,
    )
    db.session.flush()


def cancel(post: Post, actor: User) -> None:
    """Cancel before it goes out. A delivery already being published cannot be recalled."""
    if any(d.status == DeliveryStatus.PUBLISHING.value for d in post.deliveries):
        raise PostError("The post is being published right now and cannot be cancelled.")
    try:
        post.status = transition(post.status_enum, PostStatus.CANCELLED).value
    except TransitionNotAllowed:
        raise PostError(
            f"A post that is {post.status_enum.label.lower()} cannot be cancelled."
        ) from None
    for delivery in post.deliveries:
        if delivery.status in (
            DeliveryStatus.PENDING.value,
            DeliveryStatus.SCHEDULED.value,
            DeliveryStatus.RETRY.value,
            DeliveryStatus.HELD.value,
        ):
            delivery.status = transition_delivery(
                delivery.status_enum, DeliveryStatus.CANCELLED
            ).value
    _clear_approvals(post)
    _record("post.cancelled", post, actor, {}, content=False)
    db.session.flush()


def preview(text: str, platform: str, channel_limits: dict[str, int] | None = None) -> dict:
    """What each platform will receive, and its length against the limit (a Mastodon
    instance's own, from ``channel_limits``: Channel.limits)."""
    from gateway.domain.guardrails import bluesky_length, x_weighted_length
    from gateway.domain.guardrails.media import mastodon_length, mastodon_limits

    limits = {"x": 280, "facebook": 63_206, "instagram": 2_200, "bluesky": 300}
    if platform == "mastodon":
        instance = mastodon_limits(channel_limits)
        limits["mastodon"] = instance["max_characters"]
        count = mastodon_length(text, instance["characters_reserved_per_url"])
    elif platform == "x":
        count = x_weighted_length(text)
    elif platform == "bluesky":
        count = bluesky_length(text)  # graphemes: an emoji, a flag or "é" each count one
    else:
        count = len(text)
    return {
        "text": text,
        "count": count,
        "limit": limits[platform],
        "over": count > limits[platform],
    }


__all__ = [
    "NewImage",
    "PostError",
    "approve",
    "approvers",
    "cancel",
    "create_draft",
    "decide_referral",
    "findings_for",
    "preview",
    "reject",
    "submit",
    "take_over",
    "update_post",
]

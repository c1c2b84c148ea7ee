"""One publish attempt: claim, check again, call the platform once, record the outcome.

The order matters (issue 5):
1. Claim the delivery with a compare-and-set on its status and a lease with a fresh attempt
   id, so two workers can never both publish it.
2. Check again with the world as it is now: the approval still matches the post exactly, its
   approver is not its author, the guardrails pass at this instant, the channel is usable.
3. Commit "attempting" (with its audit entry) before the irreversible platform call.
4. Call the adapter once. Map the outcome: published; retry later (known not sent); hold for a
   person (outcome unknown and not found on the platform, reauthorisation, missed); failed
   (rejected by the platform); blocked (stopped by a check).

The database session holds no transaction during the platform call: on SQLite a transaction is
the write lock, and a slow platform must not stop everyone else from writing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import joinedload, lazyload

from gateway.audit import Actor, content_of, record
from gateway.credentials import CredentialsError, decrypt_credentials, keep_refreshed
from gateway.domain import bilingual, two_person
from gateway.domain.emergency import needs_approval as needs_emergency_approval
from gateway.domain.fingerprint import fingerprint
from gateway.domain.guardrails import GuardrailInputError, Outcome
from gateway.domain.statuses import DeliveryStatus, PostStatus, transition, transition_delivery
from gateway.extensions import db
from gateway.models import Approval, Channel, Delivery, Post
from gateway.models.base import utcnow
from gateway.oauth.health import mark_needs_reconnecting
from gateway.platforms import (
    DEFAULT_TIMEOUT_SECONDS,
    ChannelConfig,
    DeliveryRequest,
    MediaItem,
    NeedsReauthorisation,
    OutcomeUnknown,
    PostRef,
    PublishError,
    RateLimited,
    Rejected,
    Retryable,
    RetryIfAbsent,
    adapter_for,
)
from gateway.policy import current_context, findings_for
from gateway.posts import images as image_store
from gateway.publishing import pairs
from gateway.publishing.liveness import DEFAULT_LEASE_SECONDS, KEEPER, lease
from gateway.publishing.release import CLAIMABLE
from gateway.settings import DEFAULT_LOOKUP_DELAYS_SECONDS

log = logging.getLogger(__name__)

#: A claim's lease by default (GATEWAY_PUBLISH_LEASE_SECONDS): the process running the attempt
#: renews it every third of it (gateway.publishing.liveness.KEEPER); past it nobody is renewing
#: it, so the sweep treats the attempt as abandoned and asks the platform.
LEASE = timedelta(seconds=DEFAULT_LEASE_SECONDS)
#: A job that starts this little before its due time waits for it rather than leave.
EARLY_WAIT_SECONDS = 3.0
#: Retries of failures known not to have reached the platform.
MAX_ATTEMPTS = 6
RETRY_BASE_SECONDS = 30
RETRY_CAP_SECONDS = 30 * 60
#: How far before the attempt started the look-up for an existing post reaches.
LOOKUP_MARGIN = timedelta(minutes=5)
SYSTEM = Actor.system()

D = DeliveryStatus


@dataclass(frozen=True)
class Prepared:
    """Everything the platform call needs, read before the transaction ends."""

    delivery_id: int
    post_id: int
    attempt_id: str
    platform: str
    channel: ChannelConfig
    request: DeliveryRequest
    started_at: datetime
    channel_id: int | None = None

    @property
    def lookup_since(self) -> datetime:
        """How far back the look-up for an existing post reads."""
        return self.started_at - LOOKUP_MARGIN


def _retry_delay(attempts: int) -> float:
    return min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))


def _set_status(delivery: Delivery, target: DeliveryStatus) -> None:
    delivery.status = transition_delivery(delivery.status_enum, target).value


def _outcome_entry(delivery: Delivery, attempt_id: str | None, outcome: str, **extra) -> None:
    record(
        "delivery.outcome",
        actor=SYSTEM,
        obj=("delivery", delivery.id),
        payload={
            "post_id": delivery.post_id,
            "delivery_id": delivery.id,
            "attempt_id": attempt_id,
            "channel_id": delivery.channel_id,
            "platform": delivery.channel.platform,
            "outcome": outcome,
            **_language(delivery),
            "platform_post_id": extra.get("platform_post_id"),
            "error_class": extra.get("error_class"),
            "message": extra.get("message"),
        },
    )


def _language(delivery: Delivery) -> dict:
    """Which text a delivery of a bilingual post sends (issue 18), for its log entries; nothing
    for a post in one language, whose entries read as they always did."""
    return {"language": delivery.language} if delivery.language else {}


def _hold(delivery: Delivery, reason: str, attempt_id: str | None, outcome: str = "held") -> None:
    _set_status(delivery, D.HELD)
    delivery.held_reason = reason
    delivery.lease_expires_at = None
    _held_entry(delivery, reason, attempt_id, outcome)


def _held_entry(delivery: Delivery, reason: str, attempt_id: str | None, outcome: str) -> None:
    """The log entry of a hold: the attempt's outcome, or ``delivery.held`` outside one."""
    if attempt_id is not None:
        _outcome_entry(delivery, attempt_id, outcome, message=reason)
    else:
        record(
            "delivery.held",
            actor=SYSTEM,
            obj=("delivery", delivery.id),
            payload={"post_id": delivery.post_id, "delivery_id": delivery.id, "reason": reason},
        )


def _hold_unless_changed(
    delivery: Delivery, reason: str, attempt_id: str | None = None, outcome: str = "held"
) -> bool:
    """Hold a delivery read without a lock, but only if it is still as it was read: a
    conditional UPDATE on the status and attempt id read, so a claim or an outcome another
    worker committed since cannot be overwritten (issue 19: a job run very late could turn
    another worker's "publishing" into "held"). Returns whether it was held; if not, the
    transaction is rolled back."""
    target = transition_delivery(delivery.status_enum, D.HELD)
    same_attempt = (
        Delivery.attempt_id.is_(None)
        if delivery.attempt_id is None
        else Delivery.attempt_id == delivery.attempt_id
    )
    held = db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery.id, Delivery.status == delivery.status, same_attempt)
        .values(status=target.value, held_reason=reason, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if held != 1:
        db.session.rollback()
        return False
    _held_entry(delivery, reason, attempt_id, outcome)
    return True


def settle_post(post: Post) -> None:
    """The post's status from its deliveries' (published, partly published, failed, blocked)."""
    # A channel an emergency post left out (issue 22) counts as little as a cancelled one.
    statuses = [
        d.status for d in post.deliveries if d.status not in (D.CANCELLED.value, D.SKIPPED.value)
    ]
    unsettled = {
        D.PENDING.value,
        D.SCHEDULED.value,
        D.RETRY.value,
        D.PUBLISHING.value,
        D.HELD.value,
    }
    if not statuses or any(s in unsettled for s in statuses):
        return
    published = statuses.count(D.PUBLISHED.value)
    if published == len(statuses):
        target = PostStatus.PUBLISHED
    elif published:
        target = PostStatus.PARTLY_PUBLISHED
    elif all(s == D.BLOCKED.value for s in statuses):
        target = PostStatus.BLOCKED
    else:
        target = PostStatus.FAILED
    current = post.status_enum
    if current is PostStatus.APPROVED:
        current = PostStatus(transition(current, PostStatus.PUBLISHING))
    if current is not target:
        post.status = transition(current, target, emergency=bool(post.emergency_category)).value
    else:
        post.status = current.value


#: What the delivery's record says when the two-person rule fails at publish time.
_REFUSALS = {
    two_person.AUTHOR: "It was approved by its own author.",
    two_person.EDITOR: "It was approved by an officer who changed it since its last approval.",
}


def _approval_refusal(post: Post, approval: Approval) -> str | None:
    """The two-person rule again at publish time (issue 20): the approver wrote none of the
    version they approved, neither as its author nor as an editor of its approval round."""
    editors = (
        {e.user_id for e in post.editors}  # an approval older than rounds: every editor
        if approval.round is None
        else post.editor_ids(approval.round)
    )
    why = two_person.approval_refusal(approval.approver_id, post.author_id, editors)
    return _REFUSALS[why] if why else None


def _publish_time_problems(
    post: Post, delivery: Delivery, now: datetime
) -> tuple[str | None, dict]:
    """Why this post may not go out now, or None; and the guardrail verdict to log."""
    content = content_of(post)
    if not post.emergency_category or _emergency_needs_approval(post):
        approval = next((a for a in post.approvals if a.current and a.decision == "approved"), None)
        if approval is None:
            return "It has no current approval.", {}
        refusal = _approval_refusal(post, approval)
        if refusal:
            return refusal, {}
        if approval.fingerprint != fingerprint(content):
            return (
                "It changed after it was approved (text, images, alt text, channels or time "
                "differ from what the approver saw).",
                {},
            )
    try:
        found = findings_for(post, at=now)[delivery.channel_id]
    except GuardrailInputError as exc:
        return f"The guardrails could not check it: {exc}", {}
    # The same shape as every other verdict: findings keyed by channel id.
    verdict = {
        "stage": "publish",
        "findings": {str(delivery.channel_id): [f.as_dict() for f in found]},
    }
    blocking = [f for f in found if f.outcome is Outcome.BLOCK]
    if blocking:
        return "Blocked at publish time: " + " ".join(f.reason for f in blocking), verdict
    referred = [f for f in found if f.outcome is Outcome.REFER]
    cleared = any(
        a.current and a.decision == "referral_cleared" and a.fingerprint == fingerprint(content)
        for a in post.approvals
    )
    if referred and not cleared:
        return (
            "Referred at publish time and not cleared by the monitoring officer: "
            + " ".join(f.reason for f in referred),
            verdict,
        )
    return None, verdict


def _emergency_needs_approval(post: Post) -> bool:
    """Whether this emergency post must pass the approval check like any post (issue 20): yes
    unless it was sent at once, out of hours or in office hours under the admin's setting, as
    recorded when it was made (gateway.domain.emergency.needs_approval)."""
    return needs_emergency_approval(
        post.emergency_release, post.created_at, current_context().office_hours
    )


def _channel_config(channel: Channel) -> ChannelConfig:
    if channel.credentials_encrypted is None:
        raise NeedsReauthorisation("the channel has no credentials", platform=channel.platform)
    try:
        creds = decrypt_credentials(channel.id, channel.credentials_encrypted)
    except CredentialsError as exc:
        raise NeedsReauthorisation(str(exc), platform=channel.platform) from None
    return ChannelConfig(
        platform=channel.platform,
        external_account_id=channel.external_account_id,
        credentials=creds,
        base_url=channel.base_url,
    )


def _request(post: Post, delivery: Delivery, attempt_id: str) -> DeliveryRequest:
    from gateway.publishing.media import media_url

    platform = delivery.channel.platform
    language = delivery.language
    if post.bilingual and not language:
        language = bilingual.WELSH_FIRST  # a row older than the post's Welsh text: both
    media = []
    for image in post.images:
        # Each platform's own rendition, made from the stored original every time (issue 22:
        # Instagram takes only JPEG; each platform's size limits), stored under its own hash
        # for a platform that fetches it by URL.
        rendition = image_store.for_platform(image_store.load(image.storage_key), platform)
        if rendition.sha256 != image.sha256:
            image_store.store(rendition.data, rendition.sha256)
        media.append(
            MediaItem(
                data=rendition.data,
                url=media_url(image, rendition),
                content_type=rendition.content_type,
                alt_text=_sent(post, language, image.alt_text_cy, image.alt_text),
            )
        )
    return DeliveryRequest(
        delivery_id=delivery.id,
        attempt_id=attempt_id,
        text=_sent(post, language, post.text_cy, post.text),
        media=tuple(media),
        started_at=delivery.attempt_started_at,
    )


def _sent(post: Post, language: str, welsh: str | None, english: str) -> str:
    """The text (or alt text) a delivery sends: the post's only one, or for a bilingual post
    its language's, or both in one post in the council's order (gateway.domain.bilingual)."""
    if not post.bilingual:
        return english
    return bilingual.pick(language, welsh or "", english or "")


def _locked(prepared: Prepared) -> tuple[Post, Delivery | None]:
    """The attempt's post, locked, with the siblings that settling it reads, and its delivery
    among them."""
    post = _lock_post(prepared.post_id)
    return post, next((d for d in post.deliveries if d.id == prepared.delivery_id), None)


def _lock_post(post_id: int, *, for_claim: bool = False) -> Post:
    """The post's row, locked until the commit and read afresh, with its deliveries (each with
    its channel) and, for a claim, its images and approvals: two statements in all.

    A post's deliveries (one per channel, all due at once) are published by different workers
    at the same moment, and each may change the post's status. Without the lock the post's
    version check (optimistic locking) fails all but one of them; with it they take turns, and
    each settles the post from its siblings' committed statuses. The author and approvers'
    user rows are not read: their ids are on the post and approval rows.

    The first statement only waits for the lock; the second reads the post and its collections
    joined, after the lock is granted. They cannot be one statement: under READ COMMITTED a
    statement that waited for the lock sees the locked row as it is now but joined rows as they
    were when it started, so a sibling's committed status would be missed
    (tests/publishing/test_concurrent_channels.py fails that way).
    """
    _lock_post_row(post_id)
    return _read_post(post_id, for_claim=for_claim)


def _lock_post_row(post_id: int) -> None:
    """Wait for the post's row lock, reading nothing.

    An officer's change to a post and its deliveries (cancel, edit) updates the post's row
    before its deliveries' (the ORM flushes parents first), so a claim takes the post's row
    before changing its delivery too: one lock order, so a claim and a cancel at the same
    instant take turns instead of deadlocking (tests/publishing/test_concurrent_channels.py).
    """
    db.session.execute(select(Post.id).where(Post.id == post_id).with_for_update())


def _read_post(post_id: int, *, for_claim: bool = False) -> Post:
    """The post with its collections joined, as they are now (see :func:`_lock_post`)."""
    options = [lazyload(Post.author), joinedload(Post.deliveries)]
    if for_claim:
        options += [
            joinedload(Post.images),
            joinedload(Post.approvals).lazyload(Approval.approver),
            joinedload(Post.editors),
        ]
    return (
        db.session.execute(
            select(Post)
            .where(Post.id == post_id)
            .options(*options)
            .execution_options(populate_existing=True)
        )
        .unique()
        .scalar_one()
    )


def _claim_row(delivery_id: int, attempt_id: str, now: datetime) -> bool:
    """Compare-and-set: the delivery becomes this attempt's if it is still claimable."""
    return (
        db.session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status.in_(CLAIMABLE))
            .values(
                status=D.PUBLISHING.value,
                attempt_id=attempt_id,
                lease_expires_at=now + lease(),
                attempt_started_at=now,
                attempts=Delivery.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


def rehearse() -> None:
    """Run a claim's reads and its compare-and-set once on rows that do not exist, then roll
    back: called by each worker process before its first job, so the first real publish does
    not pay for opening a database connection, compiling the statements and building the
    guardrails' policy context (measured: the first two seconds of a run were 0.3-0.5 s
    late while every other second was under 70 ms; docs/benchmarks.md, "Publishing")."""
    try:
        db.session.get(Delivery, 0)
        _lock_post_row(0)
        _claim_row(0, "", utcnow())
        for for_claim in (True, False):
            with contextlib.suppress(NoResultFound):
                _read_post(0, for_claim=for_claim)
        current_context()
    finally:
        db.session.rollback()


def claim(delivery_id: int) -> Prepared | str:
    """Steps 1-3. Returns what to publish, or why there is nothing to do."""
    now = utcnow()
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None:
        return "no such delivery"
    if delivery.status not in CLAIMABLE:
        return f"nothing to do: the delivery is {delivery.status}"
    due = delivery.next_attempt_at or delivery.due_at
    if due is None:
        return "nothing to do: no due time"
    wait = (due - now).total_seconds()
    if wait > EARLY_WAIT_SECONDS:
        return "not due yet"  # the sweep releases it again on time
    if wait > 0:
        db.session.rollback()  # hold no lock while waiting
        time.sleep(wait)
        return claim(delivery_id)
    grace = timedelta(minutes=current_app.config["PUBLISH_GRACE_MINUTES"])
    if delivery.due_at is not None and delivery.due_at + grace < now:
        missed = (
            f"Missed: it was due at {delivery.due_at:%Y-%m-%d %H:%M} UTC and could not go out "
            f"within the {int(grace.total_seconds() // 60)}-minute grace period. A person must "
            "choose a new time or cancel it."
        )
        if not _hold_unless_changed(delivery, missed):
            return "claimed by another worker"
        db.session.commit()
        _notify("held", delivery.post_id)
        return "missed"
    attempt_id = str(uuid.uuid4())
    _lock_post_row(delivery.post_id)
    if not _claim_row(delivery_id, attempt_id, now):
        db.session.rollback()
        return "claimed by another worker"
    # Read afresh with the post (populate_existing): the claimed row comes back among its
    # deliveries, so no separate refresh is needed.
    post = _read_post(delivery.post_id, for_claim=True)
    if delivery.attempt_id != attempt_id:  # cannot happen: the update above took the row
        raise RuntimeError(f"delivery {delivery_id} was not read back after its claim")
    if post.status_enum is PostStatus.APPROVED:
        post.status = transition(post.status_enum, PostStatus.PUBLISHING).value
    channel = delivery.channel
    problem, verdict = _publish_time_problems(post, delivery, now)
    usable = channel.enabled and not channel.needs_reauthorisation
    # Everything slow (decryption, reading the image, signing its URL) happens here, while the
    # post row is locked: its sibling deliveries, due at the same instant, wait for it.
    config: ChannelConfig | None = None
    reauthorise: NeedsReauthorisation | None = None
    request: DeliveryRequest | None = None
    held_with = _partner_problem(post, delivery, now) if problem is None and usable else None
    if problem is None and usable and held_with is None:
        try:
            config = _channel_config(channel)
        except NeedsReauthorisation as exc:
            reauthorise = exc
        else:
            request = _request(post, delivery, attempt_id)
    if verdict:
        record(
            "guardrails.verdict",
            actor=SYSTEM,
            obj=("post", post.id),
            payload=verdict,
            content=content_of(post),
        )
    if held_with is not None:
        partner, reason = held_with
        pairs.hold_with(delivery, partner, reason, attempt_id)
        settle_post(post)
        db.session.commit()
        _notify("held", post.id)
        return "held: with its partner"
    if problem is None and not usable:
        reason = "disabled" if not channel.enabled else "waiting to be reconnected"
        _hold(delivery, f"The channel {channel.display_name} is {reason}.", None)
        _pair_stopped(post, delivery)
        settle_post(post)
        db.session.commit()
        _notify("held", post.id)
        return "held: channel"
    if problem is not None:
        _set_status(delivery, D.BLOCKED)
        delivery.last_error = problem
        delivery.lease_expires_at = None
        record(
            "delivery.blocked",
            actor=SYSTEM,
            obj=("delivery", delivery.id),
            payload={"post_id": post.id, "delivery_id": delivery.id, "reason": problem},
        )
        _pair_stopped(post, delivery)
        settle_post(post)
        db.session.commit()
        _notify("blocked", post.id)
        return "blocked"
    if reauthorise is not None or config is None or request is None:
        reason = reauthorise.reason if reauthorise is not None else "no credentials"
        mark_needs_reconnecting(channel.id, reason)
        _hold(delivery, f"The channel needs to be reconnected: {reason}", None)
        _pair_stopped(post, delivery)
        db.session.commit()
        _notify("held", post.id)
        return "held: credentials"
    prepared = Prepared(
        delivery_id=delivery.id,
        post_id=post.id,
        attempt_id=attempt_id,
        platform=channel.platform,
        channel=config,
        request=request,
        started_at=now,
        channel_id=channel.id,
    )
    record(
        "delivery.attempt",
        actor=SYSTEM,
        obj=("delivery", delivery.id),
        payload={
            "post_id": post.id,
            "delivery_id": delivery.id,
            "attempt_id": attempt_id,
            "channel_id": channel.id,
            "platform": channel.platform,
            "emergency": bool(post.emergency_category),
            **_language(delivery),
        },
        # A bilingual post's entry holds both its texts (issue 18): which one this attempt
        # sends is its "language". Stored once by hash, beside the verdict's same content.
        content=content_of(post) if post.bilingual else None,
    )
    db.session.commit()  # "attempting" is durable before the irreversible call
    db.session.close()
    return prepared


def _allowed_hosts() -> tuple[str, ...]:
    return tuple(current_app.config.get("PLATFORM_ALLOWED_HOSTS", ()))


def _timeout() -> float:
    return float(current_app.config.get("PLATFORM_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))


def lookup_delays() -> tuple[float, ...]:
    """The waits before each look-up after an unknown outcome (GATEWAY_LOOKUP_DELAYS_SECONDS)."""
    return tuple(current_app.config.get("LOOKUP_DELAYS_SECONDS", DEFAULT_LOOKUP_DELAYS_SECONDS))


def _fresh_channel(prepared: Prepared) -> ChannelConfig:
    """The channel's credentials with an access token that will outlast the attempt: an X
    channel connected by OAuth 2.0 refreshes its two-hour token first, one worker at a time
    (gateway.oauth.x, issue 15). Raises PublishError (nothing has been sent yet)."""
    from gateway.oauth.x import fresh_credentials

    config = prepared.channel
    if prepared.channel_id is None or config.credentials.get("auth") != "oauth2":
        return config
    credentials = fresh_credentials(prepared.channel_id, dict(config.credentials))
    return dataclasses.replace(config, credentials=credentials)


def _refused_oauth2_token(prepared: Prepared, config: ChannelConfig, result: object) -> bool:
    """X answered 401 to an OAuth 2.0 access token: a definitive refusal (X authenticates a
    request before acting on it, so nothing was posted), worth one refresh and one more call."""
    return (
        isinstance(result, NeedsReauthorisation)
        and result.status == 401
        and prepared.channel_id is not None
        and config.credentials.get("auth") == "oauth2"
    )


def _after_refusal(prepared: Prepared, config: ChannelConfig) -> ChannelConfig:
    """The credentials to call X once more with after its 401 (gateway.oauth.x, issue 15).
    Raises PublishError (NeedsReauthorisation if X refuses the refresh token too)."""
    from gateway.oauth.x import refresh_after_refusal

    credentials = refresh_after_refusal(
        prepared.channel_id, config.credentials.get("access_token", "")
    )
    return dataclasses.replace(config, credentials=credentials)


def _publish_once(prepared: Prepared, config: ChannelConfig) -> PostRef | PublishError:
    try:
        with adapter_for(config, timeout=_timeout(), allowed_hosts=_allowed_hosts()) as publisher:
            try:
                return publisher.publish(prepared.request)
            finally:
                keep_refreshed(prepared.channel_id, publisher)
    except PublishError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - a bug of ours: we cannot know whether it was sent
        log.exception("unexpected error publishing delivery %s", prepared.delivery_id)
        return OutcomeUnknown(f"unexpected {type(exc).__name__}", platform=prepared.platform)


def call_platform(prepared: Prepared) -> PostRef | PublishError:
    """Step 4: one publish call (two only after X's 401 to an OAuth 2.0 token, which created
    nothing: refreshed, then once more). Every failure comes back as a PublishError."""
    try:
        config = _fresh_channel(prepared)
    except PublishError as exc:
        return exc
    result = _publish_once(prepared, config)
    if not _refused_oauth2_token(prepared, config, result):
        return result
    try:
        config = _after_refusal(prepared, config)
    except PublishError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - X refused the first call: nothing was posted
        log.exception("unexpected error refreshing for delivery %s", prepared.delivery_id)
        return Retryable(f"unexpected {type(exc).__name__}", platform=prepared.platform)
    return _publish_once(prepared, config)


def _known_post_ids(prepared: Prepared) -> frozenset[str]:
    """The platform posts the gateway already recorded for the channel's other deliveries since
    the look-up's start: never this delivery's, whatever their text (the same notice posted
    twice in an hour is two posts)."""
    if prepared.channel_id is None:
        return frozenset()
    try:
        return frozenset(
            db.session.scalars(
                select(Delivery.platform_post_id).where(
                    Delivery.channel_id == prepared.channel_id,
                    Delivery.id != prepared.delivery_id,
                    Delivery.platform_post_id.is_not(None),
                    Delivery.published_at >= prepared.lookup_since,
                )
            ).all()
        )
    finally:
        db.session.rollback()  # hold no snapshot while the platform answers


def look_up(prepared: Prepared) -> PostRef | None | PublishError:
    """Whether the attempt's post is on the account: a PostRef, None (every post since the
    attempt began was read and none is it), or a PublishError (the look-up could not be sure:
    LookupIncomplete, or it failed)."""
    exclude = _known_post_ids(prepared)
    try:
        config = _fresh_channel(prepared)
    except PublishError as exc:
        return exc
    found = _look_up_once(prepared, config, exclude)
    if not _refused_oauth2_token(prepared, config, found):
        return found
    try:
        config = _after_refusal(prepared, config)  # a read: as safe to repeat as the first
    except PublishError as exc:
        return exc
    return _look_up_once(prepared, config, exclude)


def _look_up_once(
    prepared: Prepared, config: ChannelConfig, exclude: frozenset[str]
) -> PostRef | None | PublishError:
    try:
        with adapter_for(config, timeout=_timeout(), allowed_hosts=_allowed_hosts()) as publisher:
            try:
                return publisher.find_existing(
                    prepared.request, prepared.lookup_since, exclude=exclude
                )
            finally:
                keep_refreshed(prepared.channel_id, publisher)
    except PublishError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001
        log.exception("unexpected error looking up delivery %s", prepared.delivery_id)
        return OutcomeUnknown(f"unexpected {type(exc).__name__}", platform=prepared.platform)


@dataclass(frozen=True)
class LookUp:
    """One look-up after an unknown outcome, for the publish log."""

    at: datetime
    found: PostRef | None | PublishError

    def payload(self, prepared: Prepared) -> dict:
        found = self.found
        return {
            "post_id": prepared.post_id,
            "delivery_id": prepared.delivery_id,
            "attempt_id": prepared.attempt_id,
            "channel_id": prepared.channel_id,
            "platform": prepared.platform,
            "since": prepared.lookup_since.isoformat(),
            "looked_at": self.at.isoformat(),
            "platform_post_id": found.platform_post_id if isinstance(found, PostRef) else None,
            # complete: every post since the attempt began was read
            "complete": not isinstance(found, PublishError),
            "error": str(found) if isinstance(found, PublishError) else None,
        }


def look_until_found(prepared: Prepared, delays: tuple[float, ...] | None = None) -> list[LookUp]:
    """Look the attempt's post up after each of ``delays`` (seconds; lookup_delays() unless
    given) until it is found, holding no transaction: a platform that is merely slow makes the
    post after our read timeout, so the first look-up waits, and another comes before anyone
    is told it is missing (issue 19: a look-up at once found nothing 4 times of 4 with a 20 s
    latency, and the post appeared moments later). The attempt's lease is renewed meanwhile
    (liveness.KEEPER), so the sweep does not take it for dead."""
    looks: list[LookUp] = []
    for delay in lookup_delays() if delays is None else delays:
        if delay > 0:
            time.sleep(delay)
        looks.append(LookUp(utcnow(), look_up(prepared)))
        if isinstance(looks[-1].found, PostRef):
            break
    return looks


def _times(looks: int) -> str:
    return "once" if looks == 1 else f"{looks} times"


def unknown_outcome_reason(
    result: PublishError, found: PublishError | None, since: datetime, looks: int = 1
) -> str:
    """What a person reads on a delivery held after an unknown outcome. Only a look-up that
    read every post since the attempt began may suggest sending it again: one that could not
    be sure says to check the account first (issue 19: following "release it again" after an
    incomplete look-up published a post twice)."""
    start = (
        f"Outcome unknown: the platform answered with an error that does not say whether the "
        f"post was made ({result})"
        if isinstance(result, RetryIfAbsent)
        else f"Outcome unknown: the platform may have received the post but did not answer "
        f"({result})"
    )
    if found is None:
        return (
            f"{start}, and it was not found among the account's posts since "
            f"{since:%Y-%m-%d %H:%M} UTC (looked {_times(looks)}). Check the account, then mark "
            "it published or release it again."
        )
    return (
        f"{start}, and the gateway could not check the whole account ({found}), so the post may "
        "be there. Check the account before releasing it again: if the post is there, mark it "
        "published."
    )


def _still_ours(delivery: Delivery | None, prepared: Prepared) -> bool:
    """Whether the locked delivery is still the attempt's: its attempt id, still publishing.
    If not, the transaction is rolled back and nothing is written."""
    if (
        delivery is not None
        and delivery.attempt_id == prepared.attempt_id
        and delivery.status == D.PUBLISHING.value
    ):
        return True
    db.session.rollback()
    log.error(
        "attempt %s no longer owns delivery %s (%s): its outcome is not recorded",
        prepared.attempt_id,
        prepared.delivery_id,
        "gone" if delivery is None else f"{delivery.status}, attempt {delivery.attempt_id}",
    )
    return False


def record_outcome(
    prepared: Prepared,
    result: PostRef | PublishError,
    *,
    lookup_delays: tuple[float, ...] | None = None,
) -> str:
    """Write the outcome of the attempt, if the attempt still owns the delivery. After an
    unknown outcome, look the post up first (``look_until_found``, after ``lookup_delays``)."""
    post, delivery = _locked(prepared)  # post held: the session keeps rows only weakly
    if not _still_ours(delivery, prepared):
        return "claim lost"
    if isinstance(result, OutcomeUnknown):
        # Never retried blindly: ask the platform whether the post exists.
        db.session.rollback()
        looks = look_until_found(prepared, lookup_delays)
        found = looks[-1].found if looks else None
        # The lock again, and the row must still be this attempt's own: while it waited, the
        # sweep's resolve job may have recorded the outcome of this same attempt, or a person
        # released it and another worker claimed it (issue 19).
        post, delivery = _locked(prepared)
        if not _still_ours(delivery, prepared):
            return "claim lost"
        for look in looks:
            record(
                "delivery.lookup",
                actor=SYSTEM,
                obj=("delivery", delivery.id),
                payload=look.payload(prepared),
            )
        if isinstance(found, PostRef):
            result = found
        elif found is None and isinstance(result, RetryIfAbsent):
            # The platform answered "retry later", and a look-up that read every post since
            # the attempt began did not find it: sent again, after the usual back-off.
            result = Retryable(
                f"{result.reason}; not found among the account's posts since "
                f"{prepared.lookup_since:%Y-%m-%d %H:%M} UTC (looked {_times(len(looks))}), "
                "so sent again",
                platform=result.platform,
                status=result.status,
            )
        else:
            _hold(
                delivery,
                unknown_outcome_reason(result, found, prepared.lookup_since, len(looks)),
                prepared.attempt_id,
                outcome="unknown",
            )
            _pair_stopped(post, delivery)
            settle_post(post)
            db.session.commit()
            _notify("held", delivery.post_id)
            return "held: outcome unknown"
    now = utcnow()
    delivery.lease_expires_at = None
    if isinstance(result, PostRef):
        _set_status(delivery, D.PUBLISHED)
        delivery.platform_post_id = result.platform_post_id
        delivery.platform_url = result.url
        delivery.published_at = now
        delivery.last_error = None
        _outcome_entry(
            delivery, prepared.attempt_id, "published", platform_post_id=result.platform_post_id
        )
        _published_beside(post, delivery)
        outcome = "published"
    elif isinstance(result, RateLimited | Retryable):
        wait = (
            result.retry_after
            if isinstance(result, RateLimited)
            else _retry_delay(delivery.attempts)
        )
        if delivery.attempts >= MAX_ATTEMPTS and not isinstance(result, RateLimited):
            _set_status(delivery, D.FAILED)
            delivery.last_error = f"Gave up after {delivery.attempts} attempts: {result}"
            outcome = _failed_beside(post, delivery)
        else:
            _set_status(delivery, D.RETRY)
            delivery.next_attempt_at = now + timedelta(seconds=max(1.0, wait))
            delivery.last_error = str(result)
            outcome = "rate_limited" if isinstance(result, RateLimited) else "retry"
        _outcome_entry(
            delivery,
            prepared.attempt_id,
            outcome,
            error_class=type(result).__name__,
            message=str(result),
        )
    elif isinstance(result, NeedsReauthorisation):
        # Once, however many deliveries find it: logged, and people emailed (issue 15).
        mark_needs_reconnecting(delivery.channel_id, result.reason)
        _hold(
            delivery,
            f"The channel needs to be reconnected: {result.reason}",
            prepared.attempt_id,
        )
        _pair_stopped(post, delivery)
        outcome = "held"
    else:  # Rejected, or any other refusal: the platform said no to this post
        _set_status(delivery, D.FAILED)
        delivery.last_error = str(result)
        _outcome_entry(
            delivery,
            prepared.attempt_id,
            "failed",
            error_class=type(result).__name__ if isinstance(result, Rejected) else "Rejected",
            message=str(result),
        )
        outcome = _failed_beside(post, delivery)
    settle_post(post)
    emergency = bool(post.emergency_category)
    db.session.commit()
    if outcome in ("failed", "held"):
        _notify(outcome, delivery.post_id)
    if outcome in ("retry", "rate_limited"):
        from gateway.publishing.release import enqueue_delivery_after_commit

        enqueue_delivery_after_commit(delivery, emergency=emergency)
        db.session.commit()
    return outcome


def _partner_problem(post: Post, delivery: Delivery, now: datetime) -> tuple[Delivery, str] | None:
    """A partner in the other language (gateway.publishing.pairs) that will not go out, or that
    the same checks would stop now, and the reason this delivery is held with it; None when
    this delivery may go out. Asked under the post's lock before the platform call, so a
    language's channel that is blocked or unusable stops its pair before either is sent."""
    if not post.bilingual or delivery.alone_by_id is not None:
        return None
    for partner in pairs.partners(post, delivery):
        if partner.status in pairs.STOPPED:
            return partner, pairs.held_with_reason(partner)
        if partner.status not in pairs.NOT_SENT:
            continue
        why = pairs.channel_unusable(partner.channel)
        if why is None:
            why, _ = _publish_time_problems(post, partner, now)
        if why is not None:
            return partner, pairs.held_with_reason(partner, f"cannot go out now: {why}")
    return None


def _pair_stopped(post: Post, delivery: Delivery) -> None:
    """``delivery`` will not go out now (blocked, held): each partner not sent yet is held with
    it; one already published at the same moment is on the record."""
    if not post.bilingual:
        return
    for partner in pairs.hold_partners(post, delivery):
        if partner.status == D.PUBLISHED.value:
            pairs.record_published_alone(partner, delivery)


def _failed_beside(post: Post, delivery: Delivery) -> str:
    """``delivery`` has just failed for good. Its partners not sent yet are held with it; if
    one was sent at the same moment, this one is held for a person instead of failed: the post
    is out in one language only (issue 18). Returns the outcome: "failed" or "held"."""
    if not post.bilingual:
        return "failed"
    sent = pairs.hold_partners(post, delivery)
    if not sent:
        return "failed"
    _set_status(delivery, D.HELD)
    delivery.held_reason = pairs.sent_alone_reason(
        sent[0], f"Refused by the platform: {delivery.last_error}."
    )
    for partner in sent:
        if partner.status == D.PUBLISHED.value:
            pairs.record_published_alone(partner, delivery)
    return "held"


def _published_beside(post: Post, delivery: Delivery) -> None:
    """``delivery`` has just been published while a partner was stopped at the same moment
    (it was being sent already when the other was refused, blocked or held): on the record,
    and a refused partner is held for a person rather than left failed. Not when a person
    let this one go out alone (gateway.posts.held): that decision is on the record already."""
    if not post.bilingual or delivery.alone_by_id is not None:
        return
    for partner in pairs.partners(post, delivery):
        if partner.status not in pairs.STOPPED:
            continue
        pairs.record_published_alone(delivery, partner)
        if partner.status == D.FAILED.value:
            _set_status(partner, D.HELD)
            partner.held_reason = pairs.sent_alone_reason(
                delivery, f"Refused by the platform: {partner.last_error}."
            )


def publish(delivery_id: int) -> str:
    prepared = claim(delivery_id)
    if isinstance(prepared, str):
        return prepared
    with KEEPER.keep(prepared.delivery_id, prepared.attempt_id):  # renewed while this runs
        return record_outcome(prepared, call_platform(prepared))


def resolve_abandoned(delivery_id: int, attempt_id: str | None) -> str:
    """A delivery left in "publishing" by a worker that died: ask the platform, then record."""
    delivery = db.session.get(Delivery, delivery_id)
    if (
        delivery is None
        or delivery.status != D.PUBLISHING.value
        or delivery.attempt_id != attempt_id
    ):
        return "nothing to do"
    post = delivery.post
    try:
        config = _channel_config(delivery.channel)
    except NeedsReauthorisation as exc:
        if not _hold_unless_changed(
            delivery,
            f"Outcome unknown and the channel cannot be checked: {exc}",
            attempt_id,
            outcome="unknown",
        ):
            return "nothing to do"
        db.session.commit()
        _notify("held", delivery.post_id)
        return "held"
    prepared = Prepared(
        delivery_id=delivery.id,
        post_id=post.id,
        attempt_id=attempt_id or "",
        platform=delivery.channel.platform,
        channel=config,
        request=_request(post, delivery, attempt_id or ""),
        started_at=delivery.attempt_started_at or utcnow(),
        channel_id=delivery.channel_id,
    )
    # A fresh lease, renewed while this job asks the platform: the sweep leaves it alone, and
    # if this worker dies too the lease lapses again.
    taken = db.session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.attempt_id == attempt_id,
            Delivery.status == D.PUBLISHING.value,
        )
        .values(lease_expires_at=utcnow() + lease())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    db.session.close()
    if not taken:
        return "nothing to do"
    # The attempt stopped at least a lease ago: the platform has had time to make the post,
    # so look at once, and once more after the last delay before holding.
    delays = lookup_delays()
    with KEEPER.keep(prepared.delivery_id, prepared.attempt_id):
        return record_outcome(
            prepared,
            OutcomeUnknown("the worker stopped during the attempt", platform=prepared.platform),
            lookup_delays=(0.0, *delays[-1:]),
        )


def _notify(event: str, post_id: int) -> None:
    from gateway.events import post_event

    post_event.send(current_app._get_current_object(), event=event, post_id=post_id)

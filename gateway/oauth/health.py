"""Token health (issue 15): a channel whose token stops working is "needs reconnecting" at once,
people are told once, nothing is attempted against it, and reconnecting lets its posts go.

- :func:`mark_needs_reconnecting` is the one way a channel becomes "needs reconnecting": a
  conditional UPDATE from "fine", so however many workers and checks find the same revoked
  token, one of them logs it and emails the admins and the authors of the channel's waiting
  posts, once, after the commit.
- :func:`check_channel` is the daily check: a cheap read (the adapter's ``check_connection``:
  X ``GET /2/users/me``, Graph ``GET /me``), after renewing an X OAuth 2.0 token if it is near
  its expiry (so a quiet channel's refresh token is kept in use) and once more if X answers
  401 all the same, as a publish does, and for a channel connected
  by OAuth 2.0, the scopes it was granted; for a Facebook or Instagram channel, first what
  Graph's ``debug_token`` says of its token (gateway.oauth.graph_token: expired, revoked, a
  user token where the Page's is needed, a missing permission). The scheduler's sweep
  (:func:`health_sweep`) queues one job a day for the channels not checked for
  ``CHECK_EVERY``; the job runs in a worker, so a platform that does not answer never holds up
  the scheduler's releases.
- :func:`send_expiry_reminders` emails the admins 7 days and 1 day before a known expiry of a
  grant that cannot renew itself (a token entered by hand with its expiry, a Graph user
  token), each reminder once for each expiry; an X OAuth 2.0 token renews itself with its
  refresh token, so it has none.
- :func:`release_after_reconnect` puts the deliveries held only because their channel needed
  reconnecting back on the schedule (HELD -> SCHEDULED): their attempt then publishes, or holds
  them as missed past the grace period. Deliveries held for any other reason (an unknown
  outcome above all) stay held for a person.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import Flask, current_app, has_request_context, url_for
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import and_, event, or_, select, update
from sqlalchemy.orm import Session

from gateway.audit import Actor, record
from gateway.domain.statuses import DeliveryStatus, transition_delivery
from gateway.extensions import db
from gateway.models import Channel, Delivery, Post
from gateway.models.base import utcnow

log = logging.getLogger(__name__)

#: "A daily check" (issue 15).
CHECK_EVERY = timedelta(hours=24)
#: "Email 7 days and 1 day before a known expiry" (issue 15), most urgent last.
REMIND_BEFORE = ((timedelta(days=7), "7 days"), (timedelta(days=1), "1 day"))
#: Grants that renew themselves before they expire (gateway.oauth.x): no reminder.
SELF_RENEWING = ("oauth2",)
HEALTH_JOB_ID = "channel-token-health"
#: One cheap read per channel, each within the platform timeout: a council's few dozen
#: channels take well under this even when every platform is slow.
HEALTH_JOB_TIMEOUT = 30 * 60
#: The held reasons that mean only "its channel needed reconnecting" (gateway.publishing.
#: attempt): deliveries held so go out again once the channel is reconnected.
RECONNECT_HOLD_PREFIXES = ("The channel needs to be reconnected",)
RECONNECT_HOLD_SUFFIX = "is waiting to be reconnected."
#: Deliveries still to go out: their authors are told when the channel stops working.
WAITING = (
    DeliveryStatus.PENDING.value,
    DeliveryStatus.SCHEDULED.value,
    DeliveryStatus.RETRY.value,
    DeliveryStatus.HELD.value,
)
#: What a live job looks like to RQ (the sweep leaves it alone).
_LIVE = frozenset({"queued", "scheduled", "started", "deferred"})
_EMAILS_KEY = "gateway_health_emails"
MAX_REASON_CHARS = 500


def _channel_link(channel_id: int) -> str:
    if has_request_context():
        return url_for("admin.channel_show", channel_id=channel_id, _external=True)
    base = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    return f"{base}/admin/channels/{channel_id}"


def _waiting_posts(channel_id: int) -> list[Post]:
    return list(
        db.session.scalars(
            select(Post)
            .join(Delivery, Delivery.post_id == Post.id)
            .where(Delivery.channel_id == channel_id, Delivery.status.in_(WAITING))
            .distinct()
            .order_by(Post.id)
        )
    )


def mark_needs_reconnecting(channel_id: int, reason: str, *, actor: Actor | None = None) -> bool:
    """Mark the channel, once: True if this call changed it (then the publish log has its
    entry and the email goes when the caller commits). The caller commits."""
    reason = reason[:MAX_REASON_CHARS]
    changed = db.session.execute(
        update(Channel)
        .where(Channel.id == channel_id, Channel.needs_reauthorisation.is_(False))
        .values(needs_reauthorisation=True, health_problem=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        return False
    channel = db.session.get(Channel, channel_id, populate_existing=True)
    record(
        "channel.needs_reauthorisation",
        actor=actor or Actor.system(),
        obj=("channel", channel_id),
        payload={
            "platform": channel.platform,
            "external_account_id": channel.external_account_id,
            "reason": reason,
        },
    )
    _email_after_commit(channel, reason)
    return True


def _email_after_commit(channel: Channel, reason: str) -> None:
    from gateway.notifications import Email
    from gateway.notifications.messages import admins

    posts = _waiting_posts(channel.id)
    authors = sorted({p.author.email for p in posts if p.author is not None})
    to = tuple(dict.fromkeys([*admins(), *authors]))
    if not to:
        return
    base = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    waiting = "".join(
        f"- {' '.join(p.text.split())[:80]}: {base}/posts/{p.id}\n" for p in posts[:50]
    )
    body = (
        f"The channel {channel.display_name} ({channel.platform}) needs reconnecting: {reason}\n\n"
        "Nothing is published to it until an administrator reconnects it on its page:\n"
        f"{_channel_link(channel.id)}\n"
    )
    if posts:
        body += f"\n{len(posts)} post(s) are waiting for it:\n{waiting}"
    email = Email(to, f"{channel.display_name} needs reconnecting", body)
    session = db.session()
    session.info.setdefault(_EMAILS_KEY, []).append(email)
    session.info["gateway_health_app"] = current_app._get_current_object()  # type: ignore[attr-defined]


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    emails = session.info.pop(_EMAILS_KEY, None)
    app = session.info.get("gateway_health_app")
    if not emails or app is None:
        return
    from gateway.notifications import send

    with app.app_context():
        for email in emails:
            send(email)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_EMAILS_KEY, None)


# Releasing after a reconnect -------------------------------------------------------------------
def _held_for_reconnecting(reason: str | None) -> bool:
    reason = reason or ""
    return reason.startswith(RECONNECT_HOLD_PREFIXES) or reason.endswith(RECONNECT_HOLD_SUFFIX)


def release_after_reconnect(channel: Channel) -> int:
    """Put the channel's deliveries held only for reconnecting back on the schedule; queued
    when the caller commits. Returns how many."""
    from gateway.publishing.release import enqueue_delivery_after_commit

    held = db.session.scalars(
        select(Delivery).where(
            Delivery.channel_id == channel.id, Delivery.status == DeliveryStatus.HELD.value
        )
    ).all()
    released = 0
    target = transition_delivery(DeliveryStatus.HELD, DeliveryStatus.SCHEDULED).value
    for delivery in held:
        if not _held_for_reconnecting(delivery.held_reason):
            continue
        # Only if it is still held for that reason (a person may be releasing or cancelling
        # it at this moment): a conditional UPDATE, as the publish job's holds are.
        changed = db.session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery.id,
                Delivery.status == DeliveryStatus.HELD.value,
                Delivery.held_reason == delivery.held_reason,
            )
            .values(status=target, held_reason=None, next_attempt_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            continue
        db.session.refresh(delivery)
        record(
            "delivery.released",
            actor=Actor.system(),
            obj=("delivery", delivery.id),
            payload={
                "post_id": delivery.post_id,
                "delivery_id": delivery.id,
                "reason": "its channel was reconnected",
            },
        )
        enqueue_delivery_after_commit(delivery, emergency=bool(delivery.post.emergency_category))
        released += 1
    channel.health_problem = None
    return released


# The daily check -------------------------------------------------------------------------------
def _due(now: datetime) -> Iterable[int]:
    return db.session.scalars(
        select(Channel.id)
        .where(
            Channel.enabled.is_(True),
            Channel.needs_reauthorisation.is_(False),
            Channel.credentials_encrypted.is_not(None),
            # Never checked: a day after it was added (the admin tests a channel as they add
            # it, and `gateway up`'s demo channels are made before the fake platform starts).
            or_(
                and_(Channel.health_checked_at.is_(None), Channel.created_at < now - CHECK_EVERY),
                Channel.health_checked_at < now - CHECK_EVERY,
            ),
        )
        .order_by(Channel.id)
    ).all()


def check_channel(channel_id: int) -> str:
    """The daily check of one channel: "ok", "needs reconnecting" or "not answering"."""
    from gateway.credentials import CredentialsError, decrypt_credentials
    from gateway.oauth.x import SCOPES, fresh_credentials, refresh_after_refusal
    from gateway.platforms import ChannelConfig, NeedsReauthorisation, PublishError, adapter_for

    channel = db.session.get(Channel, channel_id)
    if channel is None or channel.credentials_encrypted is None:
        return "needs reconnecting"
    channel.health_checked_at = utcnow()  # claimed first: a failing check is not retried at once
    db.session.commit()
    try:
        credentials = decrypt_credentials(channel.id, channel.credentials_encrypted)
    except CredentialsError as exc:
        mark_needs_reconnecting(channel.id, f"the stored credentials cannot be read: {exc}")
        db.session.commit()
        return "needs reconnecting"
    if channel.auth_method == "oauth2":
        granted = set(channel.token_scopes.split())
        missing = [s for s in SCOPES if s not in granted]
        if missing:
            mark_needs_reconnecting(channel.id, f"the platform did not grant {', '.join(missing)}")
            db.session.commit()
            return "needs reconnecting"
    base_url, platform, account = channel.base_url, channel.platform, channel.external_account_id
    db.session.rollback()  # no transaction while the platform answers
    try:
        if credentials.get("auth") == "oauth2":
            credentials = fresh_credentials(channel_id, credentials)
        config = ChannelConfig(
            platform=platform,
            external_account_id=account,
            credentials=credentials,
            base_url=base_url,
        )
        allowed = tuple(current_app.config.get("PLATFORM_ALLOWED_HOSTS", ()))
        timeout = float(current_app.config.get("PLATFORM_TIMEOUT_SECONDS", 15.0))
        why = _graph_token_problem(channel_id, config, timeout, allowed)
        if why is not None:
            mark_needs_reconnecting(channel_id, why)
            db.session.commit()
            return "needs reconnecting"

        def cheap_read(config: ChannelConfig) -> None:
            with adapter_for(config, timeout=timeout, allowed_hosts=allowed) as adapter:
                adapter.check_connection()

        try:
            cheap_read(config)
        except NeedsReauthorisation as exc:
            if not (exc.status == 401 and credentials.get("auth") == "oauth2"):
                raise
            # X refused an access token its expiry said was good (expired early, revoked at
            # X): refreshed once, whatever the stored expiry says, as a publish does; only a
            # refused refresh token makes the channel "needs reconnecting".
            credentials = refresh_after_refusal(channel_id, credentials.get("access_token", ""))
            cheap_read(dataclasses.replace(config, credentials=credentials))
    except NeedsReauthorisation as exc:
        mark_needs_reconnecting(channel_id, exc.reason)
        db.session.commit()
        return "needs reconnecting"
    except PublishError as exc:
        db.session.execute(
            update(Channel)
            .where(Channel.id == channel_id)
            .values(health_problem=f"not answering at the last check: {exc.reason}"[:500])
        )
        db.session.commit()
        return "not answering"
    db.session.execute(
        update(Channel)
        .where(Channel.id == channel_id, Channel.needs_reauthorisation.is_(False))
        .values(health_problem=None)
    )
    db.session.commit()
    return "ok"


def _graph_token_problem(
    channel_id: int, config, timeout: float, allowed: tuple[str, ...]
) -> str | None:
    """For a Facebook or Instagram channel: ask Graph's debug_token about its token, keep what
    it said on the channel, and return why it cannot publish (None if it can, or if Graph could
    not be asked: the cheap read that follows decides then)."""
    from gateway.oauth import graph_token
    from gateway.platforms import PublishError

    app = graph_token.app_credentials() if config.platform in graph_token.GRAPH_PLATFORMS else None
    db.session.rollback()  # no transaction while Graph answers
    try:
        info = graph_token.inspect(config, timeout=timeout, allowed_hosts=allowed, app=app)
    except PublishError as exc:
        log.warning("debug_token for channel %s failed: %s", channel_id, exc.reason)
        return None
    if info is None or app is None:
        return None
    db.session.execute(
        update(Channel)
        .where(Channel.id == channel_id)
        .values(**graph_token.values(info))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return graph_token.problem(info, config.platform, config.external_account_id, utcnow())


# Reminders before a known expiry ------------------------------------------------------------
def _expiry_of(channel: Channel, now: datetime) -> tuple[datetime, bool] | None:
    """The first known end of ``channel``'s connection still ahead, and whether it is the end
    of the app's access to the data rather than of the token: Graph's
    ``data_access_expires_at`` ends a Page token that itself never expires (Meta stops it 90
    days after the person who granted it last used the app)."""
    ends = [
        (at, is_data)
        for at, is_data in (
            (channel.token_expires_at, False),
            (channel.data_access_expires_at, True),
        )
        if at is not None and at > now
    ]
    return min(ends, key=lambda end: end[0]) if ends else None


def _reminder_of(channel: Channel, now: datetime) -> tuple[str, str] | None:
    """The reminder due now for ``channel``'s expiry: (its mark, "7 days" or "1 day")."""
    end = _expiry_of(channel, now)
    if end is None:
        return None
    expires = end[0]
    due = None
    for before, words in REMIND_BEFORE:
        if expires - now <= before:
            due = (f"{expires.strftime('%Y-%m-%dT%H:%M:%SZ')}/{words}", words)
    return due


def _expiring(now: datetime) -> list[Channel]:
    soon = now + REMIND_BEFORE[0][0]
    return list(
        db.session.scalars(
            select(Channel)
            .where(
                Channel.enabled.is_(True),
                Channel.needs_reauthorisation.is_(False),
                Channel.auth_method.not_in(SELF_RENEWING),
                or_(
                    and_(Channel.token_expires_at > now, Channel.token_expires_at <= soon),
                    and_(
                        Channel.data_access_expires_at > now,
                        Channel.data_access_expires_at <= soon,
                    ),
                ),
            )
            .order_by(Channel.id)
        )
    )


def reminders_due(now: datetime) -> bool:
    return any(
        (due := _reminder_of(c, now)) is not None and c.expiry_reminded != due[0]
        for c in _expiring(now)
    )


def send_expiry_reminders(now: datetime | None = None) -> int:
    """Email the admins of each channel whose grant expires within 7 days (then within 1 day)
    and cannot renew itself, once per reminder and expiry (a conditional UPDATE, so two checks
    at once send one), each a publish-log entry. Returns how many were sent; commits."""
    from gateway.domain.guardrails.clock import LONDON
    from gateway.notifications import Email
    from gateway.notifications.messages import admins

    now = now or utcnow()
    sent = 0
    for channel in _expiring(now):
        due = _reminder_of(channel, now)
        if due is None or channel.expiry_reminded == due[0]:
            continue
        mark, words = due
        expires, data_access = _expiry_of(channel, now) or (now, False)
        changed = db.session.execute(
            update(Channel)
            .where(
                Channel.id == channel.id,
                or_(Channel.expiry_reminded.is_(None), Channel.expiry_reminded != mark),
            )
            .values(expiry_reminded=mark)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            db.session.rollback()
            continue
        record(
            "channel.token_expiry_reminder",
            actor=Actor.system(),
            obj=("channel", channel.id),
            payload={
                "platform": channel.platform,
                "external_account_id": channel.external_account_id,
                "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "before": words,
                "what": "data_access" if data_access else "token",
            },
        )
        to = admins()
        if to:
            local = expires.astimezone(LONDON).strftime("%A %-d %B %Y at %H:%M")
            what = (
                "The app's access to the data of "
                f"{channel.display_name} ({channel.platform}) ends on {local} (London time), "
                f"in less than {words}: Meta ends it 90 days after the person who connected "
                "it last signed in to the app, whatever the token's own expiry."
                if data_access
                else f"The connection of {channel.display_name} ({channel.platform}) expires "
                f"on {local} (London time), in less than {words}, and cannot renew itself."
            )
            body = (
                f"{what}\n\n"
                "After that nothing can be published to it. Reconnect it on its page before "
                f"then:\n{_channel_link(channel.id)}\n"
            )
            email = Email(to, f"{channel.display_name} must be reconnected within {words}", body)
            session = db.session()
            session.info.setdefault(_EMAILS_KEY, []).append(email)
            session.info["gateway_health_app"] = current_app._get_current_object()  # type: ignore[attr-defined]
        db.session.commit()
        sent += 1
    return sent


def check_due_channels() -> dict[str, int]:
    """Check every channel not checked for CHECK_EVERY (the job the sweep queues), then send
    the reminders due before known expiries."""
    counts: dict[str, int] = {}
    for channel_id in list(_due(utcnow())):
        try:
            outcome = check_channel(channel_id)
        except Exception:  # one channel's bug must not stop the others' checks
            log.exception("the token check of channel %s failed", channel_id)
            db.session.rollback()
            outcome = "error"
        counts[outcome] = counts.get(outcome, 0) + 1
    try:
        reminded = send_expiry_reminders()
    except Exception:  # the checks' results stand whatever happens to the reminders
        log.exception("the expiry reminders failed")
        db.session.rollback()
    else:
        if reminded:
            counts["reminded"] = reminded
    return counts


def health_sweep(app: Flask) -> bool:
    """Queue the check job when a channel is due and no such job is live. True if queued."""
    from gateway.queue import DEFAULT_QUEUE, get_queue, redis_connection
    from workers.health import check_channels
    from workers.options import job_options

    now = utcnow()
    if not list(_due(now))[:1] and not reminders_due(now):
        return False
    try:
        job = Job.fetch(HEALTH_JOB_ID, connection=redis_connection(app))
        if job.get_status(refresh=False) in _LIVE:
            return False
    except NoSuchJobError:
        pass
    get_queue(DEFAULT_QUEUE, app).enqueue(
        check_channels, job_id=HEALTH_JOB_ID, **job_options(job_timeout=HEALTH_JOB_TIMEOUT)
    )
    return True

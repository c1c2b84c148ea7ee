"""Who is told when ``post_event`` fires (gateway.events): the publish job and the emergency
form send it after their commit, and know nothing about email.

- "emergency": the communications team's leads (``GATEWAY_EMERGENCY_NOTIFY_EMAILS``), at once
  (issue 7, "Told at once"); with no list set, the admins (issue 20).
- "emergency_fast_track": an emergency post in office hours waits for approval: every officer
  who can approve it, at once, and the leads (or the admins) as for any emergency post.
- "blocked", "failed", "held": the author (issue 6: "authors when a post is ... blocked at
  publish time or fails"); for an emergency post the leads too, who were told it was going out.

Nothing here may fail the post: every error is logged and swallowed, and the change it reports
is already committed. Sent from a web request (the emergency form), the email goes after the
response has been sent: a slow or unreachable mail server (up to the SMTP timeout) must not
leave a duty officer at 3am staring at a page that does not answer, and pressing "Post now"
again.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from flask import Flask, after_this_request, current_app, has_request_context
from sqlalchemy import select

from gateway.domain.statuses import DeliveryStatus
from gateway.events import post_event
from gateway.extensions import db
from gateway.models import Delivery, Post
from gateway.notifications import messages

log = logging.getLogger(__name__)

#: The delivery status each publish-time event reports.
EVENT_STATUS = {
    "blocked": DeliveryStatus.BLOCKED,
    "failed": DeliveryStatus.FAILED,
    "held": DeliveryStatus.HELD,
}
#: The emergency form's events (gateway.emergency.views).
EMERGENCY_EVENTS = ("emergency", "emergency_fast_track")
#: One email per delivery per outcome: the job sends its event once per delivery, so a post on
#: three channels that the guardrails stop would otherwise tell its author three times. The key
#: names the delivery, its status, its attempt number and its reason, so a later outcome (a new
#: attempt, or a post missed again at a new time) is told again.
TOLD_KEY = "gateway:told:delivery:{delivery_id}:{status}:{attempts}:{reason}"
#: Long enough to outlive any retry of the same outcome; the keys are tiny.
TOLD_TTL_SECONDS = 7 * 24 * 3600


def init_app(app: Flask) -> None:
    # Bound to this app as sender: tests build many apps in one process.
    post_event.connect(on_post_event, sender=app)
    if app.config.get("EMERGENCY_NOTIFY_EMAILS") and not app.config.get("SMTP_HOST"):
        log.warning(
            "GATEWAY_EMERGENCY_NOTIFY_EMAILS is set but SMTP_HOST is not: nobody will be told "
            "of emergency posts"
        )


def on_post_event(sender: Any, *, event: str, post_id: int, **_: Any) -> None:
    if event not in EMERGENCY_EVENTS and event not in EVENT_STATUS:
        return
    if not has_request_context():  # the publish job: its outcome is committed, tell now
        _tell(event, post_id)
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    @after_this_request
    def _after_sending(response):  # noqa: ANN001, ANN202
        # The WSGI server calls this once the page has gone to the browser: gunicorn (what
        # `gateway web` runs) and waitress at once; werkzeug's development server only when
        # the browser drops the connection, as it first drains the socket.
        response.call_on_close(lambda: _tell_in(app, event, post_id))
        return response


def _tell_in(app: Flask, event: str, post_id: int) -> None:
    with app.app_context():
        try:
            _tell(event, post_id)
        finally:
            db.session.remove()


def _tell(event: str, post_id: int) -> None:
    try:
        if event == "emergency":
            tell_leads_of_emergency(post_id)
        elif event == "emergency_fast_track":
            tell_approvers_of_fast_track(post_id)
            tell_leads_of_emergency(post_id)
        else:
            tell_author(post_id, event)
    except Exception:  # noqa: BLE001 - an email must never fail the post it reports
        log.exception("could not send the %r email for post %s", event, post_id)


def leads() -> tuple[str, ...]:
    """Who is told of every emergency post: ``GATEWAY_EMERGENCY_NOTIFY_EMAILS``, or with none
    set the active admins, so an emergency post is never told to nobody (issue 20)."""
    configured = tuple(current_app.config.get("EMERGENCY_NOTIFY_EMAILS") or ())
    return configured or messages.admins()


def tell_leads_of_emergency(post_id: int) -> int:
    post = db.session.get(Post, post_id)
    if post is None or not post.emergency_category:
        return 0
    to = leads()
    if not to:
        log.warning(
            "emergency post %s was sent and nobody was told: GATEWAY_EMERGENCY_NOTIFY_EMAILS "
            "is not set and there is no active admin",
            post_id,
        )
        return 0
    if not current_app.config.get("EMERGENCY_NOTIFY_EMAILS"):
        log.warning(
            "GATEWAY_EMERGENCY_NOTIFY_EMAILS is not set: the admins are told of emergency post %s",
            post_id,
        )
    return messages.emergency_sent(post, to)


def tell_approvers_of_fast_track(post_id: int) -> int:
    post = db.session.get(Post, post_id)
    if post is None or not post.emergency_category:
        return 0
    from gateway.posts.emergency import fast_track_approvers

    to = tuple(u.email for u in fast_track_approvers(post))
    if not to:
        log.warning("emergency post %s awaits fast-track approval: nobody can approve it", post_id)
        return 0
    return messages.emergency_awaits_fast_track(post, to)


def _told_key(delivery: Delivery) -> str:
    reason = hashlib.sha256(_reason(delivery).encode()).hexdigest()[:16]
    return TOLD_KEY.format(
        delivery_id=delivery.id, status=delivery.status, attempts=delivery.attempts, reason=reason
    )


def _claim(keys: list[str]) -> list[bool]:
    """Claim the right to tell of each outcome (Redis SET NX), so two workers finishing two
    deliveries of one post never both tell of the same one. When Redis does not answer, tell
    anyway: a second email is better than none."""
    from gateway.queue import redis_connection

    try:
        pipe = redis_connection().pipeline(transaction=False)
        for key in keys:
            pipe.set(key, b"1", nx=True, ex=TOLD_TTL_SECONDS)
        return [bool(ok) for ok in pipe.execute()]
    except Exception:  # noqa: BLE001 - redis-py raises several kinds when Redis is away
        log.warning("could not reach Redis to de-duplicate an email: sending it anyway")
        return [True] * len(keys)


def _unclaim(keys: list[str]) -> None:
    """The email did not go: let the next event for this post tell of these outcomes too."""
    from gateway.queue import redis_connection

    try:
        redis_connection().delete(*keys)
    except Exception:  # noqa: BLE001
        log.warning("could not reach Redis to release an email that was not sent")


def _reason(delivery: Delivery) -> str:
    why = delivery.held_reason if delivery.status == DeliveryStatus.HELD else None
    why = why or delivery.last_error or delivery.held_reason or "no reason recorded"
    return f"{delivery.channel.display_name}: {why}"


def tell_author(post_id: int, event: str) -> int:
    """Tell the author about every delivery of the post now in the event's status that nobody
    has told them about yet."""
    status = EVENT_STATUS[event]
    post = db.session.get(Post, post_id)
    if post is None:
        return 0
    rows = db.session.scalars(
        select(Delivery)
        .where(Delivery.post_id == post_id, Delivery.status == status.value)
        .order_by(Delivery.id)
    ).all()
    if not rows:
        return 0
    keys = [_told_key(d) for d in rows]
    claimed = _claim(keys)
    new = [d for d, ok in zip(rows, claimed, strict=True) if ok]
    if not new:
        return 0
    reasons = [_reason(d) for d in new]
    also = leads() if post.emergency_category else ()
    if status is DeliveryStatus.BLOCKED:
        sent = messages.post_blocked(post, reasons, also=also)
    elif status is DeliveryStatus.HELD:
        sent = messages.post_held(post, reasons, also=also)
    else:
        sent = messages.post_failed(post, "\n" + "\n".join(f"- {r}" for r in reasons), also=also)
    if not sent and current_app.config.get("SMTP_HOST"):
        _unclaim([k for k, ok in zip(keys, claimed, strict=True) if ok])
    return sent

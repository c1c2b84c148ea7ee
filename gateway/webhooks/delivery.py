"""Sending webhook messages: the ``webhooks`` queue's job and the scheduler's sweep (issue 17).

A message is claimed with a compare-and-set (pending and due, or a lease that lapsed) and the
claim committed *before* the request is sent, so no transaction or lock is held while a
receiver takes its time: a receiver that hangs costs one webhook worker for at most the
timeouts below, never a publish (the publishing workers do not serve this queue). Each attempt
is recorded with its status code, latency or error; a failure is tried again with exponential
backoff until 24 hours after the event, then given up with the reason. Redis only delivers: the
scheduler's sweep (every GATEWAY_SWEEP_SECONDS) queues every due message that has no live job,
new ones and retries alike, so a Redis that was flushed or down loses nothing. A receiver may
get a message twice (a worker that died after sending it, before recording it): the
``webhook-id`` stays the same so it can drop repeats.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from enum import StrEnum

import requests
from flask import Flask, current_app
from rq.job import JobStatus
from sqlalchemy import and_, or_, select, update

from gateway.extensions import db
from gateway.models import WebhookAttempt, WebhookMessage
from gateway.models.base import utcnow
from gateway.platforms.transport import RefusedDestination, RefusedRedirect, guarded_session
from gateway.publishing.liveness import forget_dead_run, forget_orphan, job_states
from gateway.queue import WEBHOOKS_QUEUE, get_queue, redis_connection
from gateway.webhooks.addresses import AddressRefused, check_url
from gateway.webhooks.endpoints import signing_secrets
from gateway.webhooks.signing import signed_headers

log = logging.getLogger(__name__)


class MessageStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    SENDING = "sending"  # claimed by a worker, under a lease
    DELIVERED = "delivered"  # a receiver answered 2xx
    GAVE_UP = "gave_up"  # 24 hours of failures, or its endpoint was disabled or deleted


#: Connecting is quick or never: a receiver that does not accept a connection in this long is
#: down, and the attempt is retried later.
CONNECT_TIMEOUT_SECONDS = 3.0
#: A receiver should answer at once and do its work afterwards (Standard Webhooks advises
#: the same): past this the attempt counts as failed and is retried.
READ_TIMEOUT_SECONDS = 10.0
#: RQ's last resort, above the two timeouts and a slow DNS answer.
JOB_TIMEOUT_SECONDS = 60
#: A claimed message's lease: past it the worker is taken as dead and the message is sent
#: again (at least once, never lost). Longer than any attempt can last.
LEASE = timedelta(seconds=JOB_TIMEOUT_SECONDS * 2)
#: Retries: 15 s after the first failure, doubling up to every 2 hours ...
RETRY_BASE_SECONDS = 15
RETRY_CAP = timedelta(hours=2)
#: ... for 24 hours after the event, then given up (issue 17).
RETRY_FOR = timedelta(hours=24)
#: How much of a receiver's answer is kept with an attempt, for the admin page.
EXCERPT_CHARS = 300
#: A receiver's answer is read up to this much and no further.
MAX_READ_BYTES = 4096
#: Messages the sweep queues in one pass: a receiver down for a day may have thousands.
SWEEP_BATCH = 500


def job_id_for(message_id: str) -> str:
    return f"webhook-{message_id}"


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt."""
    seconds = RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return min(RETRY_CAP, timedelta(seconds=seconds))


def _due(now: datetime):  # noqa: ANN202
    return or_(
        and_(
            WebhookMessage.status == MessageStatus.PENDING.value,
            WebhookMessage.next_attempt_at <= now,
        ),
        and_(
            WebhookMessage.status == MessageStatus.SENDING.value,
            WebhookMessage.lease_expires_at < now,
        ),
    )


# The job ---------------------------------------------------------------------------------------


def deliver_message(message_id: str) -> str:
    """Send one message once, if it is still due. Returns what happened (for the tests)."""
    now = utcnow()
    claimed = db.session.execute(
        update(WebhookMessage)
        .where(WebhookMessage.message_id == message_id, _due(now))
        .values(
            status=MessageStatus.SENDING.value,
            lease_expires_at=now + LEASE,
            attempts=WebhookMessage.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        db.session.rollback()
        return "nothing to do"
    message = db.session.scalars(
        select(WebhookMessage).where(WebhookMessage.message_id == message_id)
    ).one()
    endpoint = message.endpoint
    if endpoint.deleted_at is not None or not endpoint.enabled:
        reason = "the endpoint was deleted" if endpoint.deleted_at else "the endpoint is disabled"
        _give_up(message, reason)
        db.session.commit()
        return "gave up"
    pk, url, body, attempts = message.id, endpoint.url, message.body, message.attempts
    created_at = message.created_at
    try:
        secret: list[str] | None = signing_secrets(endpoint, utcnow())
    except Exception:  # noqa: BLE001 - a key taken out of GATEWAY_ENCRYPTION_KEYS
        secret = None
    # The claim is committed before the request: nothing is locked while the receiver answers.
    db.session.commit()
    db.session.close()
    if secret is None:
        result = Result(error="the signing secret cannot be read (GATEWAY_ENCRYPTION_KEYS)")
    else:
        result = send(url, message_id, body, secret)
    return _record(pk, message_id, result, attempts, created_at)


class Result:
    def __init__(
        self,
        *,
        status_code: int | None = None,
        latency_ms: int | None = None,
        error: str | None = None,
        excerpt: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.latency_ms = latency_ms
        self.error = error
        self.excerpt = excerpt

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


def send(url: str, message_id: str, body: str, secret: str | list[str]) -> Result:
    """One signed POST, with short timeouts, to an address checked again now (after DNS, the
    connection goes to the address checked: gateway.platforms.transport), following no
    redirect."""
    allow_private = bool(current_app.config.get("WEBHOOKS_ALLOW_PRIVATE"))
    try:
        check_url(url, allow_private=allow_private, resolve=False)
    except AddressRefused as exc:
        return Result(error=f"refused: {exc}")
    data = body.encode()
    headers = {
        **signed_headers(secret, message_id, utcnow(), data),
        "content-type": "application/json",
        "user-agent": "council-publishing-gateway-webhooks",
    }
    if allow_private:
        session = requests.Session()
        session.trust_env = False
    else:
        session = guarded_session(READ_TIMEOUT_SECONDS)
    started = time.monotonic()
    try:
        with (
            session,
            session.post(
                url,
                data=data,
                headers=headers,
                timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS),
                allow_redirects=False,
                stream=True,
            ) as response,
        ):
            raw = response.raw.read(MAX_READ_BYTES, decode_content=True) or b""
            latency = int((time.monotonic() - started) * 1000)
            excerpt = raw.decode("utf-8", "replace")[:EXCERPT_CHARS] or None
            if response.is_redirect or 300 <= response.status_code < 400:
                return Result(
                    status_code=response.status_code,
                    latency_ms=latency,
                    error=f"the answer was a redirect (HTTP {response.status_code}), "
                    "which is not followed",
                )
            error = None if response.ok else f"HTTP {response.status_code}"
            return Result(
                status_code=response.status_code, latency_ms=latency, error=error, excerpt=excerpt
            )
    except RefusedDestination as exc:
        return Result(error=f"refused: {exc}")
    except RefusedRedirect as exc:
        code = exc.response.status_code if exc.response is not None else None
        return Result(status_code=code, error=str(exc))
    except requests.ConnectTimeout:
        return Result(error=f"could not connect in {CONNECT_TIMEOUT_SECONDS:g} s")
    except requests.ReadTimeout:
        return Result(
            latency_ms=int((time.monotonic() - started) * 1000),
            error=f"no answer in {READ_TIMEOUT_SECONDS:g} s",
        )
    except requests.RequestException as exc:
        return Result(error=_connection_error(exc))


def _connection_error(exc: requests.RequestException) -> str:
    text = str(exc)
    if "refused to connect" in text:
        return "refused: the address is inside the network"
    if "Connection refused" in text or "Failed to establish" in text:
        return "could not connect (connection refused)"
    return f"the request failed ({type(exc).__name__})"


def _record(pk: int, message_id: str, result: Result, attempts: int, created_at: datetime) -> str:
    now = utcnow()
    db.session.add(
        WebhookAttempt(
            message_pk=pk,
            attempted_at=now,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            error=result.error,
            response_excerpt=result.excerpt,
        )
    )
    message = db.session.get(WebhookMessage, pk, with_for_update=True)
    if message is None or message.status != MessageStatus.SENDING.value:
        db.session.commit()
        return "recorded"
    message.lease_expires_at = None
    if result.ok:
        message.status = MessageStatus.DELIVERED.value
        message.delivered_at = now
        outcome = "delivered"
    elif now >= created_at + RETRY_FOR:
        _give_up(
            message,
            f"gave up after {attempts} attempts over 24 hours; the last: {result.error}",
        )
        outcome = "gave up"
    else:
        message.status = MessageStatus.PENDING.value
        message.next_attempt_at = min(now + retry_delay(attempts), created_at + RETRY_FOR)
        outcome = "retry"
    db.session.commit()
    return outcome


def _give_up(message: WebhookMessage, reason: str) -> None:
    message.status = MessageStatus.GAVE_UP.value
    message.gave_up_reason = reason
    message.lease_expires_at = None
    message.next_attempt_at = None
    log.warning("webhook message %s given up: %s", message.message_id, reason)


# The sweep -------------------------------------------------------------------------------------


def webhook_sweep(app: Flask, *, now: datetime | None = None) -> int:
    """Queue every due message that has no live job (retries fall due here; so do messages
    whose job Redis lost, and those whose worker died mid-attempt). Returns how many."""
    now = now or utcnow()
    message_ids = db.session.scalars(
        select(WebhookMessage.message_id)
        .where(_due(now))
        .order_by(WebhookMessage.next_attempt_at)
        .limit(SWEEP_BATCH)
    ).all()
    db.session.rollback()
    if not message_ids:
        return 0
    conn = redis_connection(app)
    job_ids = [job_id_for(m) for m in message_ids]
    queue = get_queue(WEBHOOKS_QUEUE, app)
    from workers.options import job_options

    enqueued = 0
    for message_id, job_id, state in zip(
        message_ids, job_ids, job_states(conn, job_ids), strict=True
    ):
        if state.live(now):
            continue
        if state.status == JobStatus.STARTED.value:
            forget_dead_run(conn, job_id, state)
        elif state.orphaned_since is not None:
            forget_orphan(conn, job_id)
        queue.enqueue(
            deliver_message,
            message_id,
            job_id=job_id,
            **job_options(job_timeout=JOB_TIMEOUT_SECONDS),
        )
        enqueued += 1
    return enqueued

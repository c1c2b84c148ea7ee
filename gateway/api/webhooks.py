"""Webhook endpoints in the API, for admins' tokens (issue 17): read-only, the same rows the
admin pages show. Registering an endpoint, which shows its secret, stays on the admin page,
behind the admin's sign-in with its second factor."""

from __future__ import annotations

from flask import abort
from sqlalchemy import func, select

from gateway.admin.webhooks import MESSAGES_SHOWN
from gateway.api import problems, schemas
from gateway.api.scopes import needs
from gateway.api.spec import api, responses
from gateway.api.views import bp
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import WebhookEndpoint, WebhookMessage
from gateway.security import requires

WEBHOOKS = "Webhooks"


def _endpoint_or_404(endpoint_id: int) -> WebhookEndpoint:
    endpoint = (
        db.session.get(WebhookEndpoint, endpoint_id) if endpoint_id <= schemas.MAX_ID else None
    )
    if endpoint is None or endpoint.deleted_at is not None:
        abort(problems.problem(404, f"There is no webhook endpoint {endpoint_id}."))
    return endpoint


@bp.get("/webhooks")
@needs("webhooks:read")
@requires(Role.ADMIN)
@api.validate(
    resp=responses(200, schemas.WebhookEndpointList),
    tags=[WEBHOOKS],
    operation_id="listWebhookEndpoints",
)
def webhook_endpoints():
    """The webhook endpoints admins registered, with how many messages each has waiting.
    For admins."""
    rows = db.session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.deleted_at.is_(None))
        .order_by(WebhookEndpoint.id)
    ).all()
    waiting = dict(
        db.session.execute(
            select(WebhookMessage.endpoint_id, func.count())
            .where(WebhookMessage.status.in_(("pending", "sending")))
            .group_by(WebhookMessage.endpoint_id)
        ).all()
    )
    return schemas.WebhookEndpointList(
        items=[
            schemas.WebhookEndpointOut(
                id=e.id,
                url=e.url,
                description=e.description,
                events=e.event_types,
                enabled=e.enabled,
                created_at=e.created_at,
                secret_rotated_at=e.secret_rotated_at,
                waiting=waiting.get(e.id, 0),
            )
            for e in rows
        ]
    )


@bp.get("/webhooks/<int:endpoint_id>/messages")
@needs("webhooks:read")
@requires(Role.ADMIN)
@api.validate(
    resp=responses(200, schemas.WebhookMessageList, 404),
    tags=[WEBHOOKS],
    operation_id="listWebhookMessages",
)
def webhook_messages(endpoint_id: int):
    """An endpoint's newest messages, each with its body and every attempt (time, status
    code, latency, error). For admins."""
    endpoint = _endpoint_or_404(endpoint_id)
    rows = db.session.scalars(
        select(WebhookMessage)
        .where(WebhookMessage.endpoint_id == endpoint.id)
        .order_by(WebhookMessage.id.desc())
        .limit(MESSAGES_SHOWN)
    ).all()
    return schemas.WebhookMessageList(
        items=[
            schemas.WebhookMessageOut(
                message_id=m.message_id,
                event_type=m.event_type,
                status=m.status,
                created_at=m.created_at,
                next_attempt_at=m.next_attempt_at,
                delivered_at=m.delivered_at,
                gave_up_reason=m.gave_up_reason,
                body=m.body,
                attempts=[
                    schemas.WebhookAttemptOut(
                        attempted_at=a.attempted_at,
                        status_code=a.status_code,
                        latency_ms=a.latency_ms,
                        error=a.error,
                    )
                    for a in m.attempt_rows
                ],
            )
            for m in rows
        ]
    )

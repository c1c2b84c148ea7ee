"""The publish jobs: they take ids and hand over to gateway.publishing.attempt.

RQ's own Retry is deliberately not used: only failures known to have happened before the
request was sent may be retried, and our rows and the sweep decide that (issue 5).
"""

from __future__ import annotations

from gateway.publishing import attempt


def publish_delivery(delivery_id: int) -> str:
    return attempt.publish(delivery_id)


def resolve_delivery(delivery_id: int, attempt_id: str | None) -> str:
    return attempt.resolve_abandoned(delivery_id, attempt_id)

"""The sweeps the scheduler runs on every pass, each reconciling the database with Redis."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from gateway.audit.checkpoints import checkpoint_sweep
from gateway.oauth.health import health_sweep
from gateway.publishing.release import release_due, release_stale
from gateway.webhooks.delivery import webhook_sweep

#: In order: first hand out due work, then rescue attempts whose worker died; last, queue the
#: daily token check when a channel is due for it (issue 15); then the webhook messages that
#: are due and have no live job (issue 17).
SWEEPS: list[Callable[[Flask], object]] = [
    release_due,
    release_stale,
    checkpoint_sweep,
    health_sweep,
    webhook_sweep,
]

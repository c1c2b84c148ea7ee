"""The sweeps the scheduler runs on every pass, each reconciling the database with Redis."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from gateway.audit.checkpoints import checkpoint_sweep
from gateway.publishing.release import release_due, release_stale

#: In order: first hand out due work, then rescue attempts whose worker died.
SWEEPS: list[Callable[[Flask], object]] = [release_due, release_stale, checkpoint_sweep]

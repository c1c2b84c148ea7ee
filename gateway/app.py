"""The application factory: it only calls small ``init_app`` / ``register_*`` steps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from jinja2 import StrictUndefined

from gateway import clock, settings


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the gateway. ``config`` overrides the settings read from the environment."""
    loaded = settings.load()
    if config:
        loaded.update(config)
    app = Flask(__name__, instance_path=loaded["INSTANCE_PATH"], instance_relative_config=False)
    app.config.update(loaded)
    # Every process builds its app first, so each reads the same moved clock, or none.
    clock.set_offset(app.config.get("CLOCK_OFFSET_SECONDS", 0.0))
    # A typo in a template must break a test, not render blank (STYLE.md, from GOV.UK Notify).
    app.jinja_env.undefined = StrictUndefined

    from gateway import (
        admin,
        api,
        auth,
        converters,
        database,
        emergency,
        errors,
        health,
        notifications,
        queue,
        security,
        web,
        webhooks,
    )
    from gateway.publishing import media

    converters.init_app(app)
    security.init_app(app)
    database.init_app(app)
    queue.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    health.init_app(app)
    web.init_app(app)
    admin.init_app(app)
    media.init_app(app)
    emergency.init_app(app)
    api.init_app(app)
    notifications.init_app(app)
    webhooks.init_app(app)
    __import__("gateway.auditor").auditor.init_app(app)
    security.check_every_route_has_a_permission(app)
    return app

"""The JSON API for the council's other systems, under /api/v1 (issue 17)."""

from __future__ import annotations

from flask import Flask

from gateway.extensions import csrf


def init_app(app: Flask) -> None:
    # Importing them adds their operations to the API's blueprint (views.bp).
    from gateway.api import (  # noqa: F401
        account,
        admin_tokens,
        audit_log,
        auth,
        channels,
        post_images,
        schedule,
        views,
        webhooks,
    )

    auth.init_app(app)
    # The API takes no cookie (gateway.api.auth), so there is no session for a forged request
    # to ride on: its blueprint alone is exempt from CSRF. The token pages are forms, with it.
    csrf.exempt(views.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(admin_tokens.pages)

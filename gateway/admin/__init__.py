"""Admin pages: users and roles, channels, elections, the register, allowed contacts and
closure days (issue 6)."""

from __future__ import annotations

from flask import Flask

from gateway.admin.views import bp


def init_app(app: Flask) -> None:
    # Importing the modules registers their routes on ``bp``.
    from gateway.admin import (  # noqa: F401
        channels,
        connect_facebook,
        connect_x,
        emergency_templates,
        platform_apps,
        policy,
        sso,
        two_factor,
        webhooks,
    )

    app.register_blueprint(bp)

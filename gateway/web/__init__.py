"""The officers' pages: dashboard, posts, approvals, schedule."""

from __future__ import annotations

from flask import Flask

from gateway.domain.roles import Role
from gateway.forms import init_app as init_govuk_forms
from gateway.web import display, page_cache
from gateway.web.views import bp


def init_app(app: Flask) -> None:
    init_govuk_forms(app)
    # Importing the modules registers their routes on ``bp``.
    from gateway.web import approvals, live_check, posts, schedule, search  # noqa: F401

    app.register_blueprint(bp)
    display.init_app(app)
    page_cache.init_app(app)
    app.context_processor(lambda: {"Role": Role})

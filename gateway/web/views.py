"""The dashboard, and the blueprint the officers' pages share."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from gateway.security import signed_in
from gateway.web import page_cache, queries
from gateway.web.page_cache import kept_until_changed

bp = Blueprint("web", __name__)


@bp.get("/")
@signed_in
@kept_until_changed
def dashboard():
    today = queries.today_local()
    common = page_cache.shared(("dashboard", today), lambda: queries.common_board(today))
    board = queries.dashboard(current_user, common)
    return render_template(
        "web/dashboard.html",
        board=board.sections,
        overdue_reviews=board.overdue_reviews,
        reconnect=board.reconnect,
    )

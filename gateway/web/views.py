"""The dashboard, and the blueprint the officers' pages share."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from gateway.security import signed_in
from gateway.web import queries

bp = Blueprint("web", __name__)


@bp.get("/")
@signed_in
def dashboard():
    board = queries.dashboard(current_user)
    return render_template(
        "web/dashboard.html", board=board.sections, overdue_reviews=board.overdue_reviews
    )

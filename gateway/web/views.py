from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import func, select

from gateway.domain.statuses import PostStatus
from gateway.extensions import db
from gateway.models import Post
from gateway.security import signed_in

bp = Blueprint("web", __name__)


@bp.get("/")
@signed_in
def dashboard():
    counts = dict(
        db.session.execute(
            select(Post.status, func.count())
            .where(Post.author_id == current_user.id)
            .group_by(Post.status)
        ).all()
    )
    mine = {status: counts.get(status.value, 0) for status in PostStatus}
    return render_template("web/dashboard.html", mine=mine)

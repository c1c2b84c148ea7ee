"""The approval queue, approve, reject, and the monitoring officer's referral decision.

Two-person approval is enforced by the post service, not here (STYLE.md): these views only
turn its PostError into a message on the page. Approve and reject are POSTs with a CSRF token,
and a second click finds the post already decided and says so.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from gateway import notifications as notify
from gateway.extensions import db
from gateway.posts import permissions, service
from gateway.posts.service import PostError
from gateway.security import requires
from gateway.web import page_cache, queries
from gateway.web.forms import ConfirmForm, ReasonForm, ReferralForm
from gateway.web.page_cache import kept_until_changed
from gateway.web.posts import PLATFORM_NAMES, post_or_404, render_post_page
from gateway.web.views import bp


@bp.get("/approvals")
@requires(*permissions.QUEUE)
@kept_until_changed
def approvals():
    try:
        page = max(int(request.args.get("page", "1")), 1)
    except ValueError:
        page = 1
    # With the page cache on, every approver's queue comes from one shared list of the posts
    # awaiting approval, read once after each change.
    awaiting = (
        page_cache.shared(("awaiting-approval",), queries.awaiting_approval)
        if page_cache.enabled()
        else None
    )
    count, posts = queries.approval_queue(current_user, page, awaiting)
    return render_template(
        "web/approvals.html",
        count=count,
        posts=posts,
        page=page,
        page_rows=queries.QUEUE_PAGE_ROWS,
        platform_names=PLATFORM_NAMES,
    )


@bp.post("/posts/<int:post_id>/approve")
@requires(*permissions.APPROVE)
def post_approve(post_id: int):
    post = post_or_404(post_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        service.approve(post, current_user)
        db.session.commit()
    except PostError as exc:
        db.session.rollback()
        return render_post_page(post_or_404(post_id), page_errors=[exc.message])
    notify.post_decided(post, approved=True)
    if post.emergency_category:
        # Its deliveries are due now, on the emergency queue (service.schedule_deliveries).
        flash("Approved. The emergency post is going out now.")
    else:
        flash("Approved. The post is scheduled.")
    return redirect(url_for("web.post_show", post_id=post.id))


@bp.post("/posts/<int:post_id>/reject")
@requires(*permissions.APPROVE)
def post_reject(post_id: int):
    post = post_or_404(post_id)
    form = ReasonForm(prefix="reject")
    if not form.validate_on_submit():
        return render_post_page(post, reject_form=form)
    try:
        service.reject(post, current_user, form.reason.data)
        db.session.commit()
    except PostError as exc:
        db.session.rollback()
        post = post_or_404(post_id)
        if exc.field == "reason":
            form.reason.errors.append(exc.message)
            return render_post_page(post, reject_form=form)
        return render_post_page(post, page_errors=[exc.message])
    notify.post_decided(post, approved=False, reason=form.reason.data)
    flash("Rejected. The author can see your reason.")
    return redirect(url_for("web.post_show", post_id=post.id))


@bp.post("/posts/<int:post_id>/referral")
@requires(*permissions.DECIDE_REFERRAL)
def post_referral(post_id: int):
    post = post_or_404(post_id)
    form = ReferralForm(prefix="referral")
    if not form.validate_on_submit():
        return render_post_page(post, referral_form=form)
    cleared = form.decision.data == "clear"
    try:
        service.decide_referral(post, current_user, cleared=cleared, reason=form.reason.data)
        db.session.commit()
    except PostError as exc:
        db.session.rollback()
        post = post_or_404(post_id)
        if exc.field == "reason":
            form.reason.errors.append(exc.message)
            return render_post_page(post, referral_form=form)
        return render_post_page(post, page_errors=[exc.message])
    if not cleared:
        notify.post_decided(post, approved=False, reason=form.reason.data)
    flash(
        "Referral cleared: an officer can now approve the post."
        if cleared
        else "Referral upheld: the post is rejected and its author can see your reason."
    )
    return redirect(url_for("web.post_show", post_id=post.id))

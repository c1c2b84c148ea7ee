"""Emergency posts: the duty officer's form and the review list."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from gateway.domain import bilingual
from gateway.domain.emergency import CATEGORIES, Release, release_for
from gateway.domain.guardrails.engine import shown_once
from gateway.domain.roles import Role
from gateway.domain.statuses import DeliveryStatus, PostStatus
from gateway.emergency.forms import EmergencyForm, ReviewForm, one_language
from gateway.extensions import db
from gateway.models import Post
from gateway.models.base import utcnow
from gateway.policy import current_context
from gateway.posts import bilingual as bilingual_setting
from gateway.posts import emergency, emergency_templates, permissions
from gateway.posts import images as image_store
from gateway.posts.service import NewImage, PostError
from gateway.security import requires
from gateway.web.posts import PLATFORM_NAMES, channel_choices, channel_previews

bp = Blueprint("emergency", __name__, url_prefix="/emergency")
REVIEWERS = (Role.OFFICER, Role.DUTY_OFFICER, Role.MONITORING_OFFICER)
FIELDS = {
    "category": "category",
    "text": "text",
    "text_cy": "text_cy",
    "channels": "channels",
    "images": "image",
}


def _image(form: EmergencyForm) -> list[NewImage] | None:
    upload = form.image.data
    alt = (form.alt_text.data or "").strip()
    # A bilingual post's image has a Welsh alt text too (issue 18).
    both = "alt_text_cy" in form
    alt_cy = (form.alt_text_cy.data or "").strip() if both else None
    if upload is None or not getattr(upload, "filename", ""):
        if alt or alt_cy:
            form.image.errors.append("Choose the image, or delete its alt text")
            return None
        return []
    data = upload.read()
    try:
        image_store.inspect_image(data, upload.filename)
    except image_store.ImageError as exc:
        form.image.errors.append(str(exc))
        return None
    if not alt or (both and not alt_cy):
        if not alt:
            form.alt_text.errors.append("Enter alt text that describes the image")
        if both and not alt_cy:
            form.alt_text_cy.errors.append("Enter Welsh alt text that describes the image")
        form.image.errors.append("Choose the image again after adding its alt text")
        return None
    return [NewImage(upload.filename, upload.mimetype or "", data, alt, alt_text_cy=alt_cy)]


@bp.route("", methods=["GET", "POST"])
@requires(*permissions.EMERGENCY)
def new():
    form = EmergencyForm()
    if not bilingual_setting.enabled():
        one_language(form)
    form.channels.choices = channel_choices()
    if request.method == "GET":
        # Every enabled channel is chosen already: at 3am there is no time to tick boxes.
        form.channels.data = [c.value for c in form.channels.choices]
        _start_from_template(form, request.args.get("template"))
    findings, page_errors = [], []
    skipped: dict[int, str] = {}
    if form.validate_on_submit():
        images = _image(form)
        if images is not None:
            args = {
                "text": form.text.data,
                "channel_ids": form.channels.data,
                "category": form.category.data,
                "images": images,
                "text_cy": form.text_cy.data if "text_cy" in form else None,
            }
            try:
                if request.form.get("action") == "check":
                    findings, skipped = emergency.check(current_user, **args)
                else:
                    post = emergency.send(current_user, **args)
                    db.session.commit()
                    emergency.announce(post)
                    if post.emergency_release == Release.FAST_TRACK:
                        return redirect(url_for("emergency.fast_track", post_id=post.id))
                    flash(_going_out(post))
                    return redirect(url_for("web.post_show", post_id=post.id))
            except PostError as exc:
                # Nothing was saved.
                db.session.rollback()
                target = FIELDS.get(exc.field or "")
                message = exc.message
                if isinstance(exc, emergency.GuardrailsRefused):
                    # Each finding is listed above the form: say once what to do rather than
                    # repeat them all in one sentence (issue 22).
                    message = (
                        "The emergency post cannot go out until you change what the "
                        "guardrails found, listed above the form."
                    )
                (getattr(form, target).errors if target else page_errors).append(message)
                try:
                    findings, skipped = emergency.check(current_user, **args)
                except PostError:
                    db.session.rollback()
    findings = shown_once(findings)
    status = 400 if (form.errors or page_errors) else 200
    return (
        render_template(
            "emergency/new.html",
            form=form,
            findings=findings,
            page_errors=page_errors,
            fast_track=_fast_track_now(),
            channel_items=_channel_notes(form, skipped),
            previews=_previews(form, skipped),
            platform_names=PLATFORM_NAMES,
            welsh_first=bilingual_setting.settings().order is bilingual.Order.WELSH_FIRST,
            templates=emergency_templates.all_templates(),
            categories=CATEGORIES,
        ),
        status,
    )


def _start_from_template(form: EmergencyForm, category: str | None) -> None:
    """The category chosen and both texts filled in from the admin's prepared template
    (issue 18: the Welsh text quick to enter), for the duty officer to finish."""
    row = emergency_templates.template_for(category)
    if row is None:
        return
    form.category.data = row.category
    form.text.data = row.text_en
    if "text_cy" in form:
        form.text_cy.data = row.text_cy


def _channel_notes(form: EmergencyForm, skipped: dict[int, str]) -> list[dict]:
    """A note on each channel the post would leave out, beside its check box (issue 22: the
    reason belongs to the channel, not the text)."""
    return [
        {"hint": {"text": f"Left out: {skipped[choice.value]}"}} if choice.value in skipped else {}
        for choice in form.channels.choices
    ]


def _previews(form: EmergencyForm, skipped: dict[int, str]) -> list[dict]:
    """What each chosen channel would receive (and its count), with a note on each channel
    the post would leave out: the live check's script updates them as the officer types."""
    chosen = form.channels.data or []
    # Both languages, as each channel gets them (issue 18): one bilingual post or two.
    welsh = (form.text_cy.data or "").strip() if "text_cy" in form else None
    previews = channel_previews((form.text.data or "").strip(), chosen, text_cy=welsh)
    return [{**p, "left_out": skipped.get(p["channel"].id)} for p in previews]


def _going_out(post: Post) -> str:
    """What the duty officer is told once the post is on its way: where it goes, and each
    channel left out with why."""
    left_out = [d for d in post.deliveries if d.status_enum is DeliveryStatus.SKIPPED]
    going = ", ".join(d.channel.display_name for d in post.deliveries if d not in left_out)
    message = f"The emergency post is going out now on {going}. It will be reviewed tomorrow."
    for d in left_out:
        message += f" Left out: {d.channel.display_name}: {d.last_error}"
    return message


def _fast_track_now() -> bool:
    """Whether "Post now" would send it to fast-track approval, for the form's words (the
    service decides again when it is sent)."""
    setting = emergency.in_hours_setting()
    return release_for(utcnow(), current_context().office_hours, setting) is Release.FAST_TRACK


@bp.get("/<int:post_id>/fast-track")
@requires(Role.DUTY_OFFICER)
def fast_track(post_id: int):
    """What the duty officer sees after "Post now" in office hours: it waits for another
    officer's fast-track approval, and who was alerted (issue 20)."""
    post = db.session.get(Post, post_id)
    if post is None or post.emergency_release != Release.FAST_TRACK:
        abort(404)
    return render_template(
        "emergency/fast_track.html",
        post=post,
        awaiting=post.status_enum is PostStatus.AWAITING_APPROVAL,
        approvers=emergency.fast_track_approvers(post),
        email_on=bool(current_app.config.get("SMTP_HOST")),
    )


@bp.get("/reviews")
@requires(*REVIEWERS)
def reviews():
    return render_template(
        "emergency/reviews.html",
        waiting=emergency.awaiting_review(),
        review_form=ReviewForm(),
    )


@bp.post("/reviews/<int:post_id>")
@requires(*REVIEWERS)
def review(post_id: int):
    post = db.session.get(Post, post_id)
    if post is None:
        abort(404)
    form = ReviewForm()
    error = None
    if form.validate_on_submit():
        try:
            emergency.review(
                post, current_user, concern=form.outcome.data == "concern", note=form.note.data
            )
            db.session.commit()
            flash("Review recorded.")
            return redirect(url_for("emergency.reviews"))
        except PostError as exc:
            db.session.rollback()
            error = exc.message
    else:
        error = "; ".join(m for msgs in form.errors.values() for m in msgs)
    return (
        render_template(
            "emergency/reviews.html",
            waiting=emergency.awaiting_review(),
            review_form=form,
            page_errors=[error] if error else [],
        ),
        400,
    )

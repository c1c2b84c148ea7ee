"""New post, edit, submit, cancel and the post page (issue 6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from wtforms.fields.choices import SelectChoice

from gateway import notifications as notify
from gateway.domain import bilingual
from gateway.domain.emergency import Release
from gateway.domain.guardrails import AmbiguousLocalTime, NonexistentLocalTime, Outcome
from gateway.domain.guardrails.clock import LONDON, local_to_utc
from gateway.domain.statuses import PostStatus
from gateway.extensions import db
from gateway.models import Channel, Delivery, Post, PostImage
from gateway.models.base import utcnow
from gateway.posts import bilingual as bilingual_setting
from gateway.posts import held, permissions, service
from gateway.posts import images as image_store
from gateway.posts.live import findings_shown
from gateway.posts.service import NewImage, PostError
from gateway.security import requires, signed_in
from gateway.web import history
from gateway.web.forms import ConfirmForm, PostForm, ReasonForm, ReferralForm, one_language
from gateway.web.views import bp

EDITABLE = permissions.EDITABLE
CANCELLABLE = permissions.CANCELLABLE
#: Approval rows that carry a reason the author must see.
REJECTIONS = (service.REJECTED, service.REFERRAL_UPHELD)
#: Form fields a service error names, mapped to the form field that shows it.
SERVICE_FIELDS = {
    "scheduled_at": "publish_date",
    "text": "text",
    "text_cy": "text_cy",
    "channels": "channels",
}


def post_or_404(post_id: int) -> Post:
    post = db.session.get(Post, post_id)
    if post is None:
        abort(404)
    return post


def channel_choices() -> list[SelectChoice]:
    rows = db.session.execute(
        select(Channel.id, Channel.display_name, Channel.platform)
        .where(Channel.enabled.is_(True))
        .order_by(Channel.display_name, Channel.id)
    ).all()
    return [
        SelectChoice(
            row.id, f"{row.display_name} ({PLATFORM_NAMES.get(row.platform, row.platform)})"
        )
        for row in rows
    ]


PLATFORM_NAMES = {
    "x": "X",
    "facebook": "Facebook Page",
    "instagram": "Instagram",
    "bluesky": "Bluesky",
    "mastodon": "Mastodon",
}


def _scheduled_at(form: PostForm, submitting: bool) -> datetime | None:
    """The London date and time as UTC, with a message beside the field that is wrong."""
    day, at = form.publish_date.data, getattr(form.publish_time, "parsed", None)
    if form.publish_date.errors or form.publish_time.errors:
        return None
    if day is None and at is None:
        if submitting:
            form.publish_date.errors.append("Enter the date the post goes out")
        return None
    if day is None:
        form.publish_date.errors.append("Enter the date the post goes out, as well as the time")
        return None
    if at is None:
        form.publish_time.errors.append("Enter the time the post goes out, as well as the date")
        return None
    try:
        when = local_to_utc(day, at)
    except (NonexistentLocalTime, AmbiguousLocalTime) as exc:
        form.publish_time.errors.append(str(exc))
        return None
    if when <= utcnow():
        form.publish_date.errors.append(
            "The date and time must be in the future: choose a later time"
        )
        return None
    return when


def _new_images(form: PostForm) -> list[NewImage] | None:
    """The uploaded images, each checked, with its alt text; None when none was chosen."""
    found: list[NewImage] = []
    both = "text_cy" in form
    for index, entry in enumerate(form.images.entries, start=1):
        upload = entry.form.file.data
        alt = (entry.form.alt_text.data or "").strip()
        alt_cy = (entry.form.alt_text_cy.data or "").strip() if both else None
        if upload is None or not getattr(upload, "filename", ""):
            if alt or alt_cy:
                entry.form.file.errors.append(f"Choose image {index}, or delete its alt text")
            continue
        data = upload.read()
        name = upload.filename or f"image-{index}"
        try:
            image_store.inspect_image(data, name)
        except image_store.ImageError as exc:
            entry.form.file.errors.append(str(exc))
            continue
        missing = False
        if not alt:
            # Alt text is required (WCAG 2.2 1.1.1; the Design System's images guidance).
            words = "English alt text" if both else "alt text"
            entry.form.alt_text.errors.append(f"Enter {words} for image {index}")
            missing = True
        if both and not alt_cy:
            # In both languages on a bilingual post (issue 18).
            entry.form.alt_text_cy.errors.append(f"Enter Welsh alt text for image {index}")
            missing = True
        if missing:
            entry.form.file.errors.append(f"Choose image {index} again after adding its alt text")
            continue
        found.append(NewImage(name, upload.mimetype or "", data, alt, alt_cy))
    return found or None


def _form_has_errors(form: PostForm) -> bool:
    return bool(form.errors) or any(
        entry.form.file.errors
        or entry.form.alt_text.errors
        or ("alt_text_cy" in entry.form and entry.form.alt_text_cy.errors)
        for entry in form.images.entries
    )


def _welsh(form: PostForm) -> str | None:
    """The Welsh text from the form, or None when the form is in one language."""
    return form.text_cy.data if "text_cy" in form else None


def new_post_form(post: Post | None = None) -> PostForm:
    """The post form, with a Welsh and an English text while the installation publishes in
    both languages, or when the post already is bilingual (issue 18)."""
    from wtforms.validators import InputRequired, Length

    form = PostForm()
    form.channels.choices = channel_choices()
    if bilingual_setting.enabled() or (post is not None and post.bilingual):
        form.text.validators = [
            InputRequired("Enter the English text of the post"),
            Length(
                max=service.MAX_TEXT_CHARS,
                message=f"The English text must be {service.MAX_TEXT_CHARS:,} characters or fewer",
            ),
        ]
    else:
        one_language(form)
    return form


def _apply_service_error(form: PostForm, exc: PostError, page_errors: list) -> None:
    target = SERVICE_FIELDS.get(exc.field or "")
    if target:
        getattr(form, target).errors.append(exc.message)
    elif exc.field == "images":
        form.images.entries[0].form.file.errors.append(exc.message)
    else:
        page_errors.append(exc.message)


def _save(form: PostForm, post: Post | None, page_errors: list):
    """Save (and maybe submit) the form. Returns a redirect, or None to show the form again."""
    submitting = request.form.get("action") == "submit"
    ok = form.validate_on_submit()
    scheduled_at = _scheduled_at(form, submitting)
    new_images = _new_images(form)
    if not ok or _form_has_errors(form):
        return None, post
    if post is None and submitting:
        return _submit_new(form, scheduled_at, new_images or (), page_errors), None
    try:
        if post is None:
            post = service.create_draft(
                current_user,
                text=form.text.data,
                text_cy=_welsh(form),
                channel_ids=form.channels.data,
                scheduled_at=scheduled_at,
                images=new_images or (),
            )
        else:
            version = int(form.expected_version.data) if form.expected_version.data else None
            service.update_post(
                post,
                current_user,
                text=form.text.data,
                text_cy=_welsh(form),
                channel_ids=form.channels.data,
                scheduled_at=scheduled_at,
                images=new_images,
                expected_version=version,
            )
        db.session.commit()
    except PostError as exc:
        db.session.rollback()
        _apply_service_error(form, exc, page_errors)
        return None, (db.session.get(Post, post.id) if post is not None and post.id else None)
    except StaleDataError:
        db.session.rollback()
        page_errors.append(
            "Someone else changed this post while you were editing it. Check their changes "
            "and make yours again."
        )
        return None, (db.session.get(Post, post.id) if post is not None else None)
    form.expected_version.data = str(post.version)
    if not submitting:
        flash("Draft saved. Check the guardrail findings and the preview, then submit it.")
        return redirect(url_for("web.post_edit", post_id=post.id)), post
    try:
        service.submit(post, current_user)
        db.session.commit()
    except PostError as exc:
        # The draft is kept (committed above); the verdict the service recorded is kept too.
        db.session.commit()
        db.session.refresh(post)
        # Blocking findings are listed in the summary one by one (with their clause): say
        # once what to do rather than repeat them all in one sentence.
        blocked = any(f.outcome is Outcome.BLOCK for f in _findings_view(post)[0])
        page_errors.append(
            "The post cannot be submitted until you fix what the guardrails blocked."
            if blocked
            else exc.message
        )
        form.expected_version.data = str(post.version)
        # The images are saved with the draft: empty their slots, or the form would ask for
        # the files again (a browser never refills a file input).
        for entry in form.images.entries:
            entry.form.alt_text.data = ""
            if "alt_text_cy" in entry.form:
                entry.form.alt_text_cy.data = ""
        return None, post
    notify.post_awaits_approval(post)
    flash("Submitted for approval. Another officer needs to approve it.")
    return redirect(url_for("web.post_show", post_id=post.id)), post


def _submit_new(
    form: PostForm, scheduled_at: datetime | None, images: list[NewImage], page_errors: list
):
    """ "Submit for approval" on the new-post page: the draft is made and submitted in one
    transaction, so a refusal saves nothing (issue 22: a blocked submit left a draft behind).
    The officer stays on the new-post page with the findings and the errors; "Save as draft"
    keeps it. Returns a redirect, or None to show the form again."""
    post: Post | None = None
    try:
        post = service.create_draft(
            current_user,
            text=form.text.data,
            text_cy=_welsh(form),
            channel_ids=form.channels.data,
            scheduled_at=scheduled_at,
            images=images,
        )
        service.submit(post, current_user)
    except PostError as exc:
        # Found on the unsaved post, before it is rolled back with everything else.
        found = _findings_view(post) if post is not None else ([], [])
        db.session.rollback()
        form.found = found
        blocked = any(f.outcome is Outcome.BLOCK for f in found[0])
        page_errors.append(
            "The post cannot be submitted until you fix what the guardrails blocked. Nothing "
            "was saved: choose Save as draft to keep it as it is."
            if blocked
            else exc.message
        )
        if images:
            # A browser never refills a file input, and nothing was saved.
            for index, entry in enumerate(form.images.entries[: len(images)], start=1):
                entry.form.file.errors.append(f"Choose image {index} again: nothing was saved")
        return None
    db.session.commit()
    notify.post_awaits_approval(post)
    flash("Submitted for approval. Another officer needs to approve it.")
    return redirect(url_for("web.post_show", post_id=post.id))


def _findings_view(post: Post | None) -> tuple[list, list]:
    """(findings, page errors): each finding once, with the channels it applies to."""
    if post is None or post.id is None:
        return [], []
    try:
        # Each once, strongest first, as the API shows them (gateway.posts.live).
        findings = findings_shown(post)[0]
    except PostError as exc:
        return [], [exc.message]
    errors = [
        {"text": f"Blocked: {service.finding_words(f)}", "href": f"#finding-{i}"}
        for i, f in enumerate(findings, start=1)
        if f.outcome is Outcome.BLOCK
    ]
    return findings, errors


def channel_previews(
    text: str, channel_ids: list[int], post: Post | None = None, text_cy: str | None = None
) -> list[dict]:
    """What each channel receives, with its count against the platform's limit (X weighted)
    and the post's images; for a bilingual post each planned delivery: one bilingual post, or
    the Welsh and the English post (issue 18)."""
    # Text over the limit is refused by the form: counting it for a preview is the slow work
    # that held SQLite's write lock for seconds (issue #20).
    if not text or not channel_ids or len(text) > service.MAX_TEXT_CHARS:
        return []
    if text_cy is not None and (not text_cy.strip() or len(text_cy) > service.MAX_TEXT_CHARS):
        return []
    channels = db.session.scalars(
        select(Channel).where(Channel.id.in_(channel_ids)).order_by(Channel.display_name)
    ).all()
    channels = [c for c in channels if c.platform in PLATFORM_NAMES]
    images = _image_sources(post) if post is not None else []
    if text_cy is None:
        return [
            {
                "channel": c,
                "language": "",
                "parts": [],
                **service.preview(text, c.platform, c.limits),
                "images": images,
            }
            for c in channels
        ]
    from gateway.policy import image_alts

    alts = image_alts(post) if post is not None else []
    saved = {}
    if post is not None and post.text == text and post.text_cy == text_cy:
        # The form each channel was saved in: what the approver approves.
        for d in post.deliveries:
            saved.setdefault(d.channel_id, []).append(d.language)
    out = []
    for c in channels:
        languages = saved.get(c.id) or bilingual_setting.plan_for(c, text_cy, text, alts)
        for language in languages:
            sent = bilingual.pick(language, text_cy, text)
            parts = [
                (lang, text_cy if lang == bilingual.WELSH else text)
                for lang in bilingual.languages_of(language)
            ]
            out.append(
                {
                    "channel": c,
                    "language": language,
                    "parts": parts,
                    **service.preview(sent, c.platform, c.limits),
                    # Each image with the alt text this post sends: Welsh, English or both.
                    "images": _image_sources(post, language) if post is not None else [],
                }
            )
    return out


def _image_sources(post: Post, language: str | None = None) -> list[dict]:
    """The saved images as each preview shows them, with the alt text a delivery of
    ``language`` sends (a bilingual post's Welsh, English or both; issue 18)."""
    return [
        {
            "src": url_for("web.post_image", post_id=post.id, image_id=i.id),
            "alt": bilingual.pick(language, i.alt_text_cy or "", i.alt_text or "")
            if language
            else i.alt_text,
        }
        for i in post.images
        if i.id is not None
    ]


def _render_form(form: PostForm, post: Post | None, page_errors: list, status: int = 200):
    # A refused submit of a new post found them on the post before it was rolled back.
    findings, finding_errors = getattr(form, "found", None) or _findings_view(post)
    text = form.text.data or (post.text if post else "")
    text_cy = None
    if "text_cy" in form:
        text_cy = form.text_cy.data or (post.text_cy if post else "") or ""
    chosen = form.channels.data or (
        list(dict.fromkeys(d.channel_id for d in post.deliveries)) if post else []
    )
    errors = page_errors + finding_errors
    previews = channel_previews(text, chosen, post, text_cy)
    has_errors = bool(errors) or _form_has_errors(form)
    return render_template(
        "web/post_form.html",
        form=form,
        post=post,
        findings=findings,
        previews=previews,
        page_errors=errors,
        platform_names=PLATFORM_NAMES,
        bilingual_form="text_cy" in form,
        welsh_first=bilingual_setting.settings().order is bilingual.Order.WELSH_FIRST,
    ), (400 if has_errors and request.method == "POST" else status)


@bp.route("/posts/new", methods=["GET", "POST"])
@requires(*permissions.WRITE)
def post_new():
    form = new_post_form()
    page_errors: list = []
    if request.method == "POST":
        response, post = _save(form, None, page_errors)
        if response is not None:
            return response
        return _render_form(form, post, page_errors)
    return _render_form(form, None, page_errors)


def _prefill(form: PostForm, post: Post) -> None:
    form.text.data = post.text
    if "text_cy" in form:
        form.text_cy.data = post.text_cy or ""
    form.channels.data = list(dict.fromkeys(d.channel_id for d in post.deliveries))
    if post.scheduled_at is not None:
        local = post.scheduled_at.astimezone(LONDON)
        form.publish_date.data = local.date()
        form.publish_time.data = local.strftime("%H:%M")
    form.expected_version.data = str(post.version)


@bp.route("/posts/<int:post_id>/edit", methods=["GET", "POST"])
@requires(*permissions.WRITE)
def post_edit(post_id: int):
    post = post_or_404(post_id)
    if post.status_enum not in EDITABLE:
        flash(f"A post that is {post.status_enum.label.lower()} cannot be edited.")
        return redirect(url_for("web.post_show", post_id=post.id))
    try:
        # Two-person rule (issue 20): someone else's post is edited only after taking it
        # over on the record. The service refuses too; this says so before the form is filled.
        service.check_holder(post, current_user, "edit")
    except PostError as exc:
        flash(exc.message)
        return redirect(url_for("web.post_show", post_id=post.id))
    form = new_post_form(post)
    page_errors: list = []
    if request.method == "POST":
        response, post = _save(form, post, page_errors)
        if response is not None:
            return response
        if post is None:
            abort(404)
        return _render_form(form, post, page_errors)
    _prefill(form, post)
    return _render_form(form, post, page_errors)


@bp.get("/posts/<int:post_id>")
@signed_in
def post_show(post_id: int):
    return render_post_page(post_or_404(post_id))


@dataclass(frozen=True)
class Pairing:
    """A bilingual post's deliveries that go out only together (gateway.publishing.pairs), as
    the post's page shows them: each delivery's partners, and the pairs that are stopped."""

    #: Each delivery's partners in the other language, by delivery id.
    partners: dict[int, list[Delivery]]
    #: (delivery, its partner) for each delivery that did not go out with its partner: held
    #: with it, or out while it was stopped.
    apart: list[tuple[Delivery, Delivery]]


def pairing_view(post: Post) -> Pairing:
    from gateway.publishing import pairs

    if not post.bilingual:
        return Pairing({}, [])
    partners = {d.id: pairs.partners(post, d) for d in post.deliveries}
    apart = []
    for delivery in post.deliveries:
        for partner in partners[delivery.id]:
            held_with = delivery.held_with_id == partner.id
            alone = delivery.status == "published" and partner.status in pairs.STOPPED
            if held_with or alone:
                apart.append((delivery, partner))
    return Pairing({k: v for k, v in partners.items() if v}, apart)


def render_post_page(
    post: Post,
    *,
    reject_form: ReasonForm | None = None,
    referral_form: ReferralForm | None = None,
    take_over_form: ReasonForm | None = None,
    page_errors: list | None = None,
    held_forms: dict[int, ReasonForm] | None = None,
):
    findings, finding_errors = _findings_view(post)
    status = post.status_enum
    is_author = post.author_id == current_user.id
    awaiting = status is PostStatus.AWAITING_APPROVAL
    # Why this person may not decide this version (its author, or an editor of it): the page
    # says so instead of offering Approve and Reject; the service refuses them anyway.
    refusal = service.writers_refusal(post, current_user) if awaiting else None
    # The same answer the JSON API gives (gateway.posts.permissions, issue 17).
    actions = permissions.actions_for(post, current_user, findings)
    errors = list(page_errors or [])
    if status in (PostStatus.DRAFT,):
        errors += finding_errors
    # A form for each delivery held with its partner (issue 18), for an officer to decide.
    held_forms = {
        d.id: (held_forms or {}).get(d.id) or ReasonForm(prefix=f"held-{d.id}")
        for d in post.deliveries
        if current_user.has_role(*permissions.WRITE)
        and d.status == "held"
        and d.held_with_id is not None
    }
    extra_forms = [f for f in (reject_form, referral_form, take_over_form) if f is not None]
    extra_forms += [f for f in held_forms.values() if f.errors]
    code = 400 if page_errors or any(f.errors for f in extra_forms) else 200
    rejection = None
    if status is PostStatus.REJECTED:
        decided = [a for a in post.approvals if a.decision in REJECTIONS]
        rejection = decided[-1] if decided else None
    # When it went out on each channel (issue 22): a published post no longer says "Goes out".
    went_out = sorted(
        (d.published_at, d.channel.display_name) for d in post.deliveries if d.published_at
    )
    return render_template(
        "web/post.html",
        post=post,
        went_out=went_out,
        pairing=pairing_view(post),
        held_forms=held_forms,
        rejection=rejection,
        is_author=is_author,
        approve_refusal=refusal if current_user.has_role(*permissions.APPROVE) else None,
        findings=findings,
        previews=channel_previews(
            post.text,
            list(dict.fromkeys(d.channel_id for d in post.deliveries)),
            post,
            post.text_cy,
        ),
        welsh_first=bilingual_setting.settings().order is bilingual.Order.WELSH_FIRST,
        history=history.for_post(post.id, post.deliveries),
        actions=actions,
        fast_track=post.emergency_release == Release.FAST_TRACK,
        confirm=ConfirmForm(),
        reject_form=reject_form or ReasonForm(prefix="reject"),
        referral_form=referral_form or ReferralForm(prefix="referral"),
        take_over_form=take_over_form or ReasonForm(prefix="takeover"),
        extra_forms=extra_forms,
        page_errors=errors,
        platform_names=PLATFORM_NAMES,
    ), code


@bp.post("/posts/<int:post_id>/submit")
@requires(*permissions.WRITE)
def post_submit(post_id: int):
    post = post_or_404(post_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        service.submit(post, current_user)
        db.session.commit()
    except PostError as exc:
        db.session.commit()  # keep the guardrails' verdict the service recorded
        db.session.refresh(post)
        # The blocking findings are listed in the summary one by one: say once what to do,
        # rather than repeat them all in one sentence (issue 22).
        blocked = any(f.outcome is Outcome.BLOCK for f in _findings_view(post)[0])
        message = (
            "The post cannot be submitted until you fix what the guardrails blocked."
            if blocked
            else exc.message
        )
        return render_post_page(post, page_errors=[message])
    notify.post_awaits_approval(post)
    flash("Submitted for approval. Another officer needs to approve it.")
    return redirect(url_for("web.post_show", post_id=post.id))


@bp.post("/posts/<int:post_id>/take-over")
@requires(*permissions.WRITE)
def post_take_over(post_id: int):
    """Take over another officer's post, on the record, to edit or submit it (issue 20)."""
    post = post_or_404(post_id)
    form = ReasonForm(prefix="takeover")
    if not form.validate_on_submit():
        return render_post_page(post, take_over_form=form)
    previous = post.current_holder_id
    try:
        service.take_over(post, current_user, form.reason.data)
        db.session.commit()
    except PostError as exc:
        db.session.rollback()
        return render_post_page(post_or_404(post_id), page_errors=[exc.message])
    notify.post_taken_over(post.id, previous)
    flash(
        "You now hold this post and can edit it. What you change makes you one of its "
        "writers: another officer must approve it."
    )
    return redirect(url_for("web.post_show", post_id=post.id))


@bp.post("/posts/<int:post_id>/deliveries/<int:delivery_id>/alone")
@requires(*permissions.WRITE)
def post_held_alone(post_id: int, delivery_id: int):
    """Publish a delivery held with its partner in the other language without it after all
    (issue 18, gateway.posts.held)."""
    return _held_decision(post_id, delivery_id, "alone")


@bp.post("/posts/<int:post_id>/deliveries/<int:delivery_id>/withhold")
@requires(*permissions.WRITE)
def post_held_withhold(post_id: int, delivery_id: int):
    """Do not publish a delivery held with its partner in the other language (issue 18)."""
    return _held_decision(post_id, delivery_id, "withhold")


def _held_decision(post_id: int, delivery_id: int, decision: str):  # noqa: ANN202
    post = post_or_404(post_id)
    form = ReasonForm(prefix=f"held-{delivery_id}")
    if not form.validate_on_submit():
        return render_post_page(post, held_forms={delivery_id: form})
    act = held.publish_alone if decision == "alone" else held.do_not_publish
    try:
        delivery = act(post, delivery_id, current_user, form.reason.data)
        words = held.language_words(delivery)
        db.session.commit()
    except PostError as exc:
        db.session.rollback()
        return render_post_page(post_or_404(post_id), page_errors=[exc.message])
    if decision == "alone":
        flash(f"The {words} post goes out now, without its partner in the other language.")
    else:
        flash(f"The {words} post will not be published.")
    return redirect(url_for("web.post_show", post_id=post_id))


@bp.get("/posts/<int:post_id>/cancel")
@requires(*permissions.WRITE)
def post_cancel_confirm(post_id: int):
    """The "Are you sure?" page before a post is cancelled (issue 22): cancelling cannot be
    undone, so the button on the post page leads here and only this page's button (a POST with
    its CSRF token) cancels."""
    post = post_or_404(post_id)
    if post.status_enum not in CANCELLABLE:
        flash(f"A post that is {post.status_enum.label.lower()} cannot be cancelled.")
        return redirect(url_for("web.post_show", post_id=post.id))
    return render_template(
        "web/post_cancel.html", post=post, confirm=ConfirmForm(), platform_names=PLATFORM_NAMES
    )


@bp.post("/posts/<int:post_id>/cancel")
@requires(*permissions.WRITE)
def post_cancel(post_id: int):
    post = post_or_404(post_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        service.cancel(post, current_user)
        db.session.commit()
    except PostError as exc:
        db.session.rollback()
        return render_post_page(post_or_404(post_id), page_errors=[exc.message])
    flash("The post is cancelled. Nothing will be published.")
    return redirect(url_for("web.post_show", post_id=post.id))


@bp.get("/posts/<int:post_id>/images/<int:image_id>")
@signed_in
def post_image(post_id: int, image_id: int):
    image = db.session.get(PostImage, image_id)
    if image is None or image.post_id != post_id:
        abort(404)
    try:
        data = image_store.load(image.storage_key)
    except (image_store.ImageError, OSError):
        abort(404)
    # The stored type comes from Pillow's reading of the bytes, never from the upload.
    return data, 200, {"Content-Type": image.content_type, "Cache-Control": "private, max-age=300"}

"""Admin > Emergency templates: a prepared Welsh and English text for each emergency category
(issue 18), which the duty officer's emergency form offers and fills in both boxes from."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from gateway.admin.forms import ConfirmForm, EmergencyTemplateForm
from gateway.admin.views import _status, bp
from gateway.domain import bilingual
from gateway.domain.emergency import CATEGORIES
from gateway.domain.guardrails.engine import shown_once
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.posts import bilingual as bilingual_setting
from gateway.posts import emergency_templates as templates
from gateway.posts.service import PostError
from gateway.security import requires


@bp.get("/emergency-templates")
@requires(Role.ADMIN)
def emergency_templates():
    return render_template(
        "admin/emergency_templates.html",
        categories=CATEGORIES,
        saved=templates.all_templates(),
        welsh=bilingual_setting.enabled(),
    )


@bp.route("/emergency-templates/<category>", methods=["GET", "POST"])
@requires(Role.ADMIN)
def emergency_template(category: str):
    if category not in CATEGORIES:
        abort(404)
    row = templates.template_for(category)
    welsh = bilingual_setting.enabled()
    form = EmergencyTemplateForm(
        data={"text_cy": row.text_cy, "text": row.text_en} if row is not None else None
    )
    if not welsh:
        form.one_language()
    found, page_errors = [], []
    if form.validate_on_submit():
        try:
            changed, found = templates.save(
                current_user,
                category,
                text_en=form.text.data,
                text_cy=form.text_cy.data if welsh else (row.text_cy if row else ""),
                welsh_required=welsh,
            )
        except templates.TemplateRefused as exc:
            db.session.rollback()
            found = exc.findings
            form.text.errors.append(exc.message)
        except PostError as exc:
            db.session.rollback()
            target = getattr(form, exc.field, None) if exc.field else None
            (target.errors if target is not None else page_errors).append(exc.message)
        else:
            db.session.commit()
            name = CATEGORIES[category]
            if not changed:
                flash("Nothing changed.")
            elif found:
                # Saved, and the advice shown: the admin may still want to change it.
                flash(f"Saved the {name.lower()} template. The guardrails advise on it below.")
            else:
                flash(f"Saved the {name.lower()} template. Duty officers can start from it now.")
            if not found:
                return redirect(url_for("admin.emergency_templates"))
    return (
        render_template(
            "admin/emergency_template.html",
            form=form,
            category=category,
            name=CATEGORIES[category],
            row=row,
            findings=shown_once(found),
            page_errors=page_errors,
            welsh_first=bilingual_setting.settings().order is bilingual.Order.WELSH_FIRST,
            delete_form=ConfirmForm(),
        ),
        _status(form) if not page_errors else 400,
    )


@bp.post("/emergency-templates/<category>/delete")
@requires(Role.ADMIN)
def emergency_template_delete(category: str):
    if category not in CATEGORIES:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if templates.remove(current_user, category):
        db.session.commit()
        flash(f"Deleted the {CATEGORIES[category].lower()} template.")
    return redirect(url_for("admin.emergency_templates"))

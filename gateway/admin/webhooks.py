"""Admin pages for webhooks (issue 17): the endpoints, each one's messages and attempts, and
registering, changing, deleting one and rotating its secret. Admins only, on the server, with
a CSRF token on every form; the secret is shown once, on the page after it is made."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from gateway.admin.forms import ConfirmForm, WebhookForm
from gateway.admin.views import _status, bp
from gateway.audit import Actor
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import WebhookEndpoint, WebhookMessage
from gateway.models.base import utcnow
from gateway.security import requires
from gateway.webhooks import endpoints
from gateway.webhooks.events import EVENT_TYPES

#: Messages shown on an endpoint's page, newest first.
MESSAGES_SHOWN = 50


def _endpoint_or_404(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.deleted_at is not None:
        abort(404)
    return endpoint


def _apply_error(form: WebhookForm, exc: endpoints.EndpointError) -> None:
    getattr(form, exc.field).errors.append(str(exc))


@bp.get("/webhooks")
@requires(Role.ADMIN)
def webhook_list():
    rows = db.session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.deleted_at.is_(None))
        .order_by(WebhookEndpoint.id)
    ).all()
    counts = dict(
        db.session.execute(
            select(WebhookMessage.endpoint_id, func.count())
            .where(WebhookMessage.status.in_(("pending", "sending")))
            .group_by(WebhookMessage.endpoint_id)
        ).all()
    )
    return render_template(
        "admin/webhooks.html", endpoints=rows, waiting=counts, event_types=EVENT_TYPES
    )


@bp.route("/webhooks/new", methods=["GET", "POST"])
@requires(Role.ADMIN)
def webhook_new():
    form = WebhookForm()
    if form.validate_on_submit():
        try:
            endpoint, secret = endpoints.create(
                url=form.url.data,
                description=form.description.data or "",
                events=form.events.data,
                enabled=form.enabled.data == "on",
                actor=Actor.of(current_user),
            )
            db.session.commit()
        except endpoints.EndpointError as exc:
            db.session.rollback()
            _apply_error(form, exc)
        else:
            return _secret_page(endpoint, secret, "Webhook endpoint added")
    return render_template("admin/webhook_form.html", form=form, endpoint=None), _status(form)


def _secret_page(endpoint: WebhookEndpoint, secret: str, title: str):  # noqa: ANN202
    # Shown once, on this page only: it is kept encrypted and never logged or shown again.
    response = render_template(
        "admin/webhook_secret.html", endpoint=endpoint, secret=secret, title=title
    )
    return response, 200, {"Cache-Control": "no-store"}


@bp.route("/webhooks/<int:endpoint_id>", methods=["GET", "POST"])
@requires(Role.ADMIN)
def webhook_show(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    form = WebhookForm(
        data=None
        if request.method == "POST"
        else {
            "url": endpoint.url,
            "description": endpoint.description,
            "events": endpoint.event_types,
            "enabled": "on" if endpoint.enabled else "off",
        }
    )
    if form.validate_on_submit():
        try:
            changed = endpoints.change(
                endpoint,
                url=form.url.data,
                description=form.description.data or "",
                events=form.events.data,
                enabled=form.enabled.data == "on",
                actor=Actor.of(current_user),
            )
            db.session.commit()
        except endpoints.EndpointError as exc:
            db.session.rollback()
            endpoint = _endpoint_or_404(endpoint_id)
            _apply_error(form, exc)
        else:
            flash("Changes saved." if changed else "Nothing was changed.")
            return redirect(url_for("admin.webhook_show", endpoint_id=endpoint.id))
    messages = db.session.scalars(
        select(WebhookMessage)
        .where(WebhookMessage.endpoint_id == endpoint.id)
        .order_by(WebhookMessage.id.desc())
        .limit(MESSAGES_SHOWN)
    ).all()
    return render_template(
        "admin/webhook.html",
        endpoint=endpoint,
        form=form,
        messages=messages,
        now=utcnow(),
        confirm=ConfirmForm(),
        event_types=EVENT_TYPES,
    ), _status(form)


@bp.post("/webhooks/<int:endpoint_id>/rotate-secret")
@requires(Role.ADMIN)
def webhook_rotate_secret(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    # Two buttons: keep the old secret signing for a day (a planned change), or stop it at
    # once (it leaked); anything else, the safe one.
    keep_old = request.form.get("overlap") == "keep"
    secret = endpoints.rotate_secret(endpoint, actor=Actor.of(current_user), keep_old=keep_old)
    db.session.commit()
    return _secret_page(endpoint, secret, "New signing secret")


@bp.post("/webhooks/<int:endpoint_id>/delete")
@requires(Role.ADMIN)
def webhook_delete(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    endpoints.delete(endpoint, actor=Actor.of(current_user))
    db.session.commit()
    flash(f"The webhook endpoint {endpoint.url} was deleted.")
    return redirect(url_for("admin.webhook_list"))

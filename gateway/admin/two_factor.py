"""Admin page for two-factor authentication (issue 16): another administrator resets a
user's two-factor when they have lost their phone and their recovery codes. Never one's own:
a stolen admin session must not be able to take the second factor off its own account."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from gateway.admin.forms import ConfirmForm, RolesForm
from gateway.admin.views import _user_or_404, bp
from gateway.auth import two_factor
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.security import requires


@bp.post("/users/<int:user_id>/two-factor/reset")
@requires(Role.ADMIN)
def user_two_factor_reset(user_id: int):
    user = _user_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        two_factor.reset(user, admin=current_user._get_current_object())
    except ValueError as exc:
        db.session.rollback()
        form = RolesForm(data={"roles": sorted(r.value for r in user.roles)})
        return render_template(
            "admin/user_edit.html", user=user, form=form, page_errors=[str(exc)]
        ), 400
    db.session.commit()
    then = (
        " They must set it up again when they next sign in."
        if two_factor.required(user)
        else " They can set it up again from their Two-factor page."
    )
    flash(f"Two-factor authentication of {user.email} is reset and their sessions ended.{then}")
    return redirect(url_for("admin.user_edit", user_id=user.id))

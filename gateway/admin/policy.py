"""What the guardrails read, kept by admins: elections, the register of members and
candidates, allowed departmental contacts, extra closure days (issue 4's PolicyContext); and how
emergency posts are sent in office hours (issue 20).

Each form is checked with the same pure functions the guardrails use (Election, Register,
AllowedContacts), so an admin cannot save data the guardrails would refuse at 3am.
"""

from __future__ import annotations

import hashlib

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from wtforms import Field

from gateway.admin.forms import (
    CitationsForm,
    ClosureDayForm,
    ConfirmForm,
    ContactForm,
    ElectionForm,
    EmergencyInHoursForm,
    RegisterConfirmForm,
    RegisterUploadForm,
)
from gateway.admin.views import _status, bp
from gateway.audit import Actor, record
from gateway.domain.guardrails import (
    AllowedContacts,
    ElectionKind,
    GuardrailInputError,
    Register,
)
from gateway.domain.guardrails import Election as ElectionCheck
from gateway.domain.guardrails.citations import CLAUSES, Clause
from gateway.domain.guardrails.clock import pre_election_period
from gateway.domain.guardrails.model import default_election_name
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import AllowedContact, ClosureDay, Election, PolicySetting, RegisterPerson
from gateway.models.base import utcnow
from gateway.policy import CITATION_PREFIX
from gateway.policy import citations as saved_citations
from gateway.posts import emergency
from gateway.security import requires

#: Bytes of an uploaded register CSV; a council's register is a few hundred rows.
REGISTER_MAX_BYTES = 1_000_000

#: A row an admin adds or deletes one at a time.
_Row = Election | AllowedContact | ClosureDay


def _record(action: str, row: _Row, payload: dict) -> None:
    """The audit entry of a change to one register's row: each register's actions are named
    after its rows' object type (``contact.added``, ``closure_day.removed``...)."""
    object_type = action.partition(".")[0]
    record(action, actor=Actor.of(current_user), obj=(object_type, row.id), payload=payload)


def _added(row: _Row, action: str, payload: dict, field: Field, taken: str) -> bool:
    """Add ``row`` and record it; False, with ``taken`` said on ``field``, when the register
    already holds an equal row (its unique constraint, not a read first: two admins at once)."""
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        field.errors.append(taken)
        return False
    _record(action, row, payload)
    db.session.commit()
    return True


def _deleted(row: _Row, action: str, payload: dict) -> None:
    """Delete ``row`` once the admin's confirmation form is valid, and record it."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    _record(action, row, payload)
    db.session.delete(row)
    db.session.commit()


# --- Elections -------------------------------------------------------------------------


def election_title(row: Election) -> str:
    """The election's name, or the one made from its kind and polling day."""
    return (row.name or "").strip() or default_election_name(row.kind, row.polling_day)


def _election_payload(row: Election) -> dict:
    return {
        "name": election_title(row),
        "kind": row.kind,
        "polling_day": row.polling_day.isoformat(),
        "notice_published": row.notice_published.isoformat() if row.notice_published else None,
        "wards": row.wards,
        "subject": row.subject,
    }


def _wards(text: str | None) -> str:
    return "\n".join(w.strip() for w in (text or "").splitlines() if w.strip())


def _check_election(form: ElectionForm) -> bool:
    """The guardrails' own Election refuses what it could not judge; say it by the field."""
    try:
        ElectionCheck(
            kind=ElectionKind(form.kind.data),
            polling_day=form.polling_day.data,
            notice_date=form.notice_published.data,
            wards=frozenset(_wards(form.wards.data).splitlines()),
        )
    except GuardrailInputError as exc:
        message = str(exc)
        target = form.wards if "ward" in message else form.notice_published
        target.errors.append(message)
        return False
    if form.kind.data == ElectionKind.REFERENDUM.value and not (form.subject.data or "").strip():
        form.subject.errors.append("Enter what the referendum is about")
        return False
    return True


@bp.get("/elections")
@requires(Role.ADMIN)
def election_list():
    rows = db.session.scalars(select(Election).order_by(Election.polling_day.desc())).all()
    periods = {}
    from gateway.policy import _election

    for row in rows:
        start, end, assumed = pre_election_period(_election(row))
        periods[row.id] = (start, end, assumed)
    return render_template(
        "admin/elections.html",
        elections=rows,
        periods=periods,
        titles={row.id: election_title(row) for row in rows},
        confirm=ConfirmForm(),
    )


@bp.route("/elections/new", methods=["GET", "POST"])
@requires(Role.ADMIN)
def election_new():
    return _election_form(None)


@bp.route("/elections/<int:election_id>", methods=["GET", "POST"])
@requires(Role.ADMIN)
def election_edit(election_id: int):
    return _election_form(db.get_or_404(Election, election_id))


def _election_form(row: Election | None):
    form = ElectionForm(obj=row)
    if form.validate_on_submit() and _check_election(form):
        action = "election.changed" if row is not None else "election.created"
        if row is None:
            row = Election()
            db.session.add(row)
        row.name = (form.name.data or "").strip() or None
        row.kind = form.kind.data
        row.polling_day = form.polling_day.data
        row.notice_published = form.notice_published.data
        row.wards = _wards(form.wards.data)
        row.subject = (form.subject.data or "").strip() or None
        db.session.flush()
        _record(action, row, _election_payload(row))
        db.session.commit()
        flash(f"{election_title(row)} saved.")
        return redirect(url_for("admin.election_list"))
    return render_template("admin/election_form.html", form=form, election=row), _status(form)


@bp.post("/elections/<int:election_id>/delete")
@requires(Role.ADMIN)
def election_delete(election_id: int):
    row = db.get_or_404(Election, election_id)
    _deleted(row, "election.deleted", _election_payload(row))
    flash(f"{election_title(row)} deleted.")
    return redirect(url_for("admin.election_list"))


# --- The register ----------------------------------------------------------------------


def _key(name: str, party: str, role: str, ward: str) -> tuple[str, str, str, str]:
    return (name, party, role, ward)


def _register_changes(register: Register) -> dict[str, list]:
    current = {
        _key(r.name, r.party, r.role, r.ward)
        for r in db.session.scalars(select(RegisterPerson)).all()
    }
    new = {_key(p.name, p.party, p.role, p.ward) for p in register.people}
    return {
        "added": sorted(new - current),
        "removed": sorted(current - new),
        "unchanged": sorted(new & current),
    }


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@bp.get("/register")
@requires(Role.ADMIN)
def register_show():
    rows = db.session.scalars(
        select(RegisterPerson).order_by(RegisterPerson.ward, RegisterPerson.name)
    ).all()
    return render_template("admin/register.html", people=rows, form=RegisterUploadForm())


@bp.post("/register/preview")
@requires(Role.ADMIN)
def register_preview():
    form = RegisterUploadForm()
    rows = db.session.scalars(
        select(RegisterPerson).order_by(RegisterPerson.ward, RegisterPerson.name)
    ).all()
    if not form.validate_on_submit():
        return render_template("admin/register.html", people=rows, form=form), 400
    text = (form.csv_text.data or "").strip()
    upload = form.csv_file.data
    if upload is not None and getattr(upload, "filename", ""):
        data = upload.read(REGISTER_MAX_BYTES + 1)
        if len(data) > REGISTER_MAX_BYTES:
            form.csv_file.errors.append("The file is larger than 1 MB: is it the right file?")
        else:
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                form.csv_file.errors.append("The file must be a CSV saved as UTF-8")
    elif not text:
        form.csv_file.errors.append("Choose a CSV file, or paste the CSV below")
    if form.csv_file.errors:
        return render_template("admin/register.html", people=rows, form=form), 400
    try:
        register = Register.from_csv(text)
    except GuardrailInputError as exc:
        # One line per bad row, each naming its line number and what is wrong (issue 6).
        problems = [line for line in str(exc).splitlines() if line.strip()]
        return render_template(
            "admin/register.html",
            people=rows,
            form=form,
            problems=problems,
            page_errors=[{"text": p, "href": "#problems"} for p in problems[:20]],
        ), 400
    changes = _register_changes(register)
    # formdata=None: the upload form posted a field of the same name, which must not win.
    confirm = RegisterConfirmForm(formdata=None, data={"csv_text": text, "digest": _digest(text)})
    return render_template("admin/register_preview.html", changes=changes, confirm=confirm)


@bp.post("/register/import")
@requires(Role.ADMIN)
def register_import():
    form = RegisterConfirmForm()
    if not form.validate_on_submit() or _digest(form.csv_text.data) != form.digest.data:
        abort(400)
    try:
        register = Register.from_csv(form.csv_text.data)
    except GuardrailInputError:
        abort(400)
    changes = _register_changes(register)
    # Replace the whole register in one transaction with its audit entry: the guardrails never
    # see half of an import.
    db.session.execute(delete(RegisterPerson))
    for person in register.people:
        db.session.add(
            RegisterPerson(name=person.name, party=person.party, role=person.role, ward=person.ward)
        )
    record(
        "register.imported",
        actor=Actor.of(current_user),
        obj=("register", "members-and-candidates"),
        payload={
            "people": len(register.people),
            "added": len(changes["added"]),
            "removed": len(changes["removed"]),
            "sha256": form.digest.data,
        },
    )
    db.session.commit()
    flash(
        f"Register imported: {len(register.people)} people "
        f"({len(changes['added'])} added, {len(changes['removed'])} removed)."
    )
    return redirect(url_for("admin.register_show"))


# --- Allowed contacts ------------------------------------------------------------------


@bp.route("/contacts", methods=["GET", "POST"])
@requires(Role.ADMIN)
def contact_list():
    form = ContactForm()
    if form.validate_on_submit():
        value = form.value.data.strip()
        try:
            # The same parser the guardrails use, so a saved contact is one they understand.
            AllowedContacts.from_text(f"{form.kind.data}: {value}")
        except GuardrailInputError as exc:
            form.value.errors.append(str(exc).splitlines()[-1].split(": ", 1)[-1])
        else:
            row = AllowedContact(kind=form.kind.data, value=value, note=form.note.data or "")
            payload = {"kind": row.kind, "value": row.value, "note": row.note}
            if _added(row, "contact.added", payload, form.value, "This contact is already allowed"):
                flash(f"{value} added to the allowed contacts.")
                return redirect(url_for("admin.contact_list"))
    rows = db.session.scalars(
        select(AllowedContact).order_by(AllowedContact.kind, AllowedContact.value)
    ).all()
    return render_template(
        "admin/contacts.html", contacts=rows, form=form, confirm=ConfirmForm()
    ), _status(form)


@bp.post("/contacts/<int:contact_id>/delete")
@requires(Role.ADMIN)
def contact_delete(contact_id: int):
    row = db.get_or_404(AllowedContact, contact_id)
    _deleted(row, "contact.removed", {"kind": row.kind, "value": row.value})
    flash(f"{row.value} removed from the allowed contacts.")
    return redirect(url_for("admin.contact_list"))


# --- Closure days ----------------------------------------------------------------------


@bp.route("/closures", methods=["GET", "POST"])
@requires(Role.ADMIN)
def closure_list():
    form = ClosureDayForm()
    if form.validate_on_submit():
        row = ClosureDay(day=form.day.data, reason=(form.reason.data or "").strip())
        payload = {"day": row.day.isoformat(), "reason": row.reason}
        if _added(row, "closure_day.added", payload, form.day, "That day is already a closure day"):
            flash(f"{row.day:%-d %B %Y} added as a closure day.")
            return redirect(url_for("admin.closure_list"))
    rows = db.session.scalars(select(ClosureDay).order_by(ClosureDay.day)).all()
    return render_template(
        "admin/closures.html", closures=rows, form=form, confirm=ConfirmForm()
    ), _status(form)


@bp.post("/closures/<int:closure_id>/delete")
@requires(Role.ADMIN)
def closure_delete(closure_id: int):
    row = db.get_or_404(ClosureDay, closure_id)
    _deleted(row, "closure_day.removed", {"day": row.day.isoformat()})
    flash(f"{row.day:%-d %B %Y} is no longer a closure day.")
    return redirect(url_for("admin.closure_list"))


# --- Emergency posts in office hours ---------------------------------------------------


@bp.route("/emergency-posts", methods=["GET", "POST"])
@requires(Role.ADMIN)
def emergency_setting():
    current = emergency.in_hours_setting()
    form = EmergencyInHoursForm(data={"in_hours": current})
    if form.validate_on_submit():
        # The service writes the setting.changed audit entry in the same transaction.
        if emergency.change_in_hours_setting(current_user, form.in_hours.data):
            db.session.commit()
            flash(
                "Saved: emergency posts in office hours "
                + (
                    "publish at once."
                    if form.in_hours.data == "at_once"
                    else "go to fast-track approval."
                )
            )
        else:
            db.session.rollback()
            flash("Nothing changed.")
        return redirect(url_for("admin.emergency_setting"))
    return render_template("admin/emergency_setting.html", form=form), _status(form)


# --- The council's own policy clauses --------------------------------------------------


def _change_citation(key: str, value: str) -> bool:
    """Save the council's citation of one clause ("" for none), with its setting.changed
    entry; False when it was already so. The caller commits."""
    name = CITATION_PREFIX + key
    row = db.session.get(PolicySetting, name, with_for_update=True)
    previous = row.value if row is not None else ""
    if previous == value:
        return False
    if not value:
        db.session.delete(row)
    else:
        if row is None:
            row = PolicySetting(key=name)
            db.session.add(row)
        row.value = value
        row.changed_at = utcnow()
        row.changed_by_id = current_user.id
    record(
        "setting.changed",
        actor=Actor.of(current_user),
        obj=("setting", name),
        payload={"key": name, "value": value, "previous": previous},
    )
    db.session.flush()
    return True


@bp.route("/policy-clauses", methods=["GET", "POST"])
@requires(Role.ADMIN)
def citations():
    """Name the council's own policy and clause number for each clause the guardrails cite
    (issue 22): officers then read "Policy: Harbourside social media policy, clause 6.1: ..."
    under a finding, never another council's policy. Empty, a finding cites the clause's text."""
    saved = saved_citations()
    form = CitationsForm(data={c.value: saved.own(c) or "" for c in Clause})
    if form.validate_on_submit():
        changed = [
            CLAUSES[clause].title
            for clause in Clause
            if _change_citation(clause.value, " ".join((form[clause.value].data or "").split()))
        ]
        db.session.commit()
        flash(
            f"Saved: {', '.join(changed)}. Findings cite it from now on."
            if changed
            else "Nothing changed."
        )
        return redirect(url_for("admin.citations"))
    return render_template("admin/citations.html", form=form, clauses=list(Clause)), _status(form)

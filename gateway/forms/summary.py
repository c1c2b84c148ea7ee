"""The GOV.UK error summary's list, from a form's errors and page-level errors.

GOV.UK Design System, "Error summary": one summary at the top of the page, each message a link
to its field, and "Error: " before the page title. The base layout calls this on every page, so
no view can forget it (GOV.UK Notify makes each view opt in; STYLE.md asks for the default).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm
from wtforms.fields import FieldList, FormField


def _field_errors(form: Any) -> Iterable[tuple[str, str]]:
    """(element id, message) for each field with errors, in page order.

    Read from each field rather than ``form.errors``: WTForms caches that dict at the first
    look, and a view adds messages after validation (a service refusal, an image check).
    """
    for field in form:
        if isinstance(field, FieldList):
            for entry in field.entries:
                if isinstance(entry, FormField):
                    yield from _field_errors(entry.form)
                elif entry.errors:
                    yield entry.id, str(entry.errors[0])
            continue
        if isinstance(field, FormField):
            yield from _field_errors(field.form)
            continue
        if field.errors:
            errors = field.errors
            message = errors[0] if isinstance(errors, list | tuple) else errors
            yield _target_id(field), str(message)


def _target_id(field: Any) -> str:
    template = getattr(field.widget, "template", "")
    # A date input's link goes to its first box (GOV.UK "Date input", error messages).
    if template.endswith("date.html"):
        return f"{field.id}-day"
    return field.id


def error_list(forms: Iterable[FlaskForm | None], page_errors: Iterable[Any] = ()) -> list[dict]:
    """[{'text': ..., 'href': '#id'}] for govukErrorSummary; page errors may be plain strings."""
    items: list[dict] = []
    for form in forms:
        if form is None:
            continue
        for element_id, message in _field_errors(form):
            if element_id.endswith("csrf_token"):
                items.append({"text": message})
            else:
                items.append({"text": message, "href": f"#{element_id}"})
    for error in page_errors:
        items.append({"text": error} if isinstance(error, str) else dict(error))
    return items

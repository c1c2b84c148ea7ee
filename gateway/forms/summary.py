"""The GOV.UK error summary's list, from a form's errors and page-level errors.

GOV.UK Design System, "Error summary": one summary at the top of the page, each message a link
to its field, and "Error: " before the page title. The base layout calls this on every page, so
no view can forget it (GOV.UK Notify makes each view opt in; STYLE.md asks for the default).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm


def _first_id(form: FlaskForm, name: str) -> str:
    field = form._fields.get(name)
    if field is None:
        return name
    # A date input's first box is what the link should focus (GOV.UK "Date input" errors).
    if getattr(field.widget, "template", "").endswith("date.html"):
        return f"{field.id}-day"
    # Checkboxes and radios: the first option (GOV.UK: link to the first checkbox).
    if getattr(field.widget, "template", "").endswith(("checkboxes.html", "radios.html")):
        return field.id
    return field.id


def _flatten(prefix: str, errors: Any) -> Iterable[tuple[str, str]]:
    if isinstance(errors, dict):
        for key, value in errors.items():
            yield from _flatten(f"{prefix}{key}-", value)
    elif isinstance(errors, list):
        for index, item in enumerate(errors):
            if isinstance(item, dict):
                yield from _flatten(f"{prefix}{index}-", item)
            elif item:
                yield prefix.rstrip("-"), str(item)
                break  # one message a field, as GOV.UK shows one under the field


def error_list(forms: Iterable[FlaskForm | None], page_errors: Iterable[Any] = ()) -> list[dict]:
    """[{'text': ..., 'href': '#id'}] for govukErrorSummary; page errors may be plain strings."""
    items: list[dict] = []
    for form in forms:
        if form is None:
            continue
        for name, message in _flatten("", form.errors):
            if name == "csrf_token":
                items.append({"text": message})
                continue
            top = name.split("-", 1)[0]
            href = _first_id(form, top) if top == name else name
            items.append({"text": message, "href": f"#{href}"})
    for error in page_errors:
        items.append({"text": error} if isinstance(error, str) else dict(error))
    return items

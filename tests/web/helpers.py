"""Filling in the real HTML forms (CSRF token included) and checking every page's shape.

STYLE.md: tests fill in the forms a browser would see, rather than posting dicts past the form
layer; and each page has one h1, a title that says "Error:" exactly when the error summary
shows, and no duplicate ids (GOV.UK Notify's client_request checks).
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bs4 import BeautifulSoup
from werkzeug.datastructures import MultiDict

SERVICE = "Council Publishing Gateway"


@dataclass
class Page:
    response: Any

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def html(self) -> str:
        return self.response.get_data(as_text=True)

    @property
    def soup(self) -> BeautifulSoup:
        return BeautifulSoup(self.html, "html.parser")

    def text(self) -> str:
        return " ".join(self.soup.get_text(" ").split())

    def errors(self) -> list[str]:
        summary = self.soup.select(".govuk-error-summary__list li")
        return [" ".join(li.get_text(" ").split()) for li in summary]

    def error_links(self) -> list[str]:
        return [a["href"] for a in self.soup.select(".govuk-error-summary__list a")]

    def field_error(self, field_id: str) -> str:
        """The GOV.UK error message shown beside the field (or its fieldset)."""
        node = self.soup.find(id=field_id)
        assert node is not None, f"no element #{field_id}"
        # A date input's boxes each sit in a form group of their own: look further out.
        for group in node.find_parents(class_="govuk-form-group"):
            message = group.select_one(".govuk-error-message")
            if message is not None:
                return " ".join(message.get_text(" ").split())
        return ""

    def check_shape(self) -> None:
        soup = self.soup
        h1 = soup.find_all("h1")
        assert len(h1) == 1, f"{len(h1)} h1 elements"
        title = " ".join(soup.title.get_text().split())
        assert title.endswith(f"– {SERVICE}"), title
        has_summary = soup.select_one(".govuk-error-summary") is not None
        assert title.startswith("Error: ") == has_summary, (title, has_summary)
        ids = Counter(tag["id"] for tag in soup.find_all(id=True))
        dupes = [i for i, n in ids.items() if n > 1]
        assert not dupes, f"duplicate ids: {dupes}"


def get(client: Any, url: str, status: int = 200) -> Page:
    page = Page(client.get(url))
    assert page.status == status, (url, page.status, page.text()[:500])
    if page.response.mimetype == "text/html":
        page.check_shape()
    return page


def _form(page: Page, selector: str | None, action: str | None):
    soup = page.soup
    if action is not None:
        for form in soup.find_all("form"):
            if (form.get("action") or "").endswith(action):
                return form
        raise AssertionError(f"no form posting to {action}")
    form = soup.select_one(selector or "main form")
    assert form is not None, f"no form {selector}"
    return form


def form_fields(form: Any) -> MultiDict:
    """What a browser would send before the user changes anything."""
    data = MultiDict()
    for node in form.find_all(["input", "textarea", "select"]):
        name = node.get("name")
        if not name or node.has_attr("disabled"):
            continue
        if node.name == "textarea":
            data.add(name, node.get_text())
        elif node.name == "select":
            chosen = node.find("option", selected=True) or node.find("option")
            data.add(name, chosen.get("value", chosen.get_text()) if chosen else "")
        else:
            kind = (node.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if node.has_attr("checked"):
                    data.add(name, node.get("value", "on"))
            elif kind in ("submit", "button", "file", "image", "reset"):
                continue
            else:
                data.add(name, node.get("value", ""))
    return data


def submit(
    client: Any,
    page: Page,
    fields: dict[str, Any] | None = None,
    *,
    files: dict[str, tuple[bytes, str]] | None = None,
    button: tuple[str, str] | None = None,
    selector: str | None = None,
    action: str | None = None,
) -> Page:
    """Fill in a form of ``page`` like a person would and send it.

    ``fields`` replaces the values of those names (a list for check boxes or the three date
    boxes); ``files`` attaches uploads; ``button`` is the (name, value) of the button pressed.
    A field name the form does not have is refused, so a test cannot post past the form.
    """
    form = _form(page, selector, action)
    data = form_fields(form)
    names = {n.get("name") for n in form.find_all(["input", "textarea", "select", "button"])}
    for name, value in (fields or {}).items():
        assert name in names, f"the form has no field {name!r}"
        data.setlist(name, list(value) if isinstance(value, list | tuple) else [value])
    if button is not None:
        assert button[0] in names, f"the form has no button {button[0]!r}"
        data.add(*button)
    payload: dict[str, Any] = {k: data.getlist(k) for k in data}
    for name, (content, filename) in (files or {}).items():
        assert name in names, f"the form has no file field {name!r}"
        payload[name] = (io.BytesIO(content), filename)
    target = form.get("action") or page.response.request.path
    method = (form.get("method") or "get").lower()
    assert method == "post", "state changes are POSTs"
    response = client.post(target, data=payload, content_type="multipart/form-data")
    return Page(response)


def post_unoffered(client: Any, page: Page, action: str) -> Page:
    """POST to ``action``, a form the page does not offer (a button hidden from this person),
    with the page's own CSRF token: what a person gets who crafts the request anyway, to show
    that the server's check, not the hidden button, is what refuses it."""
    assert _form_or_none(page, action) is None, f"the page offers a form posting to {action}"
    token = page.soup.select_one("input[name=csrf_token]")
    assert token is not None, "the page has no CSRF token"
    return Page(client.post(action, data={"csrf_token": token["value"]}))


def _form_or_none(page: Page, action: str):
    try:
        return _form(page, None, action)
    except AssertionError:
        return None

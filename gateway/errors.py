"""Error pages that say what happened and what to do, and never leak internals."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from gateway.domain.hidden_characters import HiddenCharacter, shown_safely
from gateway.extensions import db

MESSAGES = {
    400: ("There is a problem with your request", "Go back and try again."),
    401: ("You need to sign in", "Sign in to continue."),
    403: ("You do not have permission to see this page", "Ask an administrator for access."),
    404: ("Page not found", "Check the address, or go to the dashboard."),
    405: ("That is not allowed here", "Go back and use the buttons on the page."),
    413: (
        "What you sent is too large",
        "Nothing was saved. A post can have up to 4 images of up to 10 MB each and up to "
        "63,206 characters of text: choose smaller images, or shorten the text, and try again.",
    ),
    409: (
        "Someone else changed this at the same moment",
        "Nothing you sent was saved. Open the page again to see how it is now, then make your "
        "change again if it is still needed.",
    ),
    429: ("Too many attempts", "Wait a few minutes, then try again."),
    500: ("Sorry, there is a problem with the service", "Try again later."),
}


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        return _render(
            400, "Your form expired or was sent from elsewhere. Reload the page and try again."
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if (
            request.path.startswith("/api/")
            and isinstance(error, MethodNotAllowed)
            and _nothing_here(error)
        ):
            # Werkzeug answers 405 for an id too large for its column (gateway.converters),
            # counting the rule its converter then refused: there is no such post, which the
            # API says with a 404.
            return _render(404, None)
        return _render(error.code or 500, None)

    # Two people (or a person and a publishing worker) changed the same post at once: the
    # post's version check refused the second change, or PostgreSQL broke a deadlock between
    # them. Nothing was saved; say so, rather than "a problem with the service".
    @app.errorhandler(StaleDataError)
    def _stale(error: StaleDataError):
        db.session.rollback()
        return _render(409, None)

    @app.errorhandler(DBAPIError)
    def _database(error: DBAPIError):
        if getattr(error.orig, "sqlstate", None) not in CONCURRENCY_SQLSTATES:
            raise error  # any other database error is a 500, handled (and logged) as before
        db.session.rollback()
        return _render(409, None)


def _nothing_here(error: MethodNotAllowed) -> bool:
    """True when none of the methods a 405 allows finds anything at this path either."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in set(error.valid_methods or ()) - {"OPTIONS"}:
        try:
            adapter.match(method=method)
        except NotFound:
            continue
        except HTTPException:
            return False
        return False
    return True


#: PostgreSQL's deadlock_detected and serialization_failure: the transaction lost a race and
#: was rolled back whole.
CONCURRENCY_SQLSTATES = frozenset({"40P01", "40001"})


def hidden_character_response(field: str, hit: HiddenCharacter):
    """A 400 that names the field and the character, so the officer can find and remove it
    (it is invisible where they typed or pasted it)."""
    if request.path.startswith("/api/"):
        # The JSON API: a 422 naming the field, like every other field it refuses (issue 17).
        from gateway.api import problems

        message = (
            f"The field “{shown_safely(field)}” contains a hidden character, {hit.label}, at "
            f"character {hit.position + 1}. Nothing was saved: remove it and send it again."
        )
        where = (
            {"pointer": problems.pointer([field])}
            if request.is_json and field not in request.args
            else {"pointer": "", "parameter": field}
        )
        return problems.problem(
            422, message, slug="hidden-character", errors=[{**where, "detail": message}]
        )
    return _render(
        400,
        f"The field “{shown_safely(field)}” contains a hidden character, {hit.label}, at character "
        f"{hit.position + 1}. Nothing was saved. It usually comes from pasting text from "
        "another program: go back (what you typed is still in the form), delete and retype "
        "the text around that point, and send it again.",
    )


def _render(code: int, detail: str | None):
    if request.path.startswith("/api/"):
        # The JSON API answers every error as RFC 9457 problem details (issue 17).
        from gateway.api import auth, problems

        if code == 401:
            detail = detail or auth.refusal_detail()
        return problems.problem(code, detail)
    title, hint = MESSAGES.get(code, (f"Error {code}", "Go back and try again."))
    if (
        request.blueprint == "api"
        or request.path in {"/healthz", "/readyz"}
        or (request.accept_mimetypes.best == "application/json")
    ):
        return jsonify(error=title, detail=detail or hint), code
    return render_template("error.html", title=title, detail=detail or hint, code=code), code

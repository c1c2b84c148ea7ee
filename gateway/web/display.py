"""How things read on the page: London times, status colours, finding labels, the menu."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape

from gateway.domain.bilingual import CHANNEL_LANGUAGES
from gateway.domain.bilingual import label as language_label
from gateway.domain.emergency import category_label
from gateway.domain.guardrails import Outcome
from gateway.domain.roles import Role, role_labels
from gateway.domain.statuses import DeliveryStatus, PostStatus
from gateway.forms import error_list

#: Times are stored in UTC and shown in Europe/London (issue 3).
LONDON = ZoneInfo("Europe/London")

#: GOV.UK "Tag" colours: grey waits on nobody, blue is in hand, green went out, red needs a
#: person, yellow waits on someone else.
_STATUS_COLOURS = {
    PostStatus.DRAFT: "govuk-tag--grey",
    PostStatus.AWAITING_APPROVAL: "govuk-tag--yellow",
    PostStatus.APPROVED: "govuk-tag--blue",
    PostStatus.PUBLISHING: "govuk-tag--light-blue",
    PostStatus.PUBLISHED: "govuk-tag--green",
    PostStatus.PARTLY_PUBLISHED: "govuk-tag--orange",
    PostStatus.FAILED: "govuk-tag--red",
    PostStatus.REJECTED: "govuk-tag--red",
    PostStatus.CANCELLED: "govuk-tag--grey",
    PostStatus.BLOCKED: "govuk-tag--red",
    DeliveryStatus.PENDING: "govuk-tag--grey",
    DeliveryStatus.SCHEDULED: "govuk-tag--blue",
    DeliveryStatus.PUBLISHING: "govuk-tag--light-blue",
    DeliveryStatus.PUBLISHED: "govuk-tag--green",
    DeliveryStatus.RETRY: "govuk-tag--yellow",
    DeliveryStatus.HELD: "govuk-tag--orange",
    DeliveryStatus.FAILED: "govuk-tag--red",
    DeliveryStatus.BLOCKED: "govuk-tag--red",
    DeliveryStatus.CANCELLED: "govuk-tag--grey",
    DeliveryStatus.SKIPPED: "govuk-tag--grey",
}
_OUTCOME_LABELS = {
    Outcome.BLOCK: "Blocked",
    Outcome.REFER: "Referred to the monitoring officer",
    Outcome.ADVISE: "Advice",
}


def london(value: datetime | None, fmt: str = "%-d %B %Y at %-I:%M%p") -> str:
    """A UTC time as people in the council read it: '3 March 2027 at 9:30am'."""
    if value is None:
        return "Not set"
    text = value.astimezone(LONDON).strftime(fmt)
    return text.replace("AM", "am").replace("PM", "pm")


def status_label(status: Any) -> str:
    if isinstance(status, PostStatus | DeliveryStatus):
        return getattr(status, "label", status.value.replace("_", " ").capitalize())
    return str(status).replace("_", " ").capitalize()


def status_colour(status: Any) -> str:
    return _STATUS_COLOURS.get(status, "govuk-tag--grey")


#: Who did something, for a log entry with no person's email: the same words on the publish
#: log's pages and in a post's history (issue 22: "system" on one, "The gateway" on the other).
ACTOR_WORDS = {"system": "The gateway", "anonymous": "Someone not signed in"}


def actor_name(actor: dict[str, Any] | None) -> str:
    """A log entry's actor as people read it: their email, "The gateway" for its own work
    (the worker, the scheduler, a command), "Someone not signed in" for a failed sign-in."""
    actor = actor or {}
    return actor.get("email") or ACTOR_WORDS.get(actor.get("kind") or "", "Someone")


def outcome_label(outcome: Outcome) -> str:
    return _OUTCOME_LABELS.get(Outcome(outcome), str(outcome))


#: The menu: (endpoint, words, roles that see it or None for everyone, endpoint prefix that
#: marks it current). Pages other issues add appear once their blueprint is registered.
MENU: tuple[tuple[str, str, tuple[Role, ...] | None, str | None], ...] = (
    ("web.dashboard", "Dashboard", None, None),
    (
        "web.post_search",
        "Search posts",
        (Role.OFFICER, Role.DUTY_OFFICER, Role.MONITORING_OFFICER),
        None,
    ),
    ("web.post_new", "New post", (Role.OFFICER, Role.DUTY_OFFICER), None),
    ("emergency.new", "Emergency post", (Role.DUTY_OFFICER,), None),
    ("web.approvals", "Approvals", (Role.OFFICER, Role.MONITORING_OFFICER), None),
    (
        "emergency.reviews",
        "Emergency reviews",
        (Role.OFFICER, Role.DUTY_OFFICER, Role.MONITORING_OFFICER),
        None,
    ),
    ("web.schedule_week", "Schedule", None, "web.schedule"),
    ("auditor.entries", "Publish log", (Role.AUDITOR, Role.MONITORING_OFFICER), "auditor."),
    ("admin.index", "Admin", (Role.ADMIN,), "admin."),
)


def navigation_items() -> list[dict[str, Any]]:
    """The menu for the signed-in user's roles; the server checks the roles again anyway."""
    if not current_user.is_authenticated:
        return []
    endpoint = request.endpoint or ""
    views = current_app.view_functions
    return [
        {
            "href": url_for(name),
            "text": text,
            "active": endpoint == name or bool(prefix and endpoint.startswith(prefix)),
        }
        for name, text, roles, prefix in MENU
        if name in views and (roles is None or current_user.has_role(*roles))
    ]


def emergency_form_href() -> str | None:
    """The emergency form's address for a reader who may use it (a duty officer), else None:
    an office-hours finding points there (issue 22), as the post form has no category."""
    allowed = current_user.is_authenticated and current_user.has_role(Role.DUTY_OFFICER)
    if allowed and "emergency.new" in current_app.view_functions:
        return url_for("emergency.new")
    return None


def post_href() -> str:
    """The post page's address without its id ('/posts/'), for pages that link many posts:
    one url_for a page instead of one a row (issue 6, "Speed")."""
    return url_for("web.post_show", post_id=0).removesuffix("0")


#: Statuses a calendar entry names under its link (the others are the expected ones).
_CALENDAR_QUIET = frozenset({PostStatus.APPROVED, PostStatus.PUBLISHED, PostStatus.PUBLISHING})


def calendar_post(entry: Any, post_href: str, channel_name: str | None = None) -> Markup:
    """One post in a schedule cell. Written here rather than as a Jinja macro because a week
    or a month shows some hundreds of them, and a macro call each cost more than the rest of
    the page (issue 6, "Speed"). Every value goes through ``escape``, as in a template."""
    status = escape(status_label(entry.status))
    channel = f" {escape(channel_name)}" if channel_name is not None else ""
    note = (
        f'<br><span class="govuk-body-s">{status}</span>'
        if entry.status not in _CALENDAR_QUIET
        else ""
    )
    # Every value above and below is escaped (or an int): the f-string is twice as fast as
    # Markup's own % or format, which escape the same way.
    return Markup(  # noqa: S704  # nosec B704
        f'<p class="govuk-body-s app-calendar__post"><a class="govuk-link" '
        f'href="{escape(post_href)}{int(entry.post_id)}">'
        f"{escape(london(entry.scheduled_at, '%-I:%M%p'))}{channel}: "
        f"{_calendar_text(entry)}</a> "
        f'<span class="govuk-visually-hidden">({status})</span>{note}</p>'
    )


def _calendar_text(entry: Any) -> str:
    """The words a schedule cell shows, escaped: what this delivery sends (issue 18), its
    Welsh, its English or both (each marked with its language), else the post's text."""
    text_cy = getattr(entry, "text_cy", None)
    if text_cy is None:
        return str(escape(_truncate(entry.text, 40)))
    from gateway.domain.bilingual import languages_of

    languages = languages_of(getattr(entry, "language", "") or "") or ("cy", "en")
    texts = {"cy": text_cy, "en": entry.text}
    return " / ".join(
        f'<span lang="{lang}">{escape(_truncate(texts[lang], 40))}</span>' for lang in languages
    )


def _truncate(text: str, length: int, leeway: int = 5, end: str = "...") -> str:
    """Jinja's ``truncate`` filter with its defaults (whole words, leeway 5), so the calendar
    reads as the other lists do."""
    if len(text) <= length + leeway:
        return text
    return text[: length - len(end)].rsplit(" ", 1)[0] + end


def init_app(app: Flask) -> None:
    app.add_template_filter(london)
    app.add_template_global(navigation_items)
    app.add_template_global(status_colour)
    app.add_template_global(status_label)
    app.add_template_global(post_href)
    app.add_template_global(emergency_form_href)
    app.add_template_global(calendar_post)
    app.add_template_global(outcome_label)
    app.add_template_global(actor_name)
    app.add_template_global(role_labels)
    app.add_template_global(error_list)
    app.add_template_global(category_label, "emergency_category_label")
    app.add_template_global(language_label, "language_label")
    app.add_template_global(channel_language_label)
    app.add_template_global(channel_layout_label)
    app.add_template_global(bilingual_enabled)
    app.add_template_global(texts_in_order)


def channel_language_label(language: str | None) -> str:
    return CHANNEL_LANGUAGES.get(language or "", language or "")


def channel_layout_label(layout: str | None) -> str:
    """A channel's own bilingual layout in words; the installation's, when it has none."""
    from gateway.domain.bilingual import CHANNEL_LAYOUTS, Layout
    from gateway.posts.bilingual import settings

    if layout:
        return CHANNEL_LAYOUTS.get(layout, layout)
    chosen = settings()
    if chosen.layout is Layout.SEPARATE:
        installation = CHANNEL_LAYOUTS["separate"]
    else:
        installation = CHANNEL_LAYOUTS[chosen.order.value] + ", where it fits"
    return f"As the gateway is set ({installation})"


def texts_in_order(welsh: str | None, english: str) -> list[tuple[str, str]]:
    """A post's texts as (language, text) in the council's order (issue 18: every page that
    shows a post shows both languages); [("", text)] for a post in one language."""
    if welsh is None:
        return [("", english)]
    from gateway.domain.bilingual import Order
    from gateway.posts.bilingual import settings

    pair = [("cy", welsh), ("en", english)]
    return pair if settings().order is Order.WELSH_FIRST else pair[::-1]


def bilingual_enabled() -> bool:
    from gateway.posts.bilingual import enabled

    return enabled()

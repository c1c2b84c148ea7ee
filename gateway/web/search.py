"""Finding posts: by words in the text, author, channel, status and the day they go out
(issue 22, item 8).

A GET form (searching changes nothing, so no CSRF token) whose address can be bookmarked and
shared. Officers, duty officers and monitoring officers may search; an auditor reads the
publish log instead and an admin manages the gateway, so they are refused, as on the
approvals pages. The results follow the dashboard's rule on drafts: a draft is listed only to
its author or the officer who holds it (the dashboard's "My drafts"); every other post is on
the schedule or in the approval queue for all of them to see.

The words are matched anywhere in the text, whatever their case, with ``%``, ``_`` and ``\\``
taken literally (an escaped LIKE). PostgreSQL answers from the trigram index on
``lower(text)`` (migration 0014); SQLite folds case with Python's ``str.lower`` (its own
``lower`` knows only ASCII, and Welsh posts have ŵ and ŷ), reading the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import render_template, request
from flask_login import current_user
from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovTextInput
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Text
from wtforms import Form, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from gateway.database import SQLITE_LOWER
from gateway.domain.roles import Role
from gateway.domain.statuses import PostStatus
from gateway.extensions import db
from gateway.forms.fields import DateInputField, DateOptional
from gateway.models import Channel, Delivery, Post, User
from gateway.security import requires
from gateway.web.queries import LIST_TEXT_CHARS, local_day_bounds
from gateway.web.views import bp

#: Who may search posts: those who write, approve or review them.
SEARCHERS = (Role.OFFICER, Role.DUTY_OFFICER, Role.MONITORING_OFFICER)
#: Results a page.
PAGE_ROWS = 20
#: Matches counted: past this many the page says "more than 1,000" and asks for more words
#: or filters. Counting every one of 35,000 matches for a common word cost PostgreSQL most
#: of a page's time (bench/bench_search.py), and nobody pages through 50 pages of them.
COUNT_LIMIT = 1000
#: Words searched for: a sentence or two is plenty, and a long pattern only costs time.
MAX_QUERY_CHARS = 200
#: The highest page number a link may ask for.
MAX_PAGE = COUNT_LIMIT // PAGE_ROWS
ANY = ""
#: The LIKE escape character, and what it escapes.
ESCAPE = "\\"
_WILDCARDS = (ESCAPE, "%", "_")


class folded_text(FunctionElement):  # noqa: N801 - named as SQL functions are
    """``lower(x)`` (the expression of the trigram index), and on SQLite the Unicode-aware
    :data:`SQLITE_LOWER`."""

    type = Text()
    name = "folded_text"
    inherit_cache = True


@compiles(folded_text)
def _folded(element: folded_text, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(folded_text, "sqlite")
def _sqlite_folded(element: folded_text, compiler: Any, **kw: Any) -> str:
    return f"{SQLITE_LOWER}({compiler.process(element.clauses, **kw)})"


def like_pattern(words: str) -> str:
    """``%words%`` lower-cased, with LIKE's wildcards and the escape character escaped."""
    escaped = words.lower()
    for char in _WILDCARDS:
        escaped = escaped.replace(char, ESCAPE + char)
    return f"%{escaped}%"


class _ChoiceSelect(SelectField):
    """A select whose value must be one of its choices, with a message a person can act on."""

    widget = GovSelect()

    def pre_validate(self, form: Form) -> None:
        if self.data and self.data not in {str(c.value) for c in self.choices}:
            raise ValidationError(f"{self.label.text}: choose one from the list")


class SearchForm(Form):
    q = StringField(
        "Words in the post",
        widget=GovTextInput(),
        description="Any part of the text, in any case: for example, bin collection",
        validators=[
            Optional(),
            Length(max=MAX_QUERY_CHARS, message=f"Enter {MAX_QUERY_CHARS} characters or fewer"),
        ],
    )
    author = _ChoiceSelect("Author", default=ANY)
    channel = _ChoiceSelect("Channel", default=ANY)
    status = _ChoiceSelect(
        "Status",
        choices=[
            SelectChoice(ANY, "Any status"),
            *(SelectChoice(s.value, s.label) for s in PostStatus),
        ],
        default=ANY,
    )
    date_from = DateInputField(
        "Goes out from", description="For example, 1 3 2027", validators=[DateOptional()]
    )
    date_to = DateInputField(
        "Goes out to (inclusive)", description="For example, 31 3 2027", validators=[DateOptional()]
    )

    def validate_date_to(self, field: DateInputField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("Goes out to must be the same as or after Goes out from")

    def set_choices(self) -> None:
        authors = db.session.execute(
            select(User.id, User.email)
            .where(exists().where(Post.author_id == User.id))
            .order_by(User.email)
        ).all()
        self.author.choices = [
            SelectChoice(ANY, "Anyone"),
            *(SelectChoice(str(a.id), a.email) for a in authors),
        ]
        channels = db.session.execute(
            select(Channel.id, Channel.display_name, Channel.enabled).order_by(
                Channel.display_name, Channel.id
            )
        ).all()
        self.channel.choices = [
            SelectChoice(ANY, "Any channel"),
            *(
                SelectChoice(str(c.id), c.display_name + ("" if c.enabled else " (disabled)"))
                for c in channels
            ),
        ]

    @property
    def words(self) -> str:
        return (self.q.data or "").strip()

    @property
    def used(self) -> bool:
        """Whether any filter is set (an empty form lists every post the reader may see)."""
        return bool(
            self.words
            or self.author.data
            or self.channel.data
            or self.status.data
            or self.date_from.data
            or self.date_to.data
        )


@dataclass(frozen=True, slots=True)
class ResultRow:
    id: int
    text: str
    author_email: str
    scheduled_at: datetime | None
    status: PostStatus
    #: A bilingual post's Welsh text (issue 18), shown beside the English; None otherwise.
    text_cy: str | None = None


@dataclass(frozen=True)
class Results:
    #: Matches, at most COUNT_LIMIT (``more`` says there are more).
    total: int
    page: int
    rows: list[ResultRow]
    more: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_ROWS))

    @property
    def first(self) -> int:
        return (self.page - 1) * PAGE_ROWS + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def search_query(form: SearchForm, reader: User) -> Any:
    """``select(Post.id)`` of the posts ``reader`` may see that match the validated ``form``."""
    query = select(Post.id).where(
        or_(
            Post.status != PostStatus.DRAFT.value,
            Post.author_id == reader.id,
            Post.holder_id == reader.id,
        )
    )
    if form.words:
        pattern = like_pattern(form.words)
        narrow = form.words.isascii() and db.session.get_bind().dialect.name == "sqlite"

        def matches(column: Any) -> Any:
            found = folded_text(column).like(pattern, escape=ESCAPE)
            if narrow:
                # SQLite's own LIKE ignores the case of ASCII letters: it first finds the few
                # posts that can match, so Python's lower() runs on those only (ten times
                # faster for a rare word; bench/bench_search.py).
                return and_(column.like(pattern, escape=ESCAPE), found)
            return found

        # In either language of a bilingual post (issue 18); each text has its trigram
        # index on PostgreSQL (migrations 0014 and 0025).
        query = query.where(or_(matches(Post.text), matches(Post.text_cy)))
    if form.author.data:
        query = query.where(Post.author_id == int(form.author.data))
    if form.channel.data:
        query = query.where(
            exists().where(
                Delivery.post_id == Post.id, Delivery.channel_id == int(form.channel.data)
            )
        )
    if form.status.data:
        query = query.where(Post.status == form.status.data)
    if form.date_from.data:
        query = query.where(Post.scheduled_at >= local_day_bounds(form.date_from.data)[0])
    if form.date_to.data:
        query = query.where(Post.scheduled_at < local_day_bounds(form.date_to.data)[1])
    return query


def search(form: SearchForm, reader: User, page: int) -> Results:
    """Page ``page`` of the matching posts, newest first: two statements (the count, up to
    COUNT_LIMIT, then the page with each author's email joined in)."""
    matching = search_query(form, reader)
    counted = matching.limit(COUNT_LIMIT + 1).subquery()
    total = db.session.scalar(select(func.count()).select_from(counted)) or 0
    ids = matching.order_by(Post.id.desc()).limit(PAGE_ROWS).offset((page - 1) * PAGE_ROWS)
    rows = db.session.execute(
        select(
            Post.id,
            func.substr(Post.text, 1, LIST_TEXT_CHARS).label("text"),
            func.substr(Post.text_cy, 1, LIST_TEXT_CHARS).label("text_cy"),
            User.email,
            Post.scheduled_at,
            Post.status,
        )
        .join(User, User.id == Post.author_id)
        .where(Post.id.in_(ids.scalar_subquery()))
        .order_by(Post.id.desc())
    ).all()
    return Results(
        min(total, COUNT_LIMIT),
        page,
        [
            ResultRow(r.id, r.text, r.email, r.scheduled_at, PostStatus(r.status), r.text_cy)
            for r in rows
        ],
        more=total > COUNT_LIMIT,
    )


def _page_number() -> int | None:
    """The page asked for (1 when none), or None when it is not a page number."""
    raw = request.args.get("page", "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or len(raw) > len(str(MAX_PAGE)) or not 1 <= int(raw) <= MAX_PAGE:
        return None
    return int(raw)


def _link_args() -> dict[str, list[str]]:
    """The search's query arguments as they came, without the page, for the page links."""
    args = request.args.to_dict(flat=False)
    args.pop("page", None)
    return args


def page_items(current: int, pages: int) -> list[int | None]:
    """The page numbers a GOV.UK pagination shows: the first, the last, the current one and
    its neighbours; None where numbers are left out (an ellipsis)."""
    shown = sorted({1, pages, current - 1, current, current + 1} & set(range(1, pages + 1)))
    items: list[int | None] = []
    for number in shown:
        if items and number - (items[-1] or 0) > 1:
            items.append(None)
        items.append(number)
    return items


@bp.get("/posts")
@requires(*SEARCHERS)
def post_search():
    form = SearchForm(request.args)
    form.set_choices()
    page = _page_number()
    page_errors: list = []
    if page is None:
        page_errors.append({"text": f"The page number must be a whole number from 1 to {MAX_PAGE}"})
    if not form.validate() or page is None:
        return render_template(
            "web/search.html", form=form, results=None, page_errors=page_errors, args={}
        ), 400
    results = search(form, current_user, page)
    status = 200
    if page > results.pages:
        # A link kept from a longer list, or a number typed in: say where the results are.
        status = 404
    return render_template(
        "web/search.html",
        form=form,
        results=results,
        page_errors=page_errors,
        args=_link_args(),
        items=page_items(min(page, results.pages), results.pages),
    ), status

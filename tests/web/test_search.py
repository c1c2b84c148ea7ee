"""Searching posts by words, author, channel, status and the day they go out, page by page
(issue 22, item 8), on SQLite and PostgreSQL with seeded posts."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from sqlalchemy import text

from gateway.domain.statuses import DeliveryStatus, PostStatus
from gateway.extensions import db
from gateway.models import Delivery, Post
from gateway.web.search import PAGE_ROWS, like_pattern, page_items
from tests.web.helpers import get


def _seed(app, *posts):
    """Posts straight into the tables (this is about finding them, not the post service):
    each (text, author id, status, scheduled_at or None, channel ids)."""
    ids = []
    with app.app_context():
        for body, author_id, status, at, channel_ids in posts:
            post = Post(
                text=body,
                author_id=author_id,
                holder_id=author_id,
                status=status.value,
                scheduled_at=at,
            )
            for channel_id in channel_ids:
                post.deliveries.append(
                    Delivery(channel_id=channel_id, due_at=at, status=DeliveryStatus.PENDING.value)
                )
            db.session.add(post)
            db.session.flush()
            ids.append(post.id)
        db.session.commit()
    return ids


def _search(client, expect=200, **args):
    """The search page for these arguments; a list is a date's three boxes."""
    pairs = [
        (name, part)
        for name, value in args.items()
        for part in (value if isinstance(value, list) else [value])
    ]
    return get(client, f"/posts?{urlencode(pairs)}", expect)


def _found(page) -> list[int]:
    """The post ids listed, in order."""
    return [int(a["href"].rsplit("/", 1)[1]) for a in page.soup.select("#results tbody a")]


def _at(day: int, hour: int = 10, month: int = 3) -> datetime:
    return datetime(2027, month, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def seeded(app, people, channels):
    people["a"], people["b"]
    a, b = people.ids["a"], people.ids["b"]
    x, fb = channels["x"], channels["facebook"]
    ids = _seed(
        app,
        ("Bins are collected on Wednesday this week.", a, PostStatus.APPROVED, _at(10), [x, fb]),
        ("Recycling centre opening hours change.", b, PostStatus.PUBLISHED, _at(2), [fb]),
        (
            "BIN day moves because of the bank holiday.",
            b,
            PostStatus.AWAITING_APPROVAL,
            _at(29),
            [x],
        ),
        ("Library closed for repairs; bins as usual.", a, PostStatus.CANCELLED, _at(15), [x]),
        ("Gŵyl Ddewi: Ŵyl y Gwanwyn yn y parc.", b, PostStatus.APPROVED, _at(1), [fb]),
        ("A's draft about bins, not yet submitted.", a, PostStatus.DRAFT, None, [x]),
        ("B's draft about bins, not yet submitted.", b, PostStatus.DRAFT, None, [x]),
    )
    return dict(zip(["bins", "recycling", "binday", "library", "welsh", "draft_a", "draft_b"], ids))


def test_words_are_found_in_any_case_and_drafts_only_by_their_writer(app, people, seeded):
    a, b = people["a"], people["b"]
    page = _search(a, q="bins")
    # Newest first; "BIN day" does not hold "bins"; B's draft is B's own work in progress.
    assert _found(page) == [seeded["draft_a"], seeded["library"], seeded["bins"]]
    assert "Showing 1 to 3 of 3 posts, newest first." in page.text()
    assert _found(_search(a, q="  BIN  ")) == [
        seeded["draft_a"],
        seeded["library"],
        seeded["binday"],
        seeded["bins"],
    ]
    assert _found(_search(b, q="bins")) == [seeded["draft_b"], seeded["library"], seeded["bins"]]
    # Letters beyond ASCII fold too (SQLite's own lower() would not): Ŵ is ŵ.
    assert _found(_search(a, q="ŵyl y gwanwyn")) == [seeded["welsh"]]
    assert _found(_search(a, q="GŴYL")) == [seeded["welsh"]]
    # An empty form lists every post the reader may see.
    assert len(_found(_search(a))) == 6


def test_each_filter_alone_and_together(app, people, channels, seeded):
    a = people["a"]
    a_id, b_id = people.ids["a"], people.ids["b"]
    assert _found(_search(a, author=str(b_id))) == [
        seeded["welsh"],
        seeded["binday"],
        seeded["recycling"],
    ]
    assert _found(_search(a, channel=str(channels["facebook"]))) == [
        seeded["welsh"],
        seeded["recycling"],
        seeded["bins"],
    ]
    assert _found(_search(a, status="approved")) == [seeded["welsh"], seeded["bins"]]
    assert _found(_search(a, status="draft")) == [seeded["draft_a"]]
    # Goes out between 2 and 15 March, both days included.
    assert _found(_search(a, date_from=["2", "3", "2027"], date_to=["15", "3", "2027"])) == [
        seeded["library"],
        seeded["recycling"],
        seeded["bins"],
    ]
    assert _found(_search(a, date_from=["15", "3", "2027"])) == [
        seeded["library"],
        seeded["binday"],
    ]
    assert _found(_search(a, date_to=["1", "3", "2027"])) == [seeded["welsh"]]
    # Together: every filter must hold.
    assert _found(_search(a, q="bin", author=str(a_id), channel=str(channels["x"]))) == [
        seeded["draft_a"],
        seeded["library"],
        seeded["bins"],
    ]
    assert _found(
        _search(a, q="bin", author=str(a_id), status="cancelled", date_from=["15", "3", "2027"])
    ) == [seeded["library"]]
    none = _search(a, q="bins", status="published")
    assert _found(none) == []
    assert "No posts match this search" in none.text()
    # The form shows what was asked, so the search can be changed.
    form = _search(a, q="bin", status="approved").soup
    assert form.select_one("#q")["value"] == "bin"
    assert form.select_one("#status option[selected]")["value"] == "approved"


def test_the_london_day_decides_the_date_range(app, people, channels):
    a = people["a"]
    a_id = people.ids["a"]
    # 23:30 on 31 March 2027 in London (BST) is 22:30 UTC; 00:30 on 1 April is 23:30 UTC.
    late, early = _seed(
        app,
        ("Late on the 31st", a_id, PostStatus.APPROVED, _at(31, 22), [channels["x"]]),
        ("Early on the 1st", a_id, PostStatus.APPROVED, _at(31, 23), [channels["x"]]),
    )
    assert _found(_search(a, date_to=["31", "3", "2027"])) == [late]
    assert _found(_search(a, date_from=["1", "4", "2027"])) == [early]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("%", ["percent", "both"]),
        ("50%", ["percent"]),
        ("_", ["underscore"]),
        ("a_b", ["underscore"]),
        ("\\", ["backslash", "both"]),
        ("\\%", ["both"]),
        ("[ab]", ["brackets"]),
    ],
)
def test_wildcards_in_the_words_are_taken_literally(app, people, channels, words, expected):
    a = people["a"]
    a_id = people.ids["a"]
    x = channels["x"]
    names = ["percent", "plain", "underscore", "axb", "backslash", "both", "brackets"]
    ids = _seed(
        app,
        *(
            (body, a_id, PostStatus.APPROVED, _at(10), [x])
            for body in (
                "Half price: 50% off swimming",
                "Five thousand: 5000 off swimming",
                "Code a_b for the car park",
                "Code axb for the car park",
                "A path C:\\parks\\map",
                "Odd text \\% in it",
                "Ticket [ab] at the desk",
            )
        ),
    )
    by_id = dict(zip(ids, names))
    assert sorted(by_id[i] for i in _found(_search(a, q=words))) == sorted(expected)


def test_like_patterns_escape_their_wildcards():
    assert like_pattern("50%_\\ Off") == "%50\\%\\_\\\\ off%"


def test_pages_of_results_and_their_boundaries(app, people, channels):
    a = people["a"]
    a_id = people.ids["a"]
    total = 2 * PAGE_ROWS + 5
    ids = _seed(
        app,
        *(
            (f"Swimming lesson {i}", a_id, PostStatus.APPROVED, _at(10), [channels["x"]])
            for i in range(total)
        ),
    )
    newest_first = ids[::-1]
    first = _search(a, q="swimming")
    assert _found(first) == newest_first[:PAGE_ROWS]
    assert f"Showing 1 to {PAGE_ROWS} of {total} posts" in first.text()
    pagination = first.soup.select_one(".govuk-pagination")
    assert pagination.select_one(".govuk-pagination__prev") is None
    next_href = pagination.select_one(".govuk-pagination__next a")["href"]
    assert "q=swimming" in next_href and "page=2" in next_href
    assert [li.get_text(strip=True) for li in pagination.select(".govuk-pagination__item")] == [
        "1",
        "2",
        "3",
    ]
    second = get(a, next_href)
    assert _found(second) == newest_first[PAGE_ROWS : 2 * PAGE_ROWS]
    last = _search(a, q="swimming", page="3")
    assert _found(last) == newest_first[2 * PAGE_ROWS :]
    assert f"Showing {2 * PAGE_ROWS + 1} to {total} of {total} posts" in last.text()
    assert last.soup.select_one(".govuk-pagination__next") is None
    assert last.soup.select_one(".govuk-pagination__prev a") is not None
    # One past the last page: no rows, a link to the last one.
    past = _search(a, expect=404, q="swimming", page="4")
    assert _found(past) == []
    assert "There is no page 4" in past.text()
    assert "page=3" in past.soup.select_one("#result-count a")["href"]
    # Exactly one page: no pagination at all.
    one = _search(a, q="swimming lesson 1")
    assert len(_found(one)) == 11  # 1 and 10 to 19
    assert one.soup.select_one(".govuk-pagination") is None
    # Not a page number.
    for bad in ("0", "-1", "two", "51", "99999999999999999999"):
        page = _search(a, expect=400, q="swimming", page=bad)
        assert page.errors() == ["The page number must be a whole number from 1 to 50"]


def test_page_numbers_shown_around_the_current_page():
    assert page_items(1, 1) == [1]
    assert page_items(1, 3) == [1, 2, 3]
    assert page_items(5, 10) == [1, None, 4, 5, 6, None, 10]
    assert page_items(10, 10) == [1, None, 9, 10]
    assert page_items(2, 10) == [1, 2, 3, None, 10]


def test_bad_input_gets_a_clear_error_and_keeps_what_was_typed(app, people, channels, seeded):
    a = people["a"]
    page = _search(a, expect=400, q="bins", date_from=["31", "2", "2027"])
    assert page.errors() == ["Goes out from must be a real date, like 27 3 2027"]
    assert page.error_links() == ["#date_from-day"]
    assert page.soup.select_one("#q")["value"] == "bins"
    assert page.soup.select_one("#date_from-day")["value"] == "31"
    assert page.soup.select_one("#results tbody") is None
    assert _search(a, expect=400, date_from=["", "3", "2027"]).errors() == [
        "Goes out from must include a day"
    ]
    backwards = _search(a, expect=400, date_from=["15", "3", "2027"], date_to=["1", "3", "2027"])
    assert backwards.errors() == ["Goes out to must be the same as or after Goes out from"]
    assert _search(a, expect=400, q="b" * 201).errors() == ["Enter 200 characters or fewer"]
    assert _search(a, expect=400, author="999999").errors() == ["Author: choose one from the list"]
    assert _search(a, expect=400, channel="x").errors() == ["Channel: choose one from the list"]


def test_an_unknown_status_is_refused(app, people, seeded):
    page = get(people["a"], "/posts?status=gone", 400)
    assert page.errors() == ["Status: choose one from the list"]


def test_who_may_search(app, people, seeded, client):
    for key in ("a", "mo"):
        page = get(people[key], "/posts?q=bins")
        assert seeded["library"] in _found(page)
        # A monitoring officer writes no drafts, and sees nobody else's.
        assert (seeded["draft_a"] in _found(page)) is (key == "a")
    for key in ("auditor", "admin"):
        assert people[key].get("/posts?q=bins").status_code == 403
    signed_out = client.get("/posts?q=bins")
    assert signed_out.status_code == 302
    assert "/sign-in" in signed_out.headers["Location"]


def test_the_dashboard_offers_the_search_to_those_who_may(app, people, seeded):
    page = get(people["a"], "/")
    form = page.soup.select_one("form[role=search]")
    assert form["method"] == "get" and form["action"] == "/posts"
    assert form.select_one("input[name=q]") is not None
    assert "Search posts" in [a.get_text(strip=True) for a in page.soup.select("nav a")]
    auditor = get(people["auditor"], "/")
    assert auditor.soup.select_one("form[role=search]") is None
    assert "Search posts" not in [a.get_text(strip=True) for a in auditor.soup.select("nav a")]


def test_postgresql_can_answer_the_words_from_the_trigram_index(app, people, seeded):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the trigram index is PostgreSQL's")
        from gateway.web.search import ESCAPE, folded_text

        statement = (
            db.select(Post.id)
            .where(folded_text(Post.text).like(like_pattern("recycling"), escape=ESCAPE))
            .compile(db.engine, compile_kwargs={"literal_binds": True})
        )
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(db.session.scalars(text(f"EXPLAIN {statement}")))
        assert "ix_posts_text_trgm" in plan, plan


def test_past_the_count_limit_the_page_asks_for_fewer(app, people, channels, monkeypatch):
    from gateway.web import search as search_module

    monkeypatch.setattr(search_module, "COUNT_LIMIT", 30)
    a = people["a"]
    ids = _seed(
        app,
        *(
            (f"Leisure centre news {i}", people.ids["a"], PostStatus.APPROVED, _at(10), [])
            for i in range(45)
        ),
    )
    first = _search(a, q="leisure")
    assert _found(first) == ids[::-1][:PAGE_ROWS]
    assert (
        "Showing 1 to 20 of more than 30 posts, newest first. Add words or choose a filter to "
        "find fewer." in first.text()
    )
    assert [li.get_text(strip=True) for li in first.soup.select(".govuk-pagination__item")] == [
        "1",
        "2",
    ]
    # Fewer matches than the limit are counted exactly.
    assert "Showing 1 to 11 of 11 posts" in _search(a, q="leisure centre news 1").text()

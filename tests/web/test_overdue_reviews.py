"""Overdue emergency reviews are shown on the dashboard (issue 7, "Reviewed afterwards").

An emergency post is due for review on the next working day after it went out; from the day
after that it is overdue. The dashboard shows reviewers (officers, duty officers, monitoring
officers) how many are overdue, with a link to the review list, and the number agrees with the
"Overdue" tags on that list.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from gateway.domain.roles import Role
from gateway.domain.statuses import PostStatus
from gateway.extensions import db
from gateway.models import ClosureDay, EmergencyReview, Post
from tests.web.conftest import LONDON, AuthActions
from tests.web.helpers import get, submit


def _emergency_post(app, author_id: int, at: datetime, *, category: str | None = "flooding"):
    """Rows straight into the tables: the emergency form has tests of its own; these are about
    what the dashboard reads."""
    with app.app_context():
        post = Post(
            text=f"Flood warning on the A2, made {at.isoformat()}",
            author_id=author_id,
            status=PostStatus.PUBLISHED.value,
            emergency_category=category,
            scheduled_at=at,
            created_at=at,
        )
        db.session.add(post)
        db.session.commit()
        return post.id


def _count(page) -> int | None:
    node = page.soup.select_one('[data-count="overdue-reviews"]')
    return None if node is None else int(node.get_text())


@pytest.fixture
def emergencies(app, people):
    """Seen on Tuesday 9 March 2027 (the clock): two overdue, one due today, one reviewed,
    and one ordinary post made out of hours, which is never reviewed."""
    people["b"]
    author = people.ids["b"]
    friday_night = _emergency_post(app, author, datetime(2027, 3, 5, 22, 0, tzinfo=LONDON))
    sunday = _emergency_post(app, author, datetime(2027, 3, 7, 3, 0, tzinfo=LONDON))
    monday = _emergency_post(app, author, datetime(2027, 3, 8, 3, 0, tzinfo=LONDON))
    reviewed = _emergency_post(app, author, datetime(2027, 3, 6, 9, 0, tzinfo=LONDON))
    _emergency_post(app, author, datetime(2027, 3, 4, 23, 0, tzinfo=LONDON), category=None)
    with app.app_context():
        db.session.add(
            EmergencyReview(post_id=reviewed, reviewer_id=author, outcome="reviewed", note="")
        )
        db.session.commit()
    return {"friday": friday_night, "sunday": sunday, "monday": monday}


def test_an_officer_sees_the_overdue_count_and_its_link_agrees_with_the_review_list(
    people, emergencies
):
    a = people["a"]
    page = get(a, "/")
    assert _count(page) == 2
    warning = page.soup.select_one(".govuk-warning-text")
    assert warning is not None
    assert "2 emergency posts are past their review day." in " ".join(warning.get_text().split())
    links = {link["href"] for link in page.soup.select('a[href="/emergency/reviews"]')}
    assert links == {"/emergency/reviews"}

    reviews = get(a, "/emergency/reviews")
    overdue_tags = [
        tag
        for tag in reviews.soup.select("strong.govuk-tag")
        if tag.get_text().strip() == "Overdue"
    ]
    assert len(overdue_tags) == 2


def test_reviewing_an_overdue_post_through_the_form_takes_it_off_the_count(people, emergencies):
    a = people["a"]
    reviews = get(a, "/emergency/reviews")
    done = submit(
        a,
        reviews,
        {"outcome": "reviewed"},
        action=f"/emergency/reviews/{emergencies['friday']}",
    )
    assert done.status == 302, done.text()[:500]
    page = get(a, "/")
    assert _count(page) == 1
    assert "1 emergency post is past its review day." in page.text()


def test_a_closure_day_moves_the_review_day_on(app, people, emergencies):
    # Monday 8 March closed: the posts from Friday night and Sunday are due on Tuesday, today,
    # so neither is overdue yet, on the dashboard or on the review list.
    with app.app_context():
        db.session.add(ClosureDay(day=date(2027, 3, 8), reason="Flooded offices"))
        db.session.commit()
    assert _count(get(people["a"], "/")) == 0
    reviews = get(people["a"], "/emergency/reviews").text()
    assert "Overdue" not in reviews
    assert "Due 09 March 2027" in reviews


def test_nothing_overdue_shows_zero_and_no_warning(people):
    page = get(people["a"], "/")
    assert _count(page) == 0
    assert page.soup.select_one(".govuk-warning-text") is None


@pytest.mark.parametrize(
    ("roles", "sees"),
    [
        ((Role.OFFICER,), True),
        ((Role.DUTY_OFFICER,), True),
        ((Role.MONITORING_OFFICER,), True),
        ((Role.ADMIN,), False),
        ((Role.AUDITOR,), False),
    ],
)
def test_only_the_roles_that_can_review_see_the_count(app, emergencies, roles, sees):
    client = app.test_client()
    client.environ_base["HTTP_REFERER"] = "https://localhost/"
    AuthActions(app, client).sign_in_as(*roles)
    page = get(client, "/")
    assert (_count(page) == 2) if sees else (_count(page) is None)
    assert (page.soup.select_one(".govuk-warning-text") is not None) == sees

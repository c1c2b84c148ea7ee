"""Every field checked on the server, with its message beside it and in the error summary,
and nothing the officer typed lost when the form is refused (issue 6, "Bad input")."""

from __future__ import annotations

import gc

import pytest
from sqlalchemy import func, select

from gateway.extensions import db
from gateway.models import Post
from gateway.web.forms import parse_time
from tests.web.conftest import CLEAN_TEXT, png
from tests.web.helpers import get, submit


def _try(client, ids, *, button="submit", files=None, **fields):
    page = get(client, "/posts/new")
    data = {
        "text": CLEAN_TEXT,
        "channels": [str(ids["x"])],
        "publish_date": ["10", "3", "2027"],
        "publish_time": "10:30",
    }
    data.update(fields)
    return submit(client, page, data, files=files, button=("action", button))


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Post))


def test_an_empty_form_names_each_missing_field(app, people, channels):
    page = _try(people["a"], channels, text="", channels=[], publish_date=["", "", ""])
    assert page.status == 400
    page.check_shape()
    assert page.soup.title.get_text().startswith("Error: New post")
    assert "#text" in page.error_links() and "#channels" in page.error_links()
    assert page.field_error("text") == "Error: Enter the text of the post"
    assert page.field_error("channels") == "Error: Choose at least one channel"
    assert _count(app) == 0


#: (fields typed, the field whose message says what is wrong, words of the message)
DATE_AND_TIME_CASES = [
    ({"publish_date": ["8", "3", "2027"]}, "publish_date", "in the future"),
    ({"publish_date": ["31", "2", "2027"]}, "publish_date", "must be a real date"),
    ({"publish_date": ["", "3", "2027"]}, "publish_date", "must include a day"),
    ({"publish_time": "25:99"}, "publish_time", "real time"),
    ({"publish_time": "half ten"}, "publish_time", "like 9:30am"),
    ({"publish_time": ""}, "publish_time", "as well as the date"),
    # The clocks go forward at 1am on 28 March 2027: 1:30am never happens in London.
    ({"publish_date": ["28", "3", "2027"], "publish_time": "1:30am"}, "publish_time", "forward"),
    # The clocks go back at 2am on 31 October 2027: 1:30am happens twice, and the form does not
    # guess which (README, "How a post goes out": the rule for the nights the clocks change).
    ({"publish_date": ["31", "10", "2027"], "publish_time": "1:30am"}, "publish_time", "twice"),
]


def test_dates_and_times_are_checked_and_kept_as_typed(app, people, channels):
    # One app for every case: each case is a fresh form post, so they cannot affect each other.
    for fields, field_id, message in DATE_AND_TIME_CASES:
        page = _try(people["a"], channels, **fields)
        assert page.status == 400, fields
        assert message in page.field_error(field_id), (fields, page.field_error(field_id))
        assert message in " ".join(page.errors()), fields
        # What was typed is still there.
        assert page.soup.find("textarea", id="text").get_text() == CLEAN_TEXT
        if fields.get("publish_time"):
            assert page.soup.find("input", id="publish_time")["value"] == fields["publish_time"]
        typed_day = fields.get("publish_date", ["10"])[0]
        assert page.soup.find("input", id="publish_date-day").get("value", "") == typed_day
    assert _count(app) == 0


def test_outside_office_hours_says_why_and_what_to_do(app, people, channels):
    page = _try(people["a"], channels, publish_time="8:15pm")
    assert page.status == 400
    assert "outside office hours" in page.text()
    assert "emergency" in page.text()  # what to do: choose a time, or an emergency category


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
# (the test client leaves its spooled 10 MB request body for the garbage collector)
def test_uploads_that_are_not_images_or_too_large_are_refused(app, people, channels):
    page = _try(
        people["a"],
        channels,
        files={"images-0-file": (b"%PDF-1.4 not a picture", "notice.pdf")},
        **{"images-0-alt_text": "The notice"},
    )
    assert page.status == 400
    assert "is not an image" in page.field_error("images-0-file")
    assert page.soup.find("textarea", id="images-0-alt_text").get_text() == "The notice"
    big = _try(
        people["a"],
        channels,
        files={"images-1-file": (b"\x89PNG" + b"\0" * (10 * 1024 * 1024), "huge.png")},
        **{"images-1-alt_text": "Huge"},
    )
    assert "larger than 10 MB" in big.field_error("images-1-file")
    assert _count(app) == 0
    del big
    gc.collect()  # here, under this test's filter, not in a later test


def test_an_image_needs_its_alt_text(app, people, channels):
    page = _try(people["a"], channels, files={"images-0-file": (png(), "map.png")})
    assert page.status == 400
    assert page.field_error("images-0-alt_text") == "Error: Enter alt text for image 1"
    assert "#images-0-alt_text" in page.error_links()


def test_a_disabled_or_unknown_channel_cannot_be_chosen(app, people, channels):
    page = get(people["a"], "/posts/new")
    assert page.soup.find("input", attrs={"value": str(channels["instagram"])}) is None
    # A hand-made form post with the disabled channel's id is refused just the same.
    refused = submit(
        people["a"],
        page,
        {
            "text": CLEAN_TEXT,
            "channels": [str(channels["instagram"])],
            "publish_date": ["10", "3", "2027"],
            "publish_time": "10:30",
        },
        button=("action", "save"),
    )
    assert refused.status == 400
    assert refused.field_error("channels") == "Error: Choose channels from the list."


def test_a_post_form_without_its_csrf_token_is_refused(app, people, channels):
    page = get(people["a"], "/posts/new")
    refused = submit(people["a"], page, {"csrf_token": "forged", "text": CLEAN_TEXT})
    assert refused.status == 400
    assert "form expired" in refused.text()


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("9:30", (9, 30)),
        ("09.30", (9, 30)),
        ("9:30am", (9, 30)),
        ("2pm", (14, 0)),
        ("12am", (0, 0)),
        ("12:15pm", (12, 15)),
        ("23:59", (23, 59)),
    ],
)
def test_times_are_read_as_people_write_them(typed, expected):
    at = parse_time(typed)
    assert (at.hour, at.minute) == expected


@pytest.mark.parametrize("typed", ["", "9", "13pm", "24:00", "9:60", "noon"])
def test_times_that_mean_nothing_are_refused(typed):
    with pytest.raises(ValueError):
        parse_time(typed)

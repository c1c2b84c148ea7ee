"""``POST /posts/check`` on a bilingual form (issue 18): the Welsh text is checked with the
English, each channel's planned posts counted and previewed in both languages, as the submit
plans them (its language, its layout, its own limits); nothing saved, everything escaped."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gateway.extensions import db
from gateway.models import Channel, Post
from tests.web.conftest import CLEAN_TEXT, TOMORROW
from tests.web.helpers import get, submit
from tests.web.test_live_check import _check, _duty_officer

WELSH = "Bydd biniau'n cael eu casglu ddydd Mercher yr wythnos hon oherwydd y gwaith ar y ffordd."
#: A private mobile number in the Welsh text only.
WELSH_BLOCKED = "Ffoniwch Siân ar 07700 900461 os gwelwch chi ei chath."
#: Together over X's 280 (weighted), each within it: two posts on X.
LONG = "c" * 200


@pytest.fixture
def both(app):
    app.config["BILINGUAL"] = "cy-en"
    app.config["BILINGUAL_LAYOUT"] = "combined"


def _body(channels, **extra):
    return {
        "text": CLEAN_TEXT,
        "text_cy": WELSH,
        "channels": [channels["x"], channels["facebook"]],
        "publish_date": TOMORROW["publish_date"],
        "publish_time": TOMORROW["publish_time"],
        **extra,
    }


def test_the_welsh_text_is_checked_with_the_english(app, both, people, channels, clock):
    answer = _check(people["a"], _body(channels, text_cy=WELSH_BLOCKED))
    assert answer["blocked"]
    [finding] = [f for f in answer["findings"] if f["outcome"] == "block"]
    assert finding["language"] == "cy" and "07700 900461" in finding["matched"]
    assert "Welsh text" in answer["html"]["findings"]
    # And the same English text with a clean Welsh one is not.
    assert not _check(people["a"], _body(channels))["blocked"]


def test_each_channels_planned_posts_are_counted_and_previewed_in_both_languages(
    app, both, people, channels, clock
):
    answer = _check(people["a"], _body(channels))
    by_channel = [(c["name"], c["language"]) for c in answer["channels"]]
    assert by_channel == [("Council Facebook Page", "cy+en"), ("Council on X", "cy+en")]
    previews = answer["html"]["previews"]
    assert f'lang="cy">{WELSH}'.replace("'", "&#39;") in previews
    assert f'lang="en">{CLEAN_TEXT}' in previews
    # Too long for one post on X: two posts there, each counted on its own.
    answer = _check(people["a"], _body(channels, text=LONG, text_cy=LONG))
    x = [c for c in answer["channels"] if c["name"] == "Council on X"]
    assert [(c["language"], c["count"]) for c in x] == [("cy", 200), ("en", 200)]
    facebook = [c for c in answer["channels"] if c["name"] == "Council Facebook Page"]
    assert [(c["language"], c["count"]) for c in facebook] == [("cy+en", 402)]
    counts = answer["html"]["counts"]
    assert f'id="count-{channels["x"]}-cy"' in counts and f'id="count-{channels["x"]}-en"' in counts
    assert "Welsh post" in counts and "one post in Welsh and English" in counts


def test_a_channels_own_layout_is_what_the_check_plans(app, both, people, channels, clock):
    with app.app_context():
        db.session.get(Channel, channels["facebook"]).bilingual_layout = "separate"
        db.session.get(Channel, channels["x"]).bilingual_layout = "en-cy"
        db.session.commit()
    answer = _check(people["a"], _body(channels))
    assert [(c["name"], c["language"]) for c in answer["channels"]] == [
        ("Council Facebook Page", "cy"),
        ("Council Facebook Page", "en"),
        ("Council on X", "en+cy"),
    ]


def test_while_only_one_language_is_written_that_one_is_checked(app, both, people, channels, clock):
    # Welsh first on the form: the officer has not reached the English box yet.
    answer = _check(people["a"], _body(channels, text="", text_cy=WELSH_BLOCKED))
    assert answer["blocked"]
    assert {f["language"] for f in answer["findings"]} == {"cy"}
    assert all(c["language"] == "cy" for c in answer["channels"])
    answer = _check(people["a"], _body(channels, text_cy=""))
    assert not answer["blocked"]


def test_the_welsh_text_is_escaped_in_the_fragments(app, both, people, channels, clock):
    hostile = WELSH + ' <img src=x onerror="alert(1)">'
    answer = _check(people["a"], _body(channels, text_cy=hostile))
    for fragment in answer["html"].values():
        assert "<img src=x" not in fragment
    assert "&lt;img src=x" in answer["html"]["previews"]


def test_a_check_saves_nothing(app, both, people, channels, clock):
    _check(people["a"], _body(channels))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Post)) == 0


def test_in_one_language_the_welsh_text_is_ignored(app, people, channels, clock):
    answer = _check(people["a"], _body(channels, text_cy=WELSH_BLOCKED))
    assert not answer["blocked"]
    assert all(c["language"] == "" for c in answer["channels"])


def test_the_emergency_forms_previews_show_both_languages(app, both, channels, clock):
    duty = _duty_officer(app)
    page = get(duty, "/emergency")
    checked = submit(
        duty,
        page,
        {"category": "flooding", "text_cy": WELSH, "text": CLEAN_TEXT},
        button=("action", "check"),
    )
    assert checked.status == 200, checked.errors()
    previews = checked.soup.select_one("#live-previews")
    assert previews.select_one('[lang="cy"]').get_text() == WELSH
    assert previews.select_one('[lang="en"]').get_text() == CLEAN_TEXT
    answer = _check(
        duty,
        {
            "text": CLEAN_TEXT,
            "text_cy": WELSH_BLOCKED,
            "channels": [channels["x"]],
            "emergency": True,
            "emergency_category": "flooding",
        },
    )
    assert answer["blocked"] and answer["channels"][0]["language"] == "cy+en"

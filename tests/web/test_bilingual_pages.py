"""Every page and email that shows a post shows both languages (issue 18): the search results,
the cancel page, the emergency fast-track and review pages, the approval email; each text
marked with its language, in the council's order, escaped."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from gateway.extensions import db
from gateway.models import PolicySetting, Post
from gateway.web.search import ESCAPE, folded_text, like_pattern
from tests.web.conftest import CLEAN_TEXT, TOMORROW
from tests.web.helpers import get, submit

WELSH = "Bydd biniau'n cael eu casglu ddydd Mercher yr wythnos hon oherwydd y gwaith ar y ffordd."
FLOOD_CY = "Rhybudd llifogydd: mae'r afon yn codi. Osgowch ffordd y cei heno."
FLOOD_EN = "Flood warning: the river is rising. Avoid the quayside road tonight."


@pytest.fixture
def both(app):
    app.config["BILINGUAL"] = "cy-en"
    app.config["BILINGUAL_LAYOUT"] = "combined"


def _submitted(people, channels, welsh=WELSH, english=CLEAN_TEXT) -> int:
    a, _ = people["a"], people["b"]  # b signed in first: an approver to email
    fields = {"text_cy": welsh, "text": english, "channels": [str(channels["x"])], **TOMORROW}
    sent = submit(a, get(a, "/posts/new"), fields, button=("action", "submit"))
    assert sent.status == 302, sent.errors()
    return int(sent.response.headers["Location"].split("/")[2])


def _in_order(node):
    return [(p["lang"], p.get_text(" ", strip=True)) for p in node.select("[lang]")]


def test_search_finds_a_welsh_word_and_shows_both_texts(app, both, people, channels):
    post_id = _submitted(people, channels)
    page = get(people["b"], "/posts?q=casglu")
    [row] = page.soup.select("tbody tr")
    link = row.select_one("a")
    assert link["href"].endswith(f"/posts/{post_id}")
    # Welsh first, as the council chose.
    assert [lang for lang, _ in _in_order(link)] == ["cy", "en"]
    assert _in_order(link)[0][1].startswith("Bydd biniau")
    # An English word finds it too; a word in neither does not.
    assert len(get(people["b"], "/posts?q=roadworks").soup.select("tbody tr")) == 1
    assert get(people["b"], "/posts?q=llyfrgell").soup.select("tbody tr") == []


def test_search_results_escape_the_welsh_text(app, both, people, channels):
    _submitted(people, channels, welsh="<b>Casglu</b> " + WELSH)
    page = get(people["b"], "/posts?q=casglu")
    cell = page.soup.select_one("tbody tr a")
    assert cell.select("b") == [] and "<b>Casglu</b>" in cell.get_text()


def test_the_cancel_page_shows_both_texts(app, both, people, channels):
    post_id = _submitted(people, channels)
    page = get(people["a"], f"/posts/{post_id}/cancel")
    texts = dict(_in_order(page.soup.select_one("main dl")))
    assert texts["cy"].startswith("Bydd biniau") and texts["en"] == CLEAN_TEXT


def test_the_approval_email_carries_both_texts_in_order(app, both, people, channels, inbox):
    _submitted(people, channels)
    [mail] = inbox.to(people.emails["b"])
    body = mail.get_content().replace("\r\n", "\n")
    assert f"Welsh:\n{WELSH}" in body and f"English:\n{CLEAN_TEXT}" in body
    assert body.index("Welsh:") < body.index("English:")


def _emergency(people, channels):
    duty = people["duty"]
    fields = {"category": "flooding", "text_cy": FLOOD_CY, "text": FLOOD_EN}
    sent = submit(duty, get(duty, "/emergency"), fields, button=("action", "publish"))
    assert sent.status == 302, sent.errors()
    return duty, sent.response.headers["Location"]


def test_the_fast_track_page_shows_both_texts(app, both, people, channels, clock):
    duty, location = _emergency(people, channels)  # office hours: fast-track approval
    assert location.endswith("/fast-track")
    page = get(duty, location)
    assert _in_order(page.soup.select_one("#post-text")) == [("cy", FLOOD_CY), ("en", FLOOD_EN)]


def test_the_review_list_shows_both_texts(app, both, people, channels, clock):
    with app.app_context():
        db.session.add(PolicySetting(key="emergency_in_hours", value="at_once"))
        db.session.commit()
    _emergency(people, channels)  # out at once, reviewed the next working day
    page = get(people["a"], "/emergency/reviews")
    card = page.soup.select_one(".govuk-summary-card__content")
    assert _in_order(card) == [("cy", FLOOD_CY), ("en", FLOOD_EN)]
    with app.app_context():
        assert db.session.scalar(select(Post.text_cy)) == FLOOD_CY


def test_postgresql_can_answer_welsh_words_from_their_trigram_index(app, both, people, channels):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the trigram index is PostgreSQL's")
        statement = (
            db.select(Post.id)
            .where(folded_text(Post.text_cy).like(like_pattern("casglu"), escape=ESCAPE))
            .compile(db.engine, compile_kwargs={"literal_binds": True})
        )
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(db.session.scalars(text(f"EXPLAIN {statement}")))
        assert "ix_posts_text_cy_trgm" in plan, plan


def test_each_preview_shows_the_alt_text_its_post_sends(app, both, people, channels):
    from tests.web.conftest import png

    app.config["BILINGUAL_LAYOUT"] = "separate"
    a = people["a"]
    fields = {
        "text_cy": WELSH,
        "text": CLEAN_TEXT,
        "channels": [str(channels["x"])],
        "images-0-alt_text": "A green wheelie bin at the kerb",
        "images-0-alt_text_cy": "Bin olwynion gwyrdd wrth ymyl y palmant",
        **TOMORROW,
    }
    saved = submit(
        a,
        get(a, "/posts/new"),
        fields,
        files={"images-0-file": (png(), "bins.png")},
        button=("action", "save"),
    )
    assert saved.status == 302, saved.errors()
    post_id = int(
        saved.response.headers["Location"].removesuffix("/edit").rstrip("/").split("/")[-1]
    )
    page = get(a, f"/posts/{post_id}")
    previews = {
        p.select_one("h3")["id"]: [img["alt"] for img in p.select(".app-post-preview__image")]
        for p in page.soup.select(".app-channel-preview")
    }
    x = channels["x"]
    assert previews[f"preview-{x}-cy"] == ["Bin olwynion gwyrdd wrth ymyl y palmant"]
    assert previews[f"preview-{x}-en"] == ["A green wheelie bin at the kerb"]


def test_the_schedule_shows_what_each_delivery_sends(app, both, people, channels):
    app.config["BILINGUAL_LAYOUT"] = "separate"
    _submitted(people, channels, welsh="Casglu biniau <b>dydd Mercher</b>")
    page = get(people["a"], "/schedule?start=2027-03-08")
    cells = page.soup.select(".app-calendar__post a")
    shown = sorted(
        (span["lang"], span.get_text()) for cell in cells for span in cell.select("[lang]")
    )
    assert shown == [
        ("cy", "Casglu biniau <b>dydd Mercher</b>"),
        ("en", "Bins are collected on Wednesday this..."),
    ]
    assert all(cell.select("b") == [] for cell in cells)  # escaped

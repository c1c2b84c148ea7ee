"""Hidden characters are refused at the door, before a form, a sign-in or the database sees
them (issue 19, "Injection and escaping"). NUL was a 500 on PostgreSQL before this check."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gateway.domain.hidden_characters import hidden_characters, shown_safely
from gateway.extensions import db
from gateway.models import Post
from tests.web.conftest import CLEAN_TEXT, TOMORROW
from tests.web.helpers import get, submit

HIDDEN = {
    "nul": ("\x00", "U+0000 NULL"),
    "ansi-escape": ("\x1b[31m", "U+001B ESCAPE"),
    "right-to-left-override": ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    "first-strong-isolate": ("\u2068", "U+2068 FIRST STRONG ISOLATE"),
    "delete": ("\x7f", "U+007F DELETE"),
    "c1-next-line": ("\x85", "U+0085"),
}


def _posts(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Post))


@pytest.mark.parametrize("key", HIDDEN, ids=list(HIDDEN))
def test_a_post_with_a_hidden_character_is_refused_naming_it_and_nothing_is_saved(
    app, people, channels, key
):
    char, label = HIDDEN[key]
    a = people["a"]
    page = get(a, "/posts/new")
    fields = {"text": f"{CLEAN_TEXT} {char}x", "channels": [str(channels["x"])], **TOMORROW}
    response = submit(a, page, fields, button=("action", "draft"))
    assert response.status == 400
    text = response.text()
    assert label in text and "text" in text and "Nothing was saved" in text
    assert char not in response.html
    assert _posts(app) == 0


def test_tabs_and_new_lines_are_kept(app, people, channels):
    a = people["a"]
    page = get(a, "/posts/new")
    text = "Bins:\n\tMonday\r\n\tTuesday, with the left-to-right mark \u200e kept."
    fields = {"text": text, "channels": [str(channels["x"])], **TOMORROW}
    assert submit(a, page, fields, button=("action", "draft")).status == 302
    with app.app_context():
        assert db.session.scalars(select(Post)).one().text.replace("\r\n", "\n") == text.replace(
            "\r\n", "\n"
        )


def test_a_hidden_character_in_a_query_or_a_sign_in_is_refused(app, people, client):
    assert people["auditor"].get("/audit/?q=a%00b").status_code == 400
    page = client.get("/sign-in")
    assert page.status_code == 200
    response = client.post("/sign-in", data={"email": "a\u202e@example.org", "password": "x"})
    assert response.status_code == 400
    assert "U+202E" in response.get_data(as_text=True)


def test_a_lone_surrogate_in_a_json_body_is_refused_not_a_500(app, people, channels):
    response = people["a"].post(
        "/posts/new", data=b'{"text": "a\\ud800b"}', content_type="application/json"
    )
    assert response.status_code == 400
    assert "lone surrogate" in response.get_data(as_text=True)


def test_the_field_name_is_quoted_without_its_hidden_characters(app, people):
    response = people["a"].get("/?na\u202eme=1")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "\u202e" not in body and "na\ufffdme" in body


def test_the_rule_itself():
    found = hidden_characters("a\x00b\u202ec\x1b[d\ud800 e\u200e\n\tf")
    assert [h.codepoint for h in found] == [0x00, 0x202E, 0x1B, 0xD800]
    assert [h.position for h in found] == [1, 3, 5, 8]
    assert shown_safely("x\u202ey" * 100, limit=4) == "x\ufffdyx"

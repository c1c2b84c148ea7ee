"""Posts in Welsh and English on the officers' pages (issue 18): both texts required, both
checked, one approval for both, both shown side by side."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gateway.audit import content_of
from gateway.domain.fingerprint import fingerprint
from gateway.domain.statuses import DeliveryStatus, PostStatus
from gateway.extensions import db
from gateway.models import Approval, Channel, Post
from tests.web.conftest import CLEAN_TEXT, TOMORROW, png
from tests.web.helpers import get, submit

WELSH = "Bydd biniau'n cael eu casglu ddydd Mercher yr wythnos hon oherwydd y gwaith ar y ffordd."
#: A private mobile number in the Welsh text only: the personal-data rule does not depend on
#: the language.
WELSH_BLOCKED = "Ffoniwch Siân ar 07700 900461 os gwelwch chi ei chath."


@pytest.fixture
def both(app):
    app.config["BILINGUAL"] = "cy-en"
    app.config["BILINGUAL_LAYOUT"] = "combined"


def _fields(channels, **extra):
    fields = {
        "text_cy": WELSH,
        "text": CLEAN_TEXT,
        "channels": [str(channels["x"]), str(channels["facebook"])],
    }
    fields.update(TOMORROW)
    fields.update(extra)
    return fields


def _new(client, channels, button="save", files=None, **extra):
    page = get(client, "/posts/new")
    return submit(client, page, _fields(channels, **extra), files=files, button=("action", button))


def _post_id(response) -> int:
    location = response.response.headers["Location"].removesuffix("/edit")
    return int(location.rstrip("/").split("/")[-1])


def test_the_form_has_a_welsh_and_an_english_text_marked_with_their_languages(
    app, both, people, channels, clock
):
    page = get(people["a"], "/posts/new")
    welsh, english = page.soup.select_one("#text_cy"), page.soup.select_one("#text")
    assert welsh["lang"] == "cy" and english["lang"] == "en"
    # Welsh first by default, in the form as in the post.
    textareas = [t["id"] for t in page.soup.select("main form textarea")]
    assert textareas.index("text_cy") < textareas.index("text")
    assert page.soup.select_one("#images-0-alt_text_cy")["lang"] == "cy"
    assert page.soup.select_one("#images-0-alt_text")["lang"] == "en"


def test_english_first_when_the_council_chooses_it(app, both, people, channels, clock):
    app.config["BILINGUAL"] = "en-cy"
    page = get(people["a"], "/posts/new")
    textareas = [t["id"] for t in page.soup.select("main form textarea")]
    assert textareas.index("text") < textareas.index("text_cy")


def test_without_the_setting_the_form_is_in_one_language(app, people, channels, clock):
    page = get(people["a"], "/posts/new")
    assert page.soup.select_one("#text_cy") is None
    assert page.soup.select_one("#images-0-alt_text_cy") is None


def test_both_texts_are_required_and_nothing_is_lost(app, both, people, channels, clock):
    a = people["a"]
    missing = _new(a, channels, text_cy="")
    assert missing.status == 400
    assert missing.field_error("text_cy") == "Error: Enter the Welsh text of the post"
    # What was typed is kept.
    assert CLEAN_TEXT in missing.soup.select_one("#text").get_text()
    no_english = _new(a, channels, text="")
    assert no_english.status == 400
    assert no_english.field_error("text") == "Error: Enter the English text of the post"
    with app.app_context():
        assert db.session.scalars(select(Post)).all() == []


def test_each_image_needs_welsh_and_english_alt_text(app, both, people, channels, clock):
    a = people["a"]
    page = _new(
        a,
        channels,
        files={"images-0-file": (png(), "bins.png")},
        **{"images-0-alt_text": "A green wheelie bin at the kerb"},
    )
    assert page.status == 400
    assert page.field_error("images-0-alt_text_cy") == ("Error: Enter Welsh alt text for image 1")
    saved = _new(
        a,
        channels,
        files={"images-0-file": (png(), "bins.png")},
        **{
            "images-0-alt_text": "A green wheelie bin at the kerb",
            "images-0-alt_text_cy": "Bin olwynion gwyrdd wrth ymyl y palmant",
        },
    )
    assert saved.status == 302, saved.errors()
    with app.app_context():
        [image] = db.session.get(Post, _post_id(saved)).images
        assert image.alt_text_cy == "Bin olwynion gwyrdd wrth ymyl y palmant"
        assert image.alt_text == "A green wheelie bin at the kerb"


def test_the_guardrails_check_the_welsh_text_and_say_so(app, both, people, channels, clock):
    blocked = _new(people["a"], channels, button="submit", text_cy=WELSH_BLOCKED)
    assert blocked.status == 400
    assert any("cannot be submitted" in e for e in blocked.errors())
    assert any(e.startswith("Blocked: Welsh text:") for e in blocked.errors()), blocked.errors()
    finding = blocked.soup.select_one("#finding-1")
    assert "(Welsh text)" in finding.get_text()
    assert finding.select_one('span[lang="cy"]').get_text() == "07700 900461"
    with app.app_context():
        assert db.session.scalars(select(Post)).all() == []


def test_one_approval_covers_both_and_an_edit_of_either_sends_it_back(
    app, both, people, channels, clock
):
    a, b = people["a"], people["b"]
    sent = _new(a, channels, button="submit")
    assert sent.status == 302, sent.errors()
    post_id = _post_id(sent)
    approved = submit(b, get(b, f"/posts/{post_id}"), action=f"/posts/{post_id}/approve")
    assert approved.status == 302
    with app.app_context():
        post = db.session.get(Post, post_id)
        assert post.status == PostStatus.APPROVED.value
        [approval] = [a for a in post.approvals if a.decision == "approved"]
        content = content_of(post)
        assert approval.fingerprint == fingerprint(content)
        assert content["text_cy"] == WELSH and content["text"] == CLEAN_TEXT
        # Short enough for one bilingual post on each platform, Welsh first.
        assert sorted(d.language for d in post.deliveries) == ["cy+en", "cy+en"]
        assert {d.status for d in post.deliveries} == {DeliveryStatus.SCHEDULED.value}
    # Only the Welsh changes: the post is a draft again and its approval no longer counts.
    edit = get(a, f"/posts/{post_id}/edit")
    assert WELSH in edit.soup.select_one("#text_cy").get_text()
    changed = submit(a, edit, {"text_cy": WELSH + " Diolch."}, button=("action", "save"))
    assert changed.status == 302, changed.errors()
    with app.app_context():
        post = db.session.get(Post, post_id)
        assert post.status == PostStatus.DRAFT.value
        assert post.text == CLEAN_TEXT and post.text_cy.endswith("Diolch.")
        assert not db.session.scalars(
            select(Approval).where(Approval.post_id == post_id, Approval.current.is_(True))
        ).all()
        assert fingerprint(content_of(post)) != approval.fingerprint


def test_the_post_page_shows_both_texts_side_by_side(app, both, people, channels, clock):
    a = people["a"]
    post_id = _post_id(_new(a, channels))
    page = get(a, f"/posts/{post_id}")
    columns = page.soup.select("#post-texts > .govuk-grid-column-one-half")
    assert [c.h3.get_text() for c in columns] == ["Welsh", "English"]
    assert page.soup.select_one("#post-text-cy")["lang"] == "cy"
    assert page.soup.select_one("#post-text-cy").get_text() == WELSH
    assert page.soup.select_one("#post-text-en")["lang"] == "en"
    assert page.soup.h1["lang"] == "cy"
    # The previews show each platform's bilingual layout with its count.
    preview = page.soup.select_one(f"#preview-{channels['x']}-cy-en")
    assert "one post in Welsh and English" in preview.get_text()
    section = preview.find_parent("div", class_="app-channel-preview")
    assert [p["lang"] for p in section.select("p[lang]")] == ["cy", "en"]
    assert "of 280 characters" in section.get_text()


def test_a_pair_over_xs_limit_goes_as_two_posts_on_x_and_one_on_facebook(
    app, both, people, channels, clock
):
    a = people["a"]
    welsh = WELSH + " " + "Mae rhagor o wybodaeth ar ein gwefan, gan gynnwys y dyddiadau newydd."
    english = CLEAN_TEXT + " " + "More about the new collection days is on our website today."
    post_id = _post_id(_new(a, channels, text_cy=welsh, text=english))
    with app.app_context():
        post = db.session.get(Post, post_id)
        by_channel = sorted((d.channel.platform, d.language) for d in post.deliveries)
    assert by_channel == [("facebook", "cy+en"), ("x", "cy"), ("x", "en")]
    page = get(a, f"/posts/{post_id}")
    assert page.soup.select_one(f"#preview-{channels['x']}-cy")["id"]
    assert page.soup.select_one(f"#preview-{channels['x']}-en")["id"]
    text = page.soup.select_one("#delivery-" + str(post.deliveries[0].id)).get_text(" ")
    assert "Welsh" in text


def test_separate_language_channels_each_get_their_own_language(app, both, people, channels, clock):
    with app.app_context():
        db.session.get(Channel, channels["x"]).language = "cy"
        db.session.get(Channel, channels["facebook"]).language = "en"
        db.session.commit()
    post_id = _post_id(_new(people["a"], channels))
    with app.app_context():
        post = db.session.get(Post, post_id)
        assert sorted((d.channel.platform, d.language) for d in post.deliveries) == [
            ("facebook", "en"),
            ("x", "cy"),
        ]


def test_the_separate_layout_always_makes_two_posts(app, both, people, channels, clock):
    app.config["BILINGUAL_LAYOUT"] = "separate"
    post_id = _post_id(_new(people["a"], channels))
    with app.app_context():
        post = db.session.get(Post, post_id)
        assert sorted((d.channel.platform, d.language) for d in post.deliveries) == [
            ("facebook", "cy"),
            ("facebook", "en"),
            ("x", "cy"),
            ("x", "en"),
        ]

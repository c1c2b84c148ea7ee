"""Admin > Emergency templates (issue 18): a prepared Welsh and English text per emergency
category, checked by the guardrails when saved and on the record; the duty officer's emergency
form starts from it with both texts filled in."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from gateway.extensions import db
from gateway.models import AuditEntry, EmergencyTemplate
from tests.web.helpers import get, submit

WELSH = "Rhybudd llifogydd: mae'r afon yn codi. Osgowch ffordd y cei heno."
ENGLISH = "Flood warning: the river is rising. Avoid the quayside road tonight."
URL = "/admin/emergency-templates/flooding"


@pytest.fixture
def both(app):
    app.config["BILINGUAL"] = "cy-en"
    app.config["BILINGUAL_LAYOUT"] = "combined"


def _entries(app, action):
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        ).all()
        assert all(r.object_type == "emergency_template" for r in rows)
        return [json.loads(bytes(r.leaf)) for r in rows]


def _saved(app):
    with app.app_context():
        return {
            t.category: (t.text_cy, t.text_en)
            for t in db.session.scalars(select(EmergencyTemplate)).all()
        }


def test_an_admin_keeps_a_welsh_and_english_template_on_the_record(app, both, people):
    admin = people["admin"]
    listing = get(admin, "/admin/emergency-templates")
    assert "Flooding" in listing.text() and "None yet" in listing.text()
    page = get(admin, URL)
    # Welsh first, as the council chose, each box marked with its language.
    boxes = [t["id"] for t in page.soup.select("main form textarea")]
    assert boxes == ["text_cy", "text"]
    assert page.soup.select_one("#text_cy")["lang"] == "cy"
    missing = submit(admin, page, {"text": ENGLISH}, action=URL)
    assert missing.status == 400
    assert "Enter the Welsh text of the template" in missing.errors()
    assert _saved(app) == {}
    saved = submit(admin, page, {"text_cy": WELSH, "text": ENGLISH}, action=URL)
    assert saved.status == 302
    assert _saved(app) == {"flooding": (WELSH, ENGLISH)}
    [entry] = _entries(app, "emergency_template.changed")
    assert entry["payload"]["text_cy"] == WELSH and entry["payload"]["text_en"] == ENGLISH
    assert entry["payload"]["previous"] is None
    # Both texts shown side by side on the list, each marked with its language.
    listing = get(admin, "/admin/emergency-templates")
    row = listing.soup.select_one("#template-flooding")
    assert row.select_one('[lang="cy"]').get_text() == WELSH
    assert row.select_one('[lang="en"]').get_text() == ENGLISH
    # A change keeps the previous texts in the log; saving the same again writes nothing.
    page = get(admin, URL)
    assert page.soup.select_one("#text_cy").get_text().strip() == WELSH
    changed = submit(admin, page, {"text": ENGLISH + " Call 101."}, action=URL)
    assert changed.status == 302
    again = submit(admin, get(admin, URL), action=URL)
    assert again.status == 302
    entries = _entries(app, "emergency_template.changed")
    assert len(entries) == 2
    assert entries[1]["payload"]["previous"] == {"text_cy": WELSH, "text_en": ENGLISH}


def test_a_template_the_guardrails_would_stop_is_not_saved_and_the_findings_are_shown(
    app, both, people
):
    admin = people["admin"]
    # A private mobile number in the Welsh text only: personal data, whichever the language.
    welsh = "Ffoniwch Siân ar 07700 900461 os yw'r dŵr yn codi."
    refused = submit(admin, get(admin, URL), {"text_cy": welsh, "text": ENGLISH}, action=URL)
    assert refused.status == 400
    findings = refused.soup.select_one("#template-findings").get_text(" ")
    assert "07700 900461" in findings and "Welsh text" in findings
    assert _saved(app) == {}
    assert _entries(app, "emergency_template.changed") == []


def test_the_texts_are_escaped(app, both, people):
    admin = people["admin"]
    hostile = ENGLISH + " <script>alert(1)</script>"
    assert (
        submit(admin, get(admin, URL), {"text_cy": WELSH, "text": hostile}, action=URL).status
        == 302
    )
    listing = get(admin, "/admin/emergency-templates")
    assert "<script>alert(1)</script>" not in listing.html
    assert "&lt;script&gt;" in listing.html


def test_in_one_language_the_template_has_one_text(app, people):
    admin = people["admin"]
    page = get(admin, URL)
    assert [t["id"] for t in page.soup.select("main form textarea")] == ["text"]
    assert submit(admin, page, {"text": ENGLISH}, action=URL).status == 302
    assert _saved(app) == {"flooding": ("", ENGLISH)}


def test_deleting_a_template_is_recorded(app, both, people):
    admin = people["admin"]
    submit(admin, get(admin, URL), {"text_cy": WELSH, "text": ENGLISH}, action=URL)
    page = get(admin, URL)
    deleted = submit(admin, page, action=f"{URL}/delete")
    assert deleted.status == 302
    assert _saved(app) == {}
    [entry] = _entries(app, "emergency_template.removed")
    assert entry["payload"]["previous"] == {"text_cy": WELSH, "text_en": ENGLISH}


@pytest.mark.parametrize("who", ["a", "duty", "mo", "auditor"])
def test_only_an_admin_sees_or_changes_the_templates(app, both, people, who):
    client = people[who]
    assert client.get("/admin/emergency-templates").status_code == 403
    assert client.get(URL).status_code == 403
    response = client.post(URL, data={"text_cy": WELSH, "text": ENGLISH})
    assert response.status_code in (400, 403)
    assert client.post(f"{URL}/delete").status_code in (400, 403)
    assert _saved(app) == {}


def test_a_post_without_the_csrf_token_is_refused(app, both, people):
    response = people["admin"].post(URL, data={"text_cy": WELSH, "text": ENGLISH})
    assert response.status_code == 400
    assert _saved(app) == {}


def test_an_unknown_category_is_not_found(people):
    assert people["admin"].get("/admin/emergency-templates/alien_invasion").status_code == 404


def test_the_emergency_form_starts_from_the_template_with_both_texts(app, both, people, channels):
    admin = people["admin"]
    submit(admin, get(admin, URL), {"text_cy": WELSH, "text": ENGLISH}, action=URL)
    duty = people["duty"]
    form = get(duty, "/emergency")
    offered = form.soup.select_one("#emergency-templates")
    assert offered is not None
    [link] = offered.select("a")
    assert link.get_text(strip=True) == "Flooding"
    started = get(duty, link["href"])
    assert started.soup.select_one("#text_cy").get_text().strip() == WELSH
    assert started.soup.select_one("#text").get_text().strip() == ENGLISH
    chosen = started.soup.select_one('input[name="category"][checked]')
    assert chosen["value"] == "flooding"
    # The filled-in form is the real one: checking it sends both texts as they stand.
    checked = submit(duty, started, button=("action", "check"))
    assert checked.status == 200, checked.errors()
    assert checked.soup.select_one("#text_cy").get_text().strip() == WELSH


def test_no_templates_no_offer(app, both, people, channels):
    page = get(people["duty"], "/emergency")
    assert page.soup.select_one("#emergency-templates") is None
    # A category without a template fills nothing in.
    page = get(people["duty"], "/emergency?template=flooding")
    assert page.soup.select_one("#text_cy").get_text().strip() == ""

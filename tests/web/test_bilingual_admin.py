"""An admin marks each channel Welsh-only, English-only or for both (issue 18), on the record."""

from __future__ import annotations

import json

from sqlalchemy import select

from gateway.extensions import db
from gateway.models import AuditEntry, Channel
from tests.web.helpers import get, submit


def _audit(app, action):
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        return [json.loads(bytes(r.leaf)) for r in rows]


def test_a_new_channel_takes_both_languages_unless_the_admin_chooses_one(app, people):
    admin = people["admin"]
    form = get(admin, "/admin/channels/new")
    fields = {
        "platform": "facebook",
        "display_name": "Cyngor ar Facebook",
        "external_account_id": "104000000000009",
        "access_token": "token-for-the-welsh-page",
        "language": "cy",
    }
    added = submit(admin, form, fields)
    assert added.status == 302
    get(admin, added.response.location)  # shows its flash message
    assert (
        submit(
            admin,
            form,
            {
                **fields,
                "display_name": "Council on Facebook",
                "external_account_id": "1040001",
                "language": "both",
            },
        ).status
        == 302
    )
    with app.app_context():
        rows = db.session.scalars(select(Channel).order_by(Channel.id)).all()
        assert [(c.display_name, c.language) for c in rows] == [
            ("Cyngor ar Facebook", "cy"),
            ("Council on Facebook", ""),
        ]
        welsh_id = rows[0].id
    [created, _] = _audit(app, "channel.created")
    assert created["payload"]["language"] == "cy"
    page = get(admin, f"/admin/channels/{welsh_id}")
    assert "Welsh only" in page.text()


def test_changing_a_channels_language_is_recorded(app, people, channels):
    admin = people["admin"]
    page = get(admin, f"/admin/channels/{channels['x']}")
    assert "Welsh and English" in page.text()
    changed = submit(
        admin, page, {"language": "en"}, action=f"/admin/channels/{channels['x']}/language"
    )
    assert changed.status == 302
    with app.app_context():
        assert db.session.get(Channel, channels["x"]).language == "en"
    [entry] = _audit(app, "channel.language_changed")
    assert entry["payload"] == {"language": "en", "previous": ""}
    again = submit(
        admin,
        get(admin, f"/admin/channels/{channels['x']}"),
        {"language": "en"},
        action=f"/admin/channels/{channels['x']}/language",
    )
    assert again.status == 302 and len(_audit(app, "channel.language_changed")) == 1
    bad = submit(
        admin, page, {"language": "fr"}, action=f"/admin/channels/{channels['x']}/language"
    )
    assert bad.status == 400


def test_only_an_admin_changes_a_channels_language(app, people, channels):
    officer = people["a"]
    response = officer.post(f"/admin/channels/{channels['x']}/language", data={"language": "cy"})
    assert response.status_code in (400, 403)
    with app.app_context():
        assert db.session.get(Channel, channels["x"]).language == ""


def test_an_admin_chooses_a_channels_own_bilingual_layout_on_the_record(app, people, channels):
    admin = people["admin"]
    url = f"/admin/channels/{channels['x']}"
    page = get(admin, url)
    assert "As the gateway is set" in page.text()
    changed = submit(admin, page, {"bilingual_layout": "en-cy"}, action=f"{url}/bilingual-layout")
    assert changed.status == 302
    with app.app_context():
        assert db.session.get(Channel, channels["x"]).bilingual_layout == "en-cy"
    [entry] = _audit(app, "channel.bilingual_layout_changed")
    assert entry["payload"] == {"bilingual_layout": "en-cy", "previous": ""}
    page = get(admin, url)
    assert "One bilingual post, English first" in page.text()
    back = submit(
        admin, page, {"bilingual_layout": "installation"}, action=f"{url}/bilingual-layout"
    )
    assert back.status == 302
    with app.app_context():
        assert db.session.get(Channel, channels["x"]).bilingual_layout == ""
    bad = submit(admin, page, {"bilingual_layout": "fr-en"}, action=f"{url}/bilingual-layout")
    assert bad.status == 400
    assert len(_audit(app, "channel.bilingual_layout_changed")) == 2


def test_a_channel_kept_for_one_language_has_no_layout_to_choose(app, people, channels):
    with app.app_context():
        db.session.get(Channel, channels["x"]).language = "cy"
        db.session.commit()
    page = get(people["admin"], f"/admin/channels/{channels['x']}")
    assert page.soup.select_one('input[name="bilingual_layout"]') is None


def test_only_an_admin_changes_a_channels_layout(app, people, channels):
    officer = people["a"]
    response = officer.post(
        f"/admin/channels/{channels['x']}/bilingual-layout", data={"bilingual_layout": "separate"}
    )
    assert response.status_code in (400, 403)
    with app.app_context():
        assert db.session.get(Channel, channels["x"]).bilingual_layout == ""

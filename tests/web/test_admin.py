"""Admin pages: channels (credentials encrypted, never shown), elections, the register import
with its preview, allowed contacts and closure days; each change audited (issue 6)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from fakeplatform.client import FakePlatformControl
from fakeplatform.server import serve_in_thread
from gateway.credentials import decrypt_credentials
from gateway.extensions import db
from gateway.models import AllowedContact, AuditEntry, Channel, ClosureDay, Election, RegisterPerson
from tests.platforms.accounts import PAGE_ID, PAGE_TOKEN
from tests.web.helpers import get, submit

REGISTER = "name,party,role,ward\nAda Lovelace,Independent,councillor,Abbey\n"


def _audit(app, action):
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        return [json.loads(bytes(r.leaf)) for r in rows]


@pytest.fixture(scope="module")
def fake_server():
    base_url, stop = serve_in_thread()
    yield base_url
    stop()


def test_add_a_channel_test_it_and_disable_it(app, people, fake_server):
    admin = people["admin"]
    # The fake platform is on loopback: allowed by name, as in training (issue #20).
    app.config["PLATFORM_ALLOWED_HOSTS"] = ("127.0.0.1",)
    with FakePlatformControl(fake_server) as control:
        control.reset()
        control.register_account("facebook", PAGE_ID, {"access_token": PAGE_TOKEN}, name="Anytown")
        form = get(admin, "/admin/channels/new")
        missing = submit(
            admin,
            form,
            {
                "platform": "facebook",
                "display_name": "Anytown Page",
                "external_account_id": PAGE_ID,
            },
        )
        assert missing.status == 400
        assert missing.field_error("access_token") == "Error: Enter the access token"
        added = submit(
            admin,
            form,
            {
                "platform": "facebook",
                "display_name": "Anytown Page",
                "external_account_id": PAGE_ID,
                "base_url": fake_server,
                "access_token": PAGE_TOKEN,
            },
        )
        assert added.status == 302
        with app.app_context():
            channel = db.session.scalars(select(Channel)).one()
            channel_id = channel.id
            assert PAGE_TOKEN.encode() not in bytes(channel.credentials_encrypted)
            assert decrypt_credentials(channel.id, channel.credentials_encrypted) == {
                "access_token": PAGE_TOKEN
            }
        page = get(admin, f"/admin/channels/{channel_id}")
        assert PAGE_TOKEN not in page.html
        tested = submit(admin, page, action=f"/admin/channels/{channel_id}/test")
        assert tested.status == 302
        assert "Anytown" in get(admin, f"/admin/channels/{channel_id}").text()

        # A revoked token: the test says so, in the platform's words, without the token.
        control.register_account("facebook", PAGE_ID, {"access_token": "a-new-token"}, name="A")
        failed = submit(admin, page, action=f"/admin/channels/{channel_id}/test")
        assert failed.status == 400
        assert "refused the connection" in " ".join(failed.errors())
        reconnected = submit(
            admin,
            page,
            {"access_token": "a-new-token"},
            action=f"/admin/channels/{channel_id}/reconnect",
        )
        assert reconnected.status == 302
        ok = submit(
            admin,
            get(admin, f"/admin/channels/{channel_id}"),
            action=f"/admin/channels/{channel_id}/test",
        )
        assert ok.status == 302

    disabled = submit(admin, page, action=f"/admin/channels/{channel_id}/enabled")
    assert disabled.status == 302
    with app.app_context():
        assert db.session.get(Channel, channel_id).enabled is False
    # Every change is in the log, and no credential is.
    for action in ("channel.created", "channel.reconnected", "channel.disabled"):
        assert _audit(app, action), action
    with app.app_context():
        leaves = b"".join(bytes(r.leaf) for r in db.session.scalars(select(AuditEntry)))
    assert PAGE_TOKEN.encode() not in leaves and b"a-new-token" not in leaves


def test_register_import_shows_bad_rows_and_imports_only_when_confirmed(app, people):
    admin = people["admin"]
    page = get(admin, "/admin/register")
    bad = submit(
        admin,
        page,
        {
            "csv_text": "name,party,role,ward\nAda Lovelace,Independent,councillor,Abbey\n"
            "R2 D2,Green,councillor,Mill\n,Green,candidate,Mill\n"
        },
        action="/admin/register/preview",
    )
    assert bad.status == 400
    problems = bad.soup.select_one("#problems").get_text(" ")
    assert "line 3" in problems and "contains digits" in problems
    assert "line 4" in problems and "name is empty" in problems
    with app.app_context():
        assert db.session.scalars(select(RegisterPerson)).all() == []

    preview = submit(admin, page, {"csv_text": REGISTER}, action="/admin/register/preview")
    assert preview.status == 200
    assert "Ada Lovelace" in preview.soup.select_one("#added").find_next("table").get_text()
    with app.app_context():
        assert db.session.scalars(select(RegisterPerson)).all() == []  # not yet
    # A confirm whose CSV was changed after the preview is refused.
    tampered = submit(
        admin,
        preview,
        {"csv_text": REGISTER + "Eve Sly,Green,candidate,Mill\n"},
        action="/admin/register/import",
    )
    assert tampered.status == 400
    done = submit(admin, preview, action="/admin/register/import")
    assert done.status == 302
    with app.app_context():
        names = db.session.scalars(select(RegisterPerson.name)).all()
    assert names == ["Ada Lovelace"]
    assert _audit(app, "register.imported")[0]["payload"]["added"] == 1


def test_an_uploaded_register_file_is_previewed_too(app, people):
    admin = people["admin"]
    page = get(admin, "/admin/register")
    preview = submit(
        admin,
        page,
        files={"csv_file": (REGISTER.encode(), "register.csv")},
        action="/admin/register/preview",
    )
    assert preview.status == 200 and "Ada Lovelace" in preview.text()


def test_elections_are_checked_like_the_guardrails_check_them(app, people):
    admin = people["admin"]
    page = get(admin, "/admin/elections/new")
    by_election = submit(
        admin, page, {"kind": "by-election", "polling_day": ["6", "5", "2027"], "wards": ""}
    )
    assert by_election.status == 400
    assert "ward" in by_election.field_error("wards")
    late_notice = submit(
        admin,
        page,
        {
            "kind": "local",
            "polling_day": ["6", "5", "2027"],
            "notice_published": ["7", "5", "2027"],
        },
    )
    assert late_notice.status == 400
    assert "cannot come after polling day" in late_notice.field_error("notice_published-day")
    saved = submit(admin, page, {"kind": "local", "polling_day": ["6", "5", "2027"]})
    assert saved.status == 302
    listing = get(admin, "/admin/elections")
    assert "Start assumed" in listing.text()
    with app.app_context():
        election_id = db.session.scalars(select(Election.id)).one()
    edit = get(admin, f"/admin/elections/{election_id}")
    assert edit.soup.find("input", id="polling_day-day")["value"] == "06"
    submit(admin, edit, {"notice_published": ["29", "3", "2027"]})
    assert "Start assumed" not in get(admin, "/admin/elections").text()
    assert _audit(app, "election.created") and _audit(app, "election.changed")
    deleted = submit(
        admin, get(admin, "/admin/elections"), action=f"/admin/elections/{election_id}/delete"
    )
    assert deleted.status == 302
    with app.app_context():
        assert db.session.scalars(select(Election)).all() == []
    [entry] = _audit(app, "election.deleted")
    assert entry["payload"]["polling_day"] == "2027-05-06"
    get(admin, f"/admin/elections/{election_id}", status=404)


def test_contacts_and_closure_days(app, people):
    admin = people["admin"]
    page = get(admin, "/admin/contacts")
    bad = submit(admin, page, {"kind": "phone", "value": "call us"}, selector="#add-contact")
    assert bad.status == 400 and "not a telephone number" in bad.field_error("value")
    good = submit(
        admin,
        page,
        {"kind": "phone", "value": "01632 960000", "note": "Waste"},
        selector="#add-contact",
    )
    assert good.status == 302
    again = submit(
        admin,
        get(admin, "/admin/contacts"),
        {"kind": "phone", "value": "01632 960000"},
        selector="#add-contact",
    )
    assert again.status == 400 and "already allowed" in again.field_error("value")
    with app.app_context():
        contact_id = db.session.scalars(select(AllowedContact.id)).one()
    removed = submit(
        admin, get(admin, "/admin/contacts"), action=f"/admin/contacts/{contact_id}/delete"
    )
    assert removed.status == 302

    closures = get(admin, "/admin/closures")
    nonsense = submit(admin, closures, {"day": ["30", "2", "2027"]}, selector="#add-closure")
    assert nonsense.status == 400 and "real date" in nonsense.field_error("day-day")
    added = submit(
        admin,
        closures,
        {"day": ["24", "12", "2027"], "reason": "Christmas Eve"},
        selector="#add-closure",
    )
    assert added.status == 302
    twice = submit(
        admin, get(admin, "/admin/closures"), {"day": ["24", "12", "2027"]}, selector="#add-closure"
    )
    assert twice.status == 400 and "already a closure day" in twice.field_error("day-day")
    with app.app_context():
        closure_id, reason = db.session.execute(select(ClosureDay.id, ClosureDay.reason)).one()
    assert reason == "Christmas Eve"
    gone = submit(
        admin, get(admin, "/admin/closures"), action=f"/admin/closures/{closure_id}/delete"
    )
    assert gone.status == 302
    with app.app_context():
        assert db.session.scalars(select(ClosureDay)).all() == []
    for action, object_type, object_id in [
        ("contact.added", "contact", contact_id),
        ("contact.removed", "contact", contact_id),
        ("closure_day.added", "closure_day", closure_id),
        ("closure_day.removed", "closure_day", closure_id),
    ]:
        [entry] = _audit(app, action)
        assert entry["object"] == {"id": str(object_id), "type": object_type}, action
    assert _audit(app, "closure_day.removed")[0]["payload"] == {"day": "2027-12-24"}


def test_users_page_restyled_and_an_admin_cannot_end_their_own_session_by_mistake(app, people):
    admin = people["admin"]
    page = get(admin, "/admin/users")
    own = submit(admin, page, action=f"/admin/users/{people.ids['admin']}/end-sessions")
    assert own.status == 302
    assert get(admin, "/admin/users").status == 200  # still signed in
    new = get(admin, "/admin/users/new")
    refused = submit(admin, new, {"email": "", "roles": []})
    assert refused.status == 400
    assert set(refused.error_links()) == {"#email", "#roles"}

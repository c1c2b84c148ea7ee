"""The words a comms team reads on first use (issue 22, item 9): role labels, who did what in
the log, elections' names, the policy each finding cites, each finding once, the emergency
form where a finding says "emergency", and a confirmation before a post is cancelled."""

from __future__ import annotations

from gateway.audit import Actor, record
from gateway.domain.roles import Role, role_labels
from gateway.extensions import db
from gateway.models import Post
from tests.web.conftest import CLEAN_TEXT, TOMORROW
from tests.web.helpers import get, submit


def _new_post(client, channels, text=CLEAN_TEXT, button="save"):
    page = get(client, "/posts/new")
    fields = {"text": text, "channels": [str(channels["x"]), str(channels["facebook"])]}
    fields.update(TOMORROW)
    return submit(client, page, fields, button=("action", button))


def _post_id(page) -> int:
    return int(page.response.headers["Location"].rstrip("/").split("/")[-2])


# --- (e) role labels -----------------------------------------------------------------------


def test_the_users_list_names_roles_in_words(app, people):
    people["mo"], people["auditor"]
    page = get(people["admin"], "/admin/users")
    cells = {
        row.select("td")[0].get_text(" ", strip=True): row.select("td")[1].get_text(strip=True)
        for row in page.soup.select("tbody tr")
    }
    assert cells[people.emails["mo"]] == "Monitoring officer"
    assert cells[people.emails["admin"]] == "Administrator"
    assert cells[people.emails["auditor"]] == "Auditor"
    assert not any("_" in roles for roles in cells.values())
    # Several roles, in the same order everywhere; the check boxes use the same words.
    assert role_labels({Role.ADMIN, Role.DUTY_OFFICER, Role.OFFICER}) == [
        "Officer",
        "Duty officer",
        "Administrator",
    ]
    new = get(people["admin"], "/admin/users/new")
    labels = [label.get_text(strip=True) for label in new.soup.select(".govuk-checkboxes__label")]
    assert labels == ["Officer", "Duty officer", "Monitoring officer", "Auditor", "Administrator"]


# --- (f) who did it, in the same words on every page ---------------------------------------


def test_the_gateway_is_named_the_same_in_the_log_and_in_a_posts_history(app, people, channels):
    a = people["a"]
    people["mo"]
    saved = _new_post(a, channels)
    post_id = _post_id(saved)
    with app.app_context():
        record(
            "guardrails.verdict",
            actor=Actor.system(),
            obj=("post", post_id),
            payload={"stage": "publish", "channel_id": channels["x"], "findings": []},
        )
        record("auth.sign_in_failed", actor=Actor.anonymous(), payload={"reason": "test"})
        db.session.commit()
    history = get(a, f"/posts/{post_id}").soup.select_one("#history").get_text(" ")
    assert "Guardrails checked by The gateway" in " ".join(history.split())
    log = get(people["mo"], "/audit/")
    who = [row.select("td")[2].get_text(strip=True) for row in log.soup.select("tbody tr")]
    assert "The gateway" in who and "Someone not signed in" in who
    assert "system" not in who and "anonymous" not in who
    assert people.emails["a"] in who


# --- (h) "Are you sure?" before a post is cancelled ----------------------------------------


def test_cancelling_asks_first_and_only_the_confirmation_cancels(app, people, channels):
    a = people["a"]
    post_id = _post_id(_new_post(a, channels))
    post_page = get(a, f"/posts/{post_id}")
    # The post page's button is a link to the question, not a form that cancels.
    assert post_page.soup.find("form", action=f"/posts/{post_id}/cancel") is None
    link = post_page.soup.find("a", href=f"/posts/{post_id}/cancel")
    assert link is not None and "Cancel this post" in link.get_text()
    question = get(a, link["href"])
    assert question.soup.h1.get_text(strip=True) == "Are you sure you want to cancel this post?"
    assert CLEAN_TEXT in question.text()
    assert question.soup.find("a", href=f"/posts/{post_id}").get_text(strip=True) == "No, keep it"
    # Looking at the question changes nothing.
    with app.app_context():
        assert db.session.get(Post, post_id).status == "draft"
    # Without the form's CSRF token nothing is cancelled.
    assert a.post(f"/posts/{post_id}/cancel").status_code == 400
    with app.app_context():
        assert db.session.get(Post, post_id).status == "draft"
    done = submit(a, question, action=f"/posts/{post_id}/cancel")
    assert done.status == 302 and done.response.headers["Location"].endswith(f"/posts/{post_id}")
    with app.app_context():
        assert db.session.get(Post, post_id).status == "cancelled"
    assert "The post is cancelled" in get(a, f"/posts/{post_id}").text()
    # Asking again about a cancelled post goes back to it, saying why.
    again = a.get(f"/posts/{post_id}/cancel")
    assert again.status_code == 302
    assert "cannot be cancelled" in get(a, f"/posts/{post_id}").text()


def test_only_officers_are_asked(app, people, channels):
    post_id = _post_id(_new_post(people["a"], channels))
    for key in ("auditor", "mo", "admin"):
        assert people[key].get(f"/posts/{post_id}/cancel").status_code == 403
    assert people["a"].get("/posts/999999/cancel").status_code == 404


# --- (c) elections have names ---------------------------------------------------------------


def test_an_election_is_named_by_the_council_or_by_its_kind_and_day(app, people, channels):
    admin, a = people["admin"], people["a"]
    form = get(admin, "/admin/elections/new")
    assert "Local elections, 6 May 2027" in form.soup.select_one("#name-hint").get_text()
    unnamed = submit(admin, form, {"kind": "local", "polling_day": ["8", "4", "2027"]})
    assert unnamed.status == 302
    listing = get(admin, "/admin/elections")
    assert "Local elections, 8 April 2027 saved." in listing.text()
    assert "Local elections, 8 April 2027" in listing.soup.select_one("tbody td").get_text()
    assert "2027-04-08" not in listing.text()
    # A finding in its pre-election period names it as people do.
    saved = _new_post(a, channels, text="Cllr Smith opened the new play park today.")
    finding = get(a, f"/posts/{_post_id(saved)}").text()
    assert "the pre-election period for Local elections, 8 April 2027, from" in finding
    assert "local 2027" not in finding and "(polling day" not in finding

    with app.app_context():
        from gateway.models import Election

        election_id = db.session.scalars(db.select(Election.id)).one()
    edit = get(admin, f"/admin/elections/{election_id}")
    assert edit.soup.select_one("#name")["value"] == ""
    too_long = submit(admin, edit, {"name": "x" * 201})
    assert too_long.status == 400
    assert too_long.errors() == ["Enter a name of 200 characters or fewer"]
    renamed = submit(admin, edit, {"name": "  Harbourside Council elections  "})
    assert renamed.status == 302
    assert "Harbourside Council elections saved." in get(admin, "/admin/elections").text()
    finding = get(a, f"/posts/{_post_id(saved)}").text()
    assert (
        "the pre-election period for Harbourside Council elections (polling day 8 April 2027)"
        in finding
    )
    with app.app_context():
        from gateway.models import AuditEntry

        leaf = db.session.scalars(
            db.select(AuditEntry.leaf).where(AuditEntry.action == "election.changed")
        ).one()
    assert b'"name":"Harbourside Council elections"' in bytes(leaf)


def test_default_names_for_every_kind_of_poll():
    from datetime import date

    from gateway.domain.guardrails import Election, ElectionKind
    from gateway.domain.guardrails.model import default_election_name

    day = date(2027, 1, 14)
    assert default_election_name(ElectionKind.LOCAL, day) == "Local elections, 14 January 2027"
    assert default_election_name("referendum", day) == "Referendum, 14 January 2027"
    assert (
        Election(ElectionKind.BY_ELECTION, day, wards=frozenset({"Abbey"})).title
        == "By-election, 14 January 2027"
    )
    assert Election(ElectionKind.GENERAL, day, name=" General ").title == "General"


# --- (a) the council's own policy clauses ----------------------------------------------------

PHONE_TEXT = "Please call Jenny on 07700 900461 if you see her cat."


def _findings_text(page) -> str:
    return " ".join(page.soup.select_one("main").get_text(" ").split())


def test_findings_cite_the_councils_own_clauses_once_an_admin_names_them(app, people, channels):
    admin, a = people["admin"], people["a"]
    draft = _new_post(a, channels, text=PHONE_TEXT)
    post_id = _post_id(draft)
    default = _findings_text(get(a, f"/posts/{post_id}"))
    assert "Policy: Only departmental email addresses and contact telephone numbers" in default
    for council in ("Swale", "Dover", "Cromer"):
        assert council not in default

    form = get(admin, "/admin/policy-clauses")
    labels = [label.get_text(strip=True) for label in form.soup.select("main form label")]
    assert "Contact details and personal information" in labels
    assert "It says: Only departmental email addresses" in form.text()
    too_long = submit(admin, form, {"personal_data": "x" * 201})
    assert too_long.status == 400
    assert too_long.errors() == [
        "Contact details and personal information: enter 200 characters or fewer"
    ]
    saved = submit(
        admin, form, {"personal_data": "  Harbourside social media policy,  clause 6.1 "}
    )
    assert saved.status == 302
    assert (
        "Saved: Contact details and personal information."
        in get(admin, "/admin/policy-clauses").text()
    )
    # The guardrails' cached context sees it at once (policy_settings moves the version on).
    named = _findings_text(get(a, f"/posts/{post_id}"))
    assert (
        "Policy: Harbourside social media policy, clause 6.1: Only departmental email addresses"
        in named
    )
    with app.app_context():
        from gateway.models import AuditEntry

        leaves = db.session.scalars(
            db.select(AuditEntry.leaf).where(AuditEntry.action == "setting.changed")
        ).all()
    assert len(leaves) == 1
    assert b'"value":"Harbourside social media policy, clause 6.1"' in bytes(leaves[0])
    # Saving again unchanged writes nothing; emptying it goes back to the clause's words.
    again = get(admin, "/admin/policy-clauses")
    assert again.soup.select_one("#personal_data")["value"] == (
        "Harbourside social media policy, clause 6.1"
    )
    submit(admin, again)
    assert "Nothing changed." in get(admin, "/admin/policy-clauses").text()
    submit(admin, get(admin, "/admin/policy-clauses"), {"personal_data": ""})
    assert "Harbourside" not in _findings_text(get(a, f"/posts/{post_id}"))
    with app.app_context():
        from gateway.models import AuditEntry, PolicySetting

        assert db.session.scalars(db.select(PolicySetting)).all() == []
        assert (
            len(
                db.session.scalars(
                    db.select(AuditEntry.seq).where(AuditEntry.action == "setting.changed")
                ).all()
            )
            == 2
        )
    for key in ("a", "mo", "auditor"):
        assert people[key].get("/admin/policy-clauses").status_code == 403


# --- (d) out of office hours: the way to the emergency form --------------------------------

SATURDAY = {"publish_date": ["13", "3", "2027"], "publish_time": "10:30am"}


def _saturday_draft(client, channels):
    page = get(client, "/posts/new")
    fields = {"text": CLEAN_TEXT, "channels": [str(channels["x"])], **SATURDAY}
    saved = submit(client, page, fields, button=("action", "save"))
    assert saved.status == 302, saved.errors()
    return get(client, saved.response.headers["Location"])


def test_an_out_of_hours_finding_leads_a_duty_officer_to_the_emergency_form(
    app, people, channels, monkeypatch
):
    from tests.web import conftest

    monkeypatch.setitem(conftest.ROLES, "duty", (Role.OFFICER, Role.DUTY_OFFICER))
    duty_page = _saturday_draft(people["duty"], channels)
    note = duty_page.soup.select_one(".app-finding-emergency")
    assert note is not None
    assert note.find("a")["href"] == "/emergency"
    assert "send it as an emergency post" in note.get_text()
    text = _findings_text(duty_page)
    assert "choose an emergency category" not in text
    assert "is outside office hours" in text
    # An officer who cannot send one is told who can.
    officer_note = _saturday_draft(people["a"], channels).soup.select_one(".app-finding-emergency")
    assert officer_note.find("a") is None
    assert "ask the duty officer" in officer_note.get_text()
    # The emergency form itself answers: it has the categories.
    get(people["duty"], "/emergency")


# --- (b) each finding once ---------------------------------------------------------------------

VOTE = "Vote Labour on Thursday for a better park."


def _election_in_period(app):
    from datetime import date

    from gateway.models import Election

    with app.app_context():
        db.session.add(Election(kind="local", polling_day=date(2027, 4, 8)))
        db.session.commit()


def test_a_finding_is_shown_once_on_the_post_page_and_when_its_submit_is_refused(
    app, people, channels
):
    _election_in_period(app)
    a = people["a"]
    post_id = _post_id(_new_post(a, channels, text=VOTE))
    page = get(a, f"/posts/{post_id}")
    findings = [
        p.get_text(" ", strip=True) for p in page.soup.select("[id^=finding-] p:first-child")
    ]
    # The engine finds campaign phrasing, a party's name and a request for votes in the same
    # words, on two channels: the officer reads one finding.
    assert len(findings) == 1, findings
    assert "'Vote Labour' is campaign phrasing" in findings[0]
    refused = submit(a, page, action=f"/posts/{post_id}/submit")
    assert refused.status == 400
    errors = refused.errors()
    assert errors[0] == "The post cannot be submitted until you fix what the guardrails blocked."
    assert len(errors) == 2 and errors[1].startswith("Blocked: 'Vote Labour' is campaign")
    # The summary's link and the finding; the refused submission's verdict in the history.
    assert refused.html.count("is campaign phrasing") == 3
    # The publish log keeps everything the guardrails found; the history shows it once too.
    history = " ".join(refused.soup.select_one("#history").get_text(" ").split())
    assert history.count("is campaign phrasing") == 1
    assert "asks for votes" not in history
    with app.app_context():
        from gateway.models import AuditEntry

        leaf = bytes(
            db.session.scalars(
                db.select(AuditEntry.leaf).where(AuditEntry.action == "guardrails.verdict")
            ).first()
        )
    assert b"pre_election.influence" in leaf


def test_the_emergency_form_says_each_finding_once(app, people, channels, monkeypatch):
    from tests.web import conftest

    _election_in_period(app)
    monkeypatch.setitem(conftest.ROLES, "duty", (Role.DUTY_OFFICER,))
    duty = people["duty"]
    form = get(duty, "/emergency")
    refused = submit(
        duty,
        form,
        {
            "category": "flooding",
            "text": "Flood warning at the quay. Vote Labour on Thursday.",
            "channels": [str(channels["x"]), str(channels["facebook"])],
        },
        button=("action", "publish"),
    )
    assert refused.status == 400
    assert refused.field_error("text") == (
        "Error: The emergency post cannot go out until you change what the guardrails found, "
        "listed above the form."
    )
    assert refused.html.count("is campaign phrasing") == 1
    with app.app_context():
        assert db.session.scalars(db.select(Post)).all() == []

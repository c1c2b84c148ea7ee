"""The two-person rule through the pages (issue 20, finding 1).

Officer B could open officer A's submitted post, rewrite it, submit it and approve it: it went
out under A's name with nobody else having read B's words. Now only the post's holder edits or
submits it, anyone else takes it over first (on the record, A is told), and nobody who wrote or
changed the version being approved can approve it.
"""

from __future__ import annotations

from sqlalchemy import select

from gateway.domain.statuses import PostStatus
from gateway.extensions import db
from gateway.models import AuditEntry, Post
from tests.web.conftest import CLEAN_TEXT, TOMORROW
from tests.web.helpers import get, post_unoffered, submit

REWRITTEN = "Our leisure centre opens at 7am from Monday. Everyone is welcome."


def _submitted_by_a(people, channels) -> int:
    a = people["a"]
    page = get(a, "/posts/new")
    fields = {"text": CLEAN_TEXT, "channels": [str(channels["x"])], **TOMORROW}
    sent = submit(a, page, fields, button=("action", "submit"))
    assert sent.status == 302, sent.errors()
    return int(sent.response.headers["Location"].rstrip("/").split("/")[-1])


def _post(app, post_id):
    with app.app_context():
        post = db.session.get(Post, post_id)
        return post.status, post.text, post.current_holder_id


def _actions(app, post_id):
    with app.app_context():
        return db.session.execute(
            select(AuditEntry.action, AuditEntry.actor_id)
            .where(AuditEntry.object_type == "post", AuditEntry.object_id == str(post_id))
            .order_by(AuditEntry.seq)
        ).all()


def test_another_officer_cannot_edit_a_post_without_taking_it_over(app, people, channels, clock):
    post_id = _submitted_by_a(people, channels)
    a_edit = get(people["a"], f"/posts/{post_id}/edit")  # the form as A sees it
    b = people["b"]
    # The edit page sends B to the post, saying who holds it and how to take it over.
    assert b.get(f"/posts/{post_id}/edit").status_code == 302
    shown = get(b, f"/posts/{post_id}")
    assert "Only " in shown.text() and "take it over first" in shown.text()
    assert shown.soup.find("form", action=f"/posts/{post_id}/take-over") is not None
    assert shown.soup.find("a", href=f"/posts/{post_id}/edit") is None
    # Posting A's edit form with B's session (and B's CSRF token) changes nothing.
    b_token = shown.soup.find("input", attrs={"name": "csrf_token"})["value"]
    forged = {"csrf_token": b_token, "text": REWRITTEN, "action": "submit"}
    for field in ("channels", "publish_date-day", "publish_date-month", "publish_date-year"):
        node = a_edit.soup.find(attrs={"name": field})
        if node is not None:
            forged[field] = node.get("value", "")
    forged["channels"] = str(channels["x"])
    forged["publish_time"] = a_edit.soup.find(attrs={"name": "publish_time"}).get("value", "")
    b.post(f"/posts/{post_id}/edit", data=forged)
    assert _post(app, post_id) == (
        PostStatus.AWAITING_APPROVAL.value,
        CLEAN_TEXT,
        people.ids["a"],
    )
    # Nor can B submit it on A's behalf.
    refused = b.post(f"/posts/{post_id}/submit", data={"csrf_token": b_token})
    assert refused.status_code in (302, 400)
    assert ("post.edited", people.ids["b"]) not in _actions(app, post_id)


def test_an_officer_who_rewrites_a_post_cannot_approve_it(app, people, channels, clock, inbox):
    post_id = _submitted_by_a(people, channels)
    b = people["b"]
    # B takes it over, on the record and with a reason; A is told.
    page = get(b, f"/posts/{post_id}")
    taken = submit(
        b,
        page,
        {"takeover-reason": "A is on leave this week"},
        action=f"/posts/{post_id}/take-over",
    )
    assert taken.status == 302, taken.errors()
    assert _post(app, post_id)[2] == people.ids["b"]
    assert ("post.taken_over", people.ids["b"]) in _actions(app, post_id)
    told = inbox.to(people.emails["a"])
    assert any("took over your post" in m["Subject"] for m in told)

    # B rewrites and submits it...
    edit = get(b, f"/posts/{post_id}/edit")
    sent = submit(b, edit, {"text": REWRITTEN}, button=("action", "submit"))
    assert sent.status == 302, sent.errors()
    assert _post(app, post_id)[:2] == (PostStatus.AWAITING_APPROVAL.value, REWRITTEN)
    # ...and cannot approve it: the page says why, and the server refuses whatever is sent.
    shown = get(b, f"/posts/{post_id}")
    assert "You changed this post since it was last approved" in shown.text()
    assert shown.soup.select_one(f"form[action$='/posts/{post_id}/approve']") is None
    refused = post_unoffered(b, shown, f"/posts/{post_id}/approve")
    assert refused.status == 400
    assert "you cannot approve it" in " ".join(refused.errors())
    assert _post(app, post_id)[0] == PostStatus.AWAITING_APPROVAL.value
    # A, the author, cannot approve B's words either.
    a_page = get(people["a"], f"/posts/{post_id}")
    assert post_unoffered(people["a"], a_page, f"/posts/{post_id}/approve").status == 400

    # C, who wrote none of it, approves it; the log names every writer beside the approver.
    c = people["c"]
    approved = submit(c, get(c, f"/posts/{post_id}"), action=f"/posts/{post_id}/approve")
    assert approved.status == 302, approved.errors()
    assert _post(app, post_id)[0] == PostStatus.APPROVED.value
    with app.app_context():
        import json

        leaf = db.session.scalars(
            select(AuditEntry.leaf).where(
                AuditEntry.action == "post.approved", AuditEntry.object_id == str(post_id)
            )
        ).one()
        payload = json.loads(leaf)["payload"]
    assert payload["editor_ids"] == [people.ids["b"]]
    assert payload["approver_id"] == people.ids["c"]


def test_a_take_over_needs_a_reason_and_the_history_shows_it(app, people, channels, clock):
    post_id = _submitted_by_a(people, channels)
    b = people["b"]
    page = get(b, f"/posts/{post_id}")
    empty = submit(b, page, {"takeover-reason": ""}, action=f"/posts/{post_id}/take-over")
    assert empty.status == 400
    assert _post(app, post_id)[2] == people.ids["a"]
    submit(
        b,
        page,
        {"takeover-reason": "Covering the weekend rota"},
        action=f"/posts/{post_id}/take-over",
    )
    history = get(people["a"], f"/posts/{post_id}").soup.select_one("#history").get_text(" ")
    assert "Taken over" in history and "Covering the weekend rota" in history


def test_an_approver_whose_earlier_edit_was_approved_by_someone_else_may_approve_later(
    app, people, channels, clock
):
    # The rule is about the version being approved: B's edit in an earlier round, approved by
    # C, does not stop B approving A's later version that B did not touch.
    post_id = _submitted_by_a(people, channels)
    a, b, c = people["a"], people["b"], people["c"]
    submit(
        b,
        get(b, f"/posts/{post_id}"),
        {"takeover-reason": "Fixing a typo"},
        action=f"/posts/{post_id}/take-over",
    )
    submit(b, get(b, f"/posts/{post_id}/edit"), {"text": REWRITTEN}, button=("action", "submit"))
    assert submit(c, get(c, f"/posts/{post_id}"), action=f"/posts/{post_id}/approve").status == 302
    # A takes it back and changes it again: a new round that only A wrote.
    submit(
        a,
        get(a, f"/posts/{post_id}"),
        {"takeover-reason": "Back from leave"},
        action=f"/posts/{post_id}/take-over",
    )
    sent = submit(
        a,
        get(a, f"/posts/{post_id}/edit"),
        {"text": REWRITTEN + " Free parking."},
        button=("action", "submit"),
    )
    assert sent.status == 302, sent.errors()
    assert submit(b, get(b, f"/posts/{post_id}"), action=f"/posts/{post_id}/approve").status == 302
    assert _post(app, post_id)[0] == PostStatus.APPROVED.value


def test_the_queue_and_the_emails_leave_out_the_posts_an_officer_changed(
    app, people, channels, clock, inbox
):
    from gateway.web import page_cache

    post_id = _submitted_by_a(people, channels)
    b, c = people["b"], people["c"]
    submit(
        b,
        get(b, f"/posts/{post_id}"),
        {"takeover-reason": "A is on leave this week"},
        action=f"/posts/{post_id}/take-over",
    )
    before = len(inbox.to(people.emails["b"]))
    edit = get(b, f"/posts/{post_id}/edit")
    assert submit(b, edit, {"text": REWRITTEN}, button=("action", "submit")).status == 302
    # C is asked to approve the rewritten post; B, who rewrote it, is not.
    assert any("waiting for your approval" in m["Subject"] for m in inbox.to(people.emails["c"]))
    assert len(inbox.to(people.emails["b"])) == before
    link = f'href="/posts/{post_id}"'
    for mode in ("shared list", "cache off"):
        if mode == "cache off":
            app.extensions["gateway.page_cache"] = None
        else:
            with app.app_context():
                assert page_cache.enabled()
        assert link not in get(b, "/approvals").html, mode
        assert link not in get(b, "/").html, mode
        assert link in get(c, "/approvals").html, mode

"""Drafting, submitting, approving and rejecting through the real forms (issue 6)."""

from __future__ import annotations

from sqlalchemy import select

from gateway.domain.statuses import DeliveryStatus, PostStatus
from gateway.extensions import db
from gateway.models import Approval, AuditEntry, Post
from tests.web.conftest import BLOCKED_TEXT, CLEAN_TEXT, TOMORROW, png
from tests.web.helpers import get, post_unoffered, submit


def _post(app, post_id):
    with app.app_context():
        post = db.session.get(Post, post_id)
        return (
            post.status,
            [d.status for d in post.deliveries],
            [(a.decision, a.current) for a in post.approvals],
        )


def _new_post(client, channels, text=CLEAN_TEXT, button="submit", files=None, **extra):
    page = get(client, "/posts/new")
    fields = {"text": text, "channels": [str(channels["x"]), str(channels["facebook"])]}
    fields.update(TOMORROW)
    fields.update(extra)
    return submit(client, page, fields, files=files, button=("action", button))


def _post_id(response) -> int:
    return int(response.response.headers["Location"].rstrip("/").split("/")[-1])


def test_the_journey_draft_blocked_fixed_submitted_and_approved_by_someone_else(
    app, people, channels, clock
):
    a, b = people["a"], people["b"]
    # A drafts with an image and alt text; the text has a private phone number.
    draft = _new_post(
        a,
        channels,
        text=BLOCKED_TEXT,
        files={"images-0-file": (png(), "cat.png")},
        **{"images-0-alt_text": "A ginger cat on a garden wall"},
    )
    assert draft.status == 400
    assert any("cannot be submitted" in e for e in draft.errors())
    assert draft.soup.select_one(".govuk-error-message") is not None
    draft.check_shape()
    # Issue 22: a blocked submit saves nothing. The officer stays on the new-post page, with
    # what they typed, until they choose to save a draft.
    assert draft.soup.h1.get_text(strip=True) == "New post"
    assert draft.soup.select_one("main form")["action"] == "/posts/new"
    assert "07700 900461" in draft.soup.select_one("#text").get_text()
    with app.app_context():
        assert db.session.scalars(select(Post)).all() == []
    # The page shows the block with the clause it cites, as an error linked from the summary.
    assert "Policy:" in draft.text()
    assert any(link.startswith("#finding-") for link in draft.error_links())
    assert "Choose image 1 again" in draft.field_error("images-0-file")
    saved = submit(
        a,
        draft,
        files={"images-0-file": (png(), "cat.png")},
        button=("action", "save"),
    )
    assert saved.status == 302, saved.errors()
    with app.app_context():
        post = db.session.scalars(select(Post)).one()
        post_id = post.id
        assert post.status == PostStatus.DRAFT.value
        assert post.images[0].alt_text == "A ginger cat on a garden wall"

    # A fixes the text on the edit page and submits.
    edit = get(a, f"/posts/{post_id}/edit")
    assert "07700 900461" in edit.html
    sent = submit(a, edit, {"text": CLEAN_TEXT}, button=("action", "submit"))
    assert sent.status == 302, sent.errors()
    status, deliveries, _ = _post(app, post_id)
    assert status == PostStatus.AWAITING_APPROVAL.value

    # A is not offered Approve (nor Reject), and is told why; the server refuses it anyway.
    own = get(a, f"/posts/{post_id}")
    assert "You cannot approve your own post" in own.soup.select_one("#approve-refusal").text
    buttons = [b.get_text(strip=True) for b in own.soup.select("main button")]
    assert "Approve" not in buttons and "Reject" not in buttons
    refused = post_unoffered(a, own, f"/posts/{post_id}/approve")
    assert refused.status == 400
    assert "You cannot approve your own post" in " ".join(refused.errors())
    assert _post(app, post_id)[0] == PostStatus.AWAITING_APPROVAL.value

    # It is in B's queue, not A's.
    assert f"/posts/{post_id}" in get(b, "/approvals").html
    assert f"/posts/{post_id}" not in get(a, "/approvals").html

    b_page = get(b, f"/posts/{post_id}")
    approved = submit(b, b_page, action=f"/posts/{post_id}/approve")
    assert approved.status == 302
    status, deliveries, approvals = _post(app, post_id)
    assert status == PostStatus.APPROVED.value
    assert deliveries == [DeliveryStatus.SCHEDULED.value] * 2
    assert ("approved", True) in approvals
    # A double click is harmless: the second approve says it is already approved.
    again = submit(b, b_page, action=f"/posts/{post_id}/approve")
    assert again.status == 400 and "already approved" in " ".join(again.errors())
    assert _post(app, post_id)[2].count(("approved", True)) == 1

    # The post page tells the story from the audit log.
    page = get(a, f"/posts/{post_id}")
    history = page.soup.select_one("#history").get_text(" ")
    for words in ("Drafted", "Edited", "Submitted for approval", "Approved", "Guardrails"):
        assert words in history


def test_editing_an_approved_post_sends_it_back_to_draft_and_clears_its_approval(
    app, people, channels, clock
):
    a, b = people["a"], people["b"]
    post_id = _post_id(_new_post(a, channels))
    submit(b, get(b, f"/posts/{post_id}"), action=f"/posts/{post_id}/approve")
    assert _post(app, post_id)[0] == PostStatus.APPROVED.value
    edit = get(a, f"/posts/{post_id}/edit")
    assert "clears its approval" in edit.text()
    saved = submit(a, edit, {"text": CLEAN_TEXT + " Thank you."}, button=("action", "save"))
    assert saved.status == 302
    status, deliveries, approvals = _post(app, post_id)
    assert status == PostStatus.DRAFT.value
    assert deliveries == [DeliveryStatus.PENDING.value] * 2
    assert all(not current for _, current in approvals)


def test_reject_needs_a_reason_which_the_author_then_sees(app, people, channels, clock):
    a, b = people["a"], people["b"]
    post_id = _post_id(_new_post(a, channels))
    page = get(b, f"/posts/{post_id}")
    empty = submit(b, page, {"reject-reason": "  "}, action=f"/posts/{post_id}/reject")
    assert empty.status == 400
    assert empty.error_links() == ["#reject-reason"]
    assert empty.field_error("reject-reason") == "Error: Tell the author why the post is rejected."
    done = submit(
        b, page, {"reject-reason": "Say which roads are closed."}, action=f"/posts/{post_id}/reject"
    )
    assert done.status == 302
    assert _post(app, post_id)[0] == PostStatus.REJECTED.value
    seen = get(a, f"/posts/{post_id}")
    assert "Say which roads are closed." in seen.soup.select_one("#rejection-reason").get_text()


def test_a_referred_post_needs_the_monitoring_officers_written_decision(
    app, people, channels, clock
):
    a, b, mo = people["a"], people["b"], people["mo"]
    # Naming a party outside a pre-election period is referred, not blocked.
    text = "The Labour Party group visited the depot today."
    post_id = _post_id(_new_post(a, channels, text=text))
    assert _post(app, post_id)[0] == PostStatus.AWAITING_APPROVAL.value
    refused = submit(b, get(b, f"/posts/{post_id}"), action=f"/posts/{post_id}/approve")
    assert refused.status == 400
    assert "monitoring officer" in " ".join(refused.errors())

    page = get(mo, f"/posts/{post_id}")
    assert page.soup.find(attrs={"name": "referral-decision"}) is not None
    no_reason = submit(
        mo,
        page,
        {"referral-decision": "clear", "referral-reason": ""},
        action=f"/posts/{post_id}/referral",
    )
    assert no_reason.status == 400 and "#referral-reason" in no_reason.error_links()
    cleared = submit(
        mo,
        page,
        {"referral-decision": "clear", "referral-reason": "Factual visit, no campaigning."},
        action=f"/posts/{post_id}/referral",
    )
    assert cleared.status == 302
    approved = submit(b, get(b, f"/posts/{post_id}"), action=f"/posts/{post_id}/approve")
    assert approved.status == 302
    assert _post(app, post_id)[0] == PostStatus.APPROVED.value
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_id == str(post_id))
        ).all()
        assert "referral.decided" in actions
        decisions = db.session.scalars(select(Approval.decision)).all()
        assert "referral_cleared" in decisions


def test_cancel_a_scheduled_post(app, people, channels, clock):
    a, b = people["a"], people["b"]
    post_id = _post_id(_new_post(a, channels))
    submit(b, get(b, f"/posts/{post_id}"), action=f"/posts/{post_id}/approve")
    cancelled = submit(a, get(a, f"/posts/{post_id}/cancel"), action=f"/posts/{post_id}/cancel")
    assert cancelled.status == 302
    status, deliveries, _ = _post(app, post_id)
    assert status == PostStatus.CANCELLED.value
    assert deliveries == [DeliveryStatus.CANCELLED.value] * 2
    # A cancelled post offers no buttons and cannot be edited.
    page = get(a, f"/posts/{post_id}")
    assert page.soup.find("form", action=f"/posts/{post_id}/cancel") is None
    assert page.soup.find("a", href=f"/posts/{post_id}/cancel") is None
    assert a.get(f"/posts/{post_id}/edit").status_code == 302


def _changed_meanwhile(app, monkeypatch, post_id, change):
    """Make ``change`` happen to the post on another connection, committed, just before the
    cancel service writes: what a publishing worker claiming it at that instant does."""
    import pytest
    from sqlalchemy import text

    from gateway.posts import service

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes the write lock at BEGIN: no other writer can interleave")
    real = service.cancel

    def racing(post, actor):
        with db.engine.connect() as other:
            change(other, text)
            other.commit()
        return real(post, actor)

    monkeypatch.setattr(service, "cancel", racing)


def test_cancel_racing_a_worker_says_so_and_changes_nothing(
    app, people, channels, clock, monkeypatch
):
    a, b = people["a"], people["b"]
    post_id = _post_id(_new_post(a, channels))
    submit(b, get(b, f"/posts/{post_id}"), action=f"/posts/{post_id}/approve")
    page = get(a, f"/posts/{post_id}/cancel")
    with app.app_context():
        # the worker's claim moves the post on (its version with it) while the officer clicks
        _changed_meanwhile(
            app,
            monkeypatch,
            post_id,
            lambda conn, text: conn.execute(
                text("UPDATE posts SET version = version + 1 WHERE id = :id"), {"id": post_id}
            ),
        )
    refused = submit(a, page, action=f"/posts/{post_id}/cancel")
    assert refused.status == 409
    assert "Someone else changed this at the same moment" in refused.text()
    assert "Nothing you sent was saved" in refused.text()
    status, deliveries, _ = _post(app, post_id)
    assert status == PostStatus.APPROVED.value
    assert deliveries == [DeliveryStatus.SCHEDULED.value] * 2


def test_a_deadlock_broken_by_postgresql_is_a_409_not_a_500(app, people, channels, clock):
    import psycopg
    import pytest
    from sqlalchemy.exc import OperationalError

    from gateway.posts import service

    a, b = people["a"], people["b"]
    post_id = _post_id(_new_post(a, channels))
    submit(b, get(b, f"/posts/{post_id}"), action=f"/posts/{post_id}/approve")
    page = get(a, f"/posts/{post_id}/cancel")

    def deadlocked(post, actor):
        raise OperationalError("UPDATE deliveries ...", {}, psycopg.errors.DeadlockDetected())

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(service, "cancel", deadlocked)
        refused = submit(a, page, action=f"/posts/{post_id}/cancel")
        assert refused.status == 409
        assert "Someone else changed this at the same moment" in refused.text()

        def broken(post, actor):
            raise OperationalError("SELECT 1", {}, psycopg.errors.DiskFull())

        mp.setattr(service, "cancel", broken)
        with pytest.raises(OperationalError):  # any other database error is still a 500
            submit(a, page, action=f"/posts/{post_id}/cancel")
    assert _post(app, post_id)[0] == PostStatus.APPROVED.value


def test_a_blocked_submit_from_the_new_post_page_saves_nothing(app, people, channels, clock):
    # Issue 22: it left a draft behind each time it was pressed.
    a = people["a"]
    with app.app_context():
        posts_before = db.session.query(Post).count()
    for _ in range(2):
        refused = _new_post(a, channels, text=BLOCKED_TEXT)
        assert refused.status == 400
        assert refused.soup.h1.get_text(strip=True) == "New post"
        assert refused.soup.select_one(".govuk-error-summary") is not None
        assert any("Nothing was saved" in e for e in refused.errors())
        with app.app_context():
            assert db.session.query(Post).count() == posts_before
    saved = _new_post(a, channels, text=BLOCKED_TEXT, button="save")
    assert saved.status == 302
    with app.app_context():
        assert db.session.query(Post).count() == posts_before + 1


def test_a_delivery_entry_that_names_the_post_itself_is_shown_not_a_500(
    app, people, channels, clock
):
    # A log carried over from elsewhere (or the load bench's) may name the post as the object
    # of a delivery.* entry; the post's page describes it by its action.
    from gateway.audit import Actor, record

    a = people["a"]
    post_id = _post_id(_new_post(a, channels))
    with app.app_context():
        record(
            "delivery.outcome",
            actor=Actor.system(),
            obj=("post", str(post_id)),
            payload={"outcome": "published"},
        )
        db.session.commit()
    page = get(a, f"/posts/{post_id}")
    assert page.status == 200
    assert "Delivery outcome" in page.soup.select_one("#history").get_text(" ")

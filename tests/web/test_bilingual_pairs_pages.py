"""The pages that show a bilingual post show its pairing (issue 18): which deliveries go out
only together, and why one is held with its partner; the lists show both languages.

The publishing itself is tested against the fake platform in
tests/publishing/test_bilingual_publishing.py; here the deliveries are put in the states it
leaves them in, and the pages are read as each person sees them."""

from __future__ import annotations

import json

from sqlalchemy import select

from gateway.extensions import db
from gateway.models import AuditEntry, Delivery, Post
from gateway.publishing import pairs
from tests.web.conftest import CLEAN_TEXT
from tests.web.helpers import Page, form_fields, get, post_unoffered, submit
from tests.web.test_bilingual_posts import WELSH, _new, _post_id
from tests.web.test_bilingual_posts import both as both  # noqa: F401 - a fixture, found by name


def _approved_pair(app, people, channels) -> int:
    app.config["BILINGUAL_LAYOUT"] = "separate"
    a, b = people["a"], people["b"]
    sent = _new(a, {"x": channels["x"], "facebook": channels["x"]}, button="submit")
    assert sent.status == 302, sent.errors()
    post_id = _post_id(sent)
    approved = submit(b, get(b, f"/posts/{post_id}"), action=f"/posts/{post_id}/approve")
    assert approved.status == 302
    return post_id


def _welsh_refused(app, post_id) -> tuple[int, int]:
    """As the worker leaves it when X refuses the Welsh post: the English one held with it."""
    with app.app_context():
        post = db.session.get(Post, post_id)
        welsh, english = post.deliveries
        assert (welsh.language, english.language) == ("cy", "en")
        post.status = "publishing"
        welsh.status, welsh.last_error = "failed", "X refused it: duplicate content"
        english.status = "held"
        english.held_with_id = welsh.id
        english.held_reason = pairs.held_with_reason(welsh)
        db.session.commit()
        return welsh.id, english.id


def test_the_post_page_says_which_deliveries_go_out_together_and_why_one_is_held(
    app, both, people, channels, clock
):
    post_id = _approved_pair(app, people, channels)
    page = get(people["a"], f"/posts/{post_id}")
    welsh_row = page.soup.select("#post-texts")  # both texts side by side, as before
    assert welsh_row
    rows = page.soup.select("tr[id^=delivery-]")
    assert "Goes out with the English post on Council on X" in rows[0].get_text(" ")
    assert "Goes out with the Welsh post on Council on X" in rows[1].get_text(" ")
    assert page.soup.select_one("#pair-apart") is None

    welsh_id, english_id = _welsh_refused(app, post_id)
    page = get(people["b"], f"/posts/{post_id}")
    apart = page.soup.select_one("#pair-apart")
    assert "The Welsh and English posts go out together" in apart.get_text(" ")
    held = apart.select_one(f"#pair-apart-{english_id}").get_text(" ")
    assert "The English post on Council on X is held with its Welsh partner on Council on X" in (
        held
    )
    assert "(failed)" in held and "X refused it: duplicate content" in held
    row = page.soup.select_one(f"#delivery-{english_id}").get_text(" ")
    assert "Held: Held with its Welsh post on Council on X, which was refused by the platform" in (
        row
    )
    assert page.soup.select_one(f"#delivery-{english_id} a[href='#delivery-{welsh_id}']")


def test_a_partner_out_alone_is_shown(app, both, people, channels, clock):
    post_id = _approved_pair(app, people, channels)
    with app.app_context():
        post = db.session.get(Post, post_id)
        welsh, english = post.deliveries
        post.status = "publishing"
        welsh.status = "published"
        english.status = "held"
        english.held_reason = pairs.sent_alone_reason(welsh, "Refused by the platform: no.")
        db.session.commit()
        english_id, welsh_id = english.id, welsh.id
    page = get(people["a"], f"/posts/{post_id}")
    apart = page.soup.select_one(f"#pair-apart-{welsh_id}").get_text(" ")
    assert "The Welsh post on Council on X went out, but its English partner" in apart
    assert "was already published at the same moment" in page.soup.select_one(
        f"#delivery-{english_id}"
    ).get_text(" ")


def test_the_dashboards_held_list_and_the_approval_queue_show_both_languages(
    app, both, people, channels, clock
):
    held_id = _approved_pair(app, people, channels)
    _welsh_refused(app, held_id)
    waiting = _post_id(_new(people["a"], channels, button="submit"))
    dashboard = get(people["b"], "/")
    link = dashboard.soup.select_one(f"#held a[href$='/posts/{held_id}']") or next(
        a for a in dashboard.soup.select(f"a[href$='/posts/{held_id}']")
    )
    assert [s["lang"] for s in link.select("span[lang]")] == ["cy", "en"]
    # Each truncated as a list truncates a post.
    assert link.select_one("span[lang=cy]").get_text().startswith(WELSH[:60])
    assert link.select_one("span[lang=en]").get_text().startswith(CLEAN_TEXT[:60])
    queue = get(people["b"], "/approvals")
    row = queue.soup.select_one(f"#queue-{waiting}")
    assert [s["lang"] for s in row.select("a span[lang]")] == ["cy", "en"]
    app.config["BILINGUAL"] = "en-cy"
    queue = get(people["c"], "/approvals")
    row = queue.soup.select_one(f"#queue-{waiting}")
    assert [s["lang"] for s in row.select("a span[lang]")] == ["en", "cy"]


def _decide(client, page, delivery_id, decision, reason):
    """Press one of the held delivery's two buttons, with the reason typed in."""
    form = page.soup.select_one(f"form[action$='/deliveries/{delivery_id}/alone']")
    data = form_fields(form)
    data.setlist(f"held-{delivery_id}-reason", [reason])
    if decision == "alone":
        target = form["action"]
    else:
        target = form.select_one("button[formaction]")["formaction"]
    return Page(client.post(target, data={k: data.getlist(k) for k in data}))


def test_an_officer_publishes_the_held_language_alone_on_the_record(
    app, both, people, channels, clock
):
    from rq import Queue

    from gateway.publishing.release import publish_job_id
    from gateway.queue import PUBLISH_QUEUE, redis_connection

    post_id = _approved_pair(app, people, channels)
    welsh_id, english_id = _welsh_refused(app, post_id)
    c = people["c"]
    page = get(c, f"/posts/{post_id}")
    assert "held with its partner" in page.soup.select_one(f"#held-decision-{english_id}").text
    # The Welsh one failed: it is not held with a partner, so it has no such buttons.
    assert page.soup.select_one(f"#held-decision-{welsh_id}") is None
    missing = _decide(c, page, english_id, "alone", "")
    assert missing.status == 400
    assert missing.field_error(f"held-{english_id}-reason") == "Error: Enter the reason"
    done = _decide(c, page, english_id, "alone", "The Welsh account is suspended until Monday.")
    assert done.status == 302
    with app.app_context():
        english = db.session.get(Delivery, english_id)
        assert english.status == "scheduled" and english.held_with_id is None
        assert english.alone_by_id is not None and english.held_reason is None
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "delivery.released_alone")
        )
        payload = json.loads(bytes(entry.leaf))["payload"]
        assert payload["partner_id"] == welsh_id and payload["language"] == "en"
        assert payload["reason"] == "The Welsh account is suspended until Monday."
    assert (
        publish_job_id(english_id) in Queue(PUBLISH_QUEUE, connection=redis_connection(app)).job_ids
    )
    # A second click finds nothing held any more.
    again = _decide(c, page, english_id, "alone", "Again.")
    assert again.status == 400
    assert "Only a delivery held with its partner" in " ".join(again.errors())


def test_an_officer_chooses_not_to_publish_it_and_the_post_settles(
    app, both, people, channels, clock
):
    post_id = _approved_pair(app, people, channels)
    _, english_id = _welsh_refused(app, post_id)
    page = get(people["c"], f"/posts/{post_id}")
    done = _decide(people["c"], page, english_id, "withhold", "Both go out next week instead.")
    assert done.status == 302
    with app.app_context():
        assert db.session.get(Delivery, english_id).status == "cancelled"
        assert db.session.get(Post, post_id).status == "failed"
        assert db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "delivery.cancelled")
        )


def test_only_an_officer_decides_on_a_held_delivery(app, both, people, channels, clock):
    post_id = _approved_pair(app, people, channels)
    _, english_id = _welsh_refused(app, post_id)
    auditor = people["auditor"]
    page = get(auditor, f"/posts/{post_id}")
    assert page.soup.select_one(f"#held-decision-{english_id}") is None
    for decision in ("alone", "withhold"):
        refused = post_unoffered(
            auditor, page, f"/posts/{post_id}/deliveries/{english_id}/{decision}"
        )
        assert refused.status == 403
    with app.app_context():
        assert db.session.get(Delivery, english_id).status == "held"

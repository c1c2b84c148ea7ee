"""The page cache (gateway.web.page_cache): a kept page is served again only while nothing it
could show has changed, only to the reader it was built for, and never past the sign-in
checks (issue 6, "Speed")."""

from __future__ import annotations

import time

from sqlalchemy import text

from gateway.audit import Actor, record
from gateway.extensions import db
from gateway.web import page_cache
from tests.web.conftest import CLEAN_TEXT, TOMORROW
from tests.web.helpers import get, submit
from tests.web.test_query_counts import counting

PAGES = ["/", "/approvals", "/schedule?start=2027-03-08", "/schedule/month?month=2027-03"]


def _count(page, key: str) -> int:
    return int(page.soup.select_one(f'[data-count="{key}"]').get_text())


def _submit_post(client, channels, text=CLEAN_TEXT) -> int:
    page = get(client, "/posts/new")
    fields = {"text": text, "channels": [str(channels["x"])], **TOMORROW}
    sent = submit(client, page, fields, button=("action", "submit"))
    assert sent.status == 302, sent.errors()
    return int(sent.response.headers["Location"].rstrip("/").split("/")[-1])


def _warm(client, paths=PAGES) -> None:
    for path in paths:
        get(client, path)


def test_a_kept_page_is_served_again_without_its_queries(app, people, channels):
    a = people["a"]
    _warm(a)
    for path in PAGES:
        first = get(a, path)
        with counting(app) as statements:
            again = get(a, path)
        assert again.html == first.html
        # The user with their roles (the sign-in checks), then the log's head: nothing else
        # (SQLite's BEGIN IMMEDIATE aside).
        reads = [s for s in statements if not s.startswith("BEGIN")]
        assert len(reads) == 2, (path, reads)
        assert "audit_head" in reads[-1]


def test_every_change_through_the_gateway_shows_at_once(app, people, channels):
    a, b = people["a"], people["b"]
    _warm(a)
    _warm(b)
    assert _count(get(b, "/"), "to-approve") == 0
    post_id = _submit_post(a, channels)
    # B's kept dashboard and queue were built before A submitted: both show it now.
    assert _count(get(b, "/"), "to-approve") == 1
    assert f"/posts/{post_id}" in get(b, "/approvals").html
    assert _count(get(a, "/"), "mine-awaiting") == 1
    week = get(a, "/schedule?start=2027-03-08")
    assert f"/posts/{post_id}" in week.html

    approved = submit(b, get(b, f"/posts/{post_id}"), action=f"/posts/{post_id}/approve")
    assert approved.status == 302
    assert _count(get(b, "/"), "to-approve") == 0
    assert f"/posts/{post_id}" not in get(b, "/approvals").html
    assert _count(get(a, "/"), "mine-awaiting") == 0
    assert "Approved" in get(a, "/schedule?start=2027-03-08").html

    cancel = submit(a, get(a, f"/posts/{post_id}/cancel"), action=f"/posts/{post_id}/cancel")
    assert cancel.status == 302
    get(a, "/")  # shows the "cancelled" message: built afresh, not kept
    assert f"/posts/{post_id}" not in get(a, "/schedule?start=2027-03-08").html
    assert f"/posts/{post_id}" not in get(b, "/schedule/month?month=2027-03").html


def test_any_entry_in_the_publish_log_makes_every_kept_page_stale(app, people, channels):
    """What the workers do (publish attempts and outcomes, held deliveries) reaches the pages
    the same way: each of those changes writes a log entry in its own transaction."""
    a = people["a"]
    _warm(a)
    with app.app_context():
        db.session.execute(text("UPDATE channels SET display_name = 'Renamed channel'"))
        db.session.commit()
    # Written past the gateway, with no log entry: the kept page does not know yet.
    assert "Renamed channel" not in get(a, "/schedule?start=2027-03-08").html
    with app.app_context():
        record("channel.updated", actor=Actor.system(), obj=("channel", channels["x"]))
        db.session.commit()
    assert "Renamed channel" in get(a, "/schedule?start=2027-03-08").html


def test_a_page_written_past_the_gateway_shows_when_its_time_is_up(app, people, channels):
    app.extensions["gateway.page_cache"] = page_cache.PageCache(seconds=1)
    a = people["a"]
    _warm(a, ["/schedule?start=2027-03-08"])
    with app.app_context():
        db.session.execute(text("UPDATE channels SET display_name = 'Renamed channel'"))
        db.session.commit()
    assert "Renamed channel" not in get(a, "/schedule?start=2027-03-08").html
    time.sleep(1.1)
    assert "Renamed channel" in get(a, "/schedule?start=2027-03-08").html


def test_each_reader_gets_their_own_page(app, people, channels):
    a, b = people["a"], people["b"]
    _submit_post(a, channels)
    a_page, b_page = get(a, "/"), get(b, "/")
    for _ in range(2):
        assert _count(get(a, "/"), "mine-awaiting") == 1
        assert _count(get(b, "/"), "mine-awaiting") == 0
        assert f"Signed in as {people.emails['a']}" in get(a, "/").text()
        assert f"Signed in as {people.emails['b']}" in get(b, "/").text()
    # Each session's forms carry its own CSRF token, kept page or not: B can still sign out.
    assert (
        a_page.soup.select_one('input[name="csrf_token"]')["value"]
        != (b_page.soup.select_one('input[name="csrf_token"]')["value"])
    )
    signed_out = submit(b, get(b, "/"), action="/sign-out")
    assert signed_out.status == 302


def test_the_sign_in_checks_run_before_a_kept_page(app, people, channels):
    a = people["a"]
    _warm(a)
    with app.app_context():
        db.session.execute(
            text("UPDATE users SET active = false WHERE id = :id"), {"id": people.ids["a"]}
        )
        db.session.commit()
    for path in PAGES:
        response = a.get(path)
        assert response.status_code == 302
        assert "/sign-in" in response.headers["Location"]


def test_the_role_check_runs_before_a_kept_page(app, people, channels):
    a = people["a"]
    _warm(a, ["/approvals"])
    with app.app_context():
        # Left with a role that does not approve (with none at all, every page but one sends
        # the person to "an admin must grant you a role": tested in tests/oidc).
        db.session.execute(
            text("UPDATE user_roles SET role = 'auditor' WHERE user_id = :id"),
            {"id": people.ids["a"]},
        )
        db.session.commit()
    assert a.get("/approvals").status_code == 403


def test_a_page_with_a_message_is_built_afresh_and_not_kept(app, people, channels):
    a = people["a"]
    _warm(a)
    page = get(a, "/posts/new")
    saved = submit(
        a, page, {"text": CLEAN_TEXT, "channels": [str(channels["x"])]}, button=("action", "save")
    )
    assert saved.status == 302
    shown = get(a, "/")
    assert "Draft saved" in shown.text()
    assert "Draft saved" not in get(a, "/").text()


def test_the_schedule_is_built_once_for_every_reader(app, people, channels):
    a, b = people["a"], people["b"]
    _warm(a)
    get(b, "/")  # B's session and its CSRF secret
    with counting(app) as statements:
        get(b, "/schedule/month?month=2027-03")
    # B's page is B's own, but its calendar is the one A's page was built from.
    assert not any("deliveries" in s for s in statements), statements


def test_turned_off_every_page_is_built(app, people, channels):
    app.extensions["gateway.page_cache"] = None
    a = people["a"]
    _warm(a)
    with counting(app) as statements:
        get(a, "/schedule/month?month=2027-03")
    assert any("deliveries" in s for s in statements)
    assert not any("audit_head" in s for s in statements)


def _queue(client, page=1) -> tuple[str, list[int]]:
    html = get(client, f"/approvals?page={page}")
    ids = [int(a["href"].rsplit("/", 1)[-1]) for a in html.soup.select("main table a")]
    return html.text(), ids


def test_every_approvers_queue_leaves_out_their_own_posts_and_pages(
    app, people, channels, monkeypatch
):
    """The same queues whether they come from the shared list of awaiting posts (cache on),
    are read for each approver (cache off), or are read because too many posts wait."""
    from gateway.web import queries

    monkeypatch.setattr(queries, "QUEUE_PAGE_ROWS", 2)
    a, b = people["a"], people["b"]
    mine = [_submit_post(a, channels, f"{CLEAN_TEXT} A{i}") for i in range(3)]
    theirs = [_submit_post(b, channels, f"{CLEAN_TEXT} B{i}") for i in range(2)]
    seen = {}
    for mode in ("shared", "too many to share", "cache off"):
        if mode == "too many to share":
            monkeypatch.setattr(queries, "SHARED_QUEUE_LIMIT", 2)
        if mode == "cache off":
            app.extensions["gateway.page_cache"] = None
        b_first, b_page1 = _queue(b)
        b_second, b_page2 = _queue(b, 2)
        a_text, a_page1 = _queue(a)
        assert "waiting for approval: 3." in b_first and "waiting for approval: 2." in a_text
        assert b_page1 + b_page2 == mine, mode
        assert a_page1 == theirs, mode
        seen[mode] = (tuple(b_page1), tuple(b_page2), tuple(a_page1))
    assert len(set(seen.values())) == 1

"""The posts resource (issue 17): the same service, role and object checks as the pages,
problem details for every error, ETag / If-Match, cursor pagination, and the guardrail check
that saves nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from gateway.api.scopes import SCOPES
from gateway.extensions import db
from gateway.models import AuditEntry, Post
from tests.api.conftest import BLOCKED_TEXT, CLEAN_TEXT, TOMORROW, new_post


def _problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return body


def test_create_then_read_with_deliveries_findings_and_etag(people, api, channels):
    made = new_post(api, people, channel_ids=[channels["x"], channels["facebook"]])
    post = made.get_json()
    assert post["status"] == "draft" and post["author_id"] == people.ids["a"]
    assert made.headers["Location"].endswith(f"/api/v1/posts/{post['id']}")
    assert made.headers["ETag"] == f'"post-{post["id"]}-v{post["version"]}"'
    assert sorted(d["platform"] for d in post["deliveries"]) == ["facebook", "x"]
    assert all(d["status"] == "pending" for d in post["deliveries"])
    assert post["actions"]["submit"] and not post["actions"]["approve"]
    read = api.get(f"/api/v1/posts/{post['id']}", headers=people.headers("b"))
    assert read.status_code == 200 and read.headers["ETag"] == made.headers["ETag"]
    body = read.get_json()
    assert body["text"] == CLEAN_TEXT and isinstance(body["findings"], list)
    assert not body["actions"]["edit"] and body["actions"]["take_over"]


def test_field_errors_are_problem_details_with_pointers(people, api, channels):
    missing = _problem(api.post("/api/v1/posts", json={}, headers=people.headers("a")), 422)
    pointers = {e["pointer"] for e in missing["errors"]}
    assert {"/text", "/channel_ids"} <= pointers
    typo = api.post(
        "/api/v1/posts",
        json={"text": CLEAN_TEXT, "channel_ids": [channels["x"]], "schedule_at": TOMORROW},
        headers=people.headers("a"),
    )
    assert [e["pointer"] for e in _problem(typo, 422)["errors"]] == ["/schedule_at"]
    naive = api.post(
        "/api/v1/posts",
        json={
            "text": CLEAN_TEXT,
            "channel_ids": [channels["x"]],
            "scheduled_at": "2027-03-10T10:30",
        },
        headers=people.headers("a"),
    )
    assert "UTC offset" in _problem(naive, 422)["errors"][0]["detail"]
    past = api.post(
        "/api/v1/posts",
        json={
            "text": CLEAN_TEXT,
            "channel_ids": [channels["x"]],
            "scheduled_at": "2027-03-01T10:00:00Z",
        },
        headers=people.headers("a"),
    )
    assert _problem(past, 422)["errors"][0]["pointer"] == "/scheduled_at"
    disabled = api.post(
        "/api/v1/posts",
        json={"text": CLEAN_TEXT, "channel_ids": [channels["instagram"]]},
        headers=people.headers("a"),
    )
    body = _problem(disabled, 422)
    assert body["errors"][0]["pointer"] == "/channel_ids" and "disabled" in body["detail"]


def test_unknown_post_and_unknown_path_are_404_problems(people, api):
    _problem(api.get("/api/v1/posts/999999", headers=people.headers("a")), 404)
    _problem(api.get("/api/v1/no-such-thing", headers=people.headers("a")), 404)


def test_edit_needs_if_match_and_a_stale_one_is_412(app, people, api, channels):
    made = new_post(api, people, channel_ids=[channels["x"]])
    post_id, etag = made.get_json()["id"], made.headers["ETag"]
    url = f"/api/v1/posts/{post_id}"
    _problem(api.patch(url, json={"text": "First change."}, headers=people.headers("a")), 428)
    first = api.patch(
        url, json={"text": "First change."}, headers=people.headers("a", **{"If-Match": etag})
    )
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.get_json()["text"] == "First change." and first.headers["ETag"] != etag
    # A second system still holding the old ETag does not overwrite the first one's change.
    stale = api.patch(
        url, json={"text": "Second change."}, headers=people.headers("a", **{"If-Match": etag})
    )
    body = _problem(stale, 412)
    assert stale.headers["ETag"] == first.headers["ETag"] and "changed" in body["detail"]
    with app.app_context():
        assert db.session.get(Post, post_id).text == "First change."
    # Channels and time are kept when left out.
    assert [d["channel_id"] for d in first.get_json()["deliveries"]] == [channels["x"]]
    assert first.get_json()["scheduled_at"].startswith("2027-03-10T10:30")


def test_only_the_holder_edits(people, api, channels):
    made = new_post(api, people, channel_ids=[channels["x"]])
    response = api.patch(
        f"/api/v1/posts/{made.get_json()['id']}",
        json={"text": "Not mine."},
        headers=people.headers("b", **{"If-Match": made.headers["ETag"]}),
    )
    assert "take it over" in _problem(response, 403)["detail"]


def test_submit_then_nobody_approves_their_own_post(app, people, api, channels):
    post_id = new_post(api, people, channel_ids=[channels["x"]]).get_json()["id"]
    submitted = api.post(f"/api/v1/posts/{post_id}/submit", headers=people.headers("a"))
    assert submitted.status_code == 200, submitted.get_data(as_text=True)
    assert submitted.get_json()["status"] == "awaiting_approval"
    own = api.post(f"/api/v1/posts/{post_id}/approve", headers=people.headers("a"))
    assert "cannot approve your own post" in _problem(own, 403)["detail"]
    own_reject = api.post(
        f"/api/v1/posts/{post_id}/reject", json={"reason": "x"}, headers=people.headers("a")
    )
    _problem(own_reject, 403)
    with app.app_context():
        assert db.session.get(Post, post_id).status == "awaiting_approval"
    approved = api.post(f"/api/v1/posts/{post_id}/approve", headers=people.headers("b"))
    assert approved.status_code == 200, approved.get_data(as_text=True)
    body = approved.get_json()
    assert body["status"] == "approved"
    assert [d["status"] for d in body["deliveries"]] == ["scheduled"]
    again = api.post(f"/api/v1/posts/{post_id}/approve", headers=people.headers("b"))
    assert "already approved" in _problem(again, 409)["detail"]
    with app.app_context():
        actions = list(
            db.session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.object_type == "post", AuditEntry.object_id == str(post_id))
                .order_by(AuditEntry.seq)
            )
        )
    assert "post.created" in actions and "post.submitted" in actions and "post.approved" in actions


def test_an_editor_cannot_approve_after_taking_part(people, api, channels):
    """The two-person rule counts an editor as a writer (issue 20), through the API too."""
    made = new_post(api, people, channel_ids=[channels["x"]])
    post_id = made.get_json()["id"]
    api.post(f"/api/v1/posts/{post_id}/submit", headers=people.headers("a"))
    # Officer A changes it again (back to draft), submits; A still cannot approve.
    read = api.get(f"/api/v1/posts/{post_id}", headers=people.headers("a"))
    edited = api.patch(
        f"/api/v1/posts/{post_id}",
        json={"text": CLEAN_TEXT + " Updated."},
        headers=people.headers("a", **{"If-Match": read.headers["ETag"]}),
    )
    assert edited.get_json()["status"] == "draft"
    api.post(f"/api/v1/posts/{post_id}/submit", headers=people.headers("a"))
    _problem(api.post(f"/api/v1/posts/{post_id}/approve", headers=people.headers("a")), 403)


def test_reject_needs_a_reason_and_cancel_ends_it(people, api, channels):
    post_id = new_post(api, people, channel_ids=[channels["x"]]).get_json()["id"]
    api.post(f"/api/v1/posts/{post_id}/submit", headers=people.headers("a"))
    no_reason = api.post(
        f"/api/v1/posts/{post_id}/reject", json={"reason": ""}, headers=people.headers("b")
    )
    assert _problem(no_reason, 422)["errors"][0]["pointer"] == "/reason"
    rejected = api.post(
        f"/api/v1/posts/{post_id}/reject",
        json={"reason": "Say which roads."},
        headers=people.headers("b"),
    )
    assert rejected.get_json()["status"] == "rejected"
    # A rejected post is reworked or left: it cannot be cancelled (as on the page).
    _problem(api.post(f"/api/v1/posts/{post_id}/cancel", headers=people.headers("a")), 409)
    other = new_post(api, people, channel_ids=[channels["x"]]).get_json()["id"]
    cancelled = api.post(f"/api/v1/posts/{other}/cancel", headers=people.headers("a"))
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert [d["status"] for d in cancelled.get_json()["deliveries"]] == ["cancelled"]


def test_a_monitoring_officer_cannot_approve(people, api, channels):
    post_id = new_post(api, people, channel_ids=[channels["x"]]).get_json()["id"]
    api.post(f"/api/v1/posts/{post_id}/submit", headers=people.headers("a"))
    _problem(api.post(f"/api/v1/posts/{post_id}/approve", headers=people.headers("mo")), 403)


def test_if_match_on_an_action_refuses_a_changed_post(people, api, channels):
    made = new_post(api, people, channel_ids=[channels["x"]])
    post_id = made.get_json()["id"]
    api.patch(
        f"/api/v1/posts/{post_id}",
        json={"text": "Changed by the other system."},
        headers=people.headers("a", **{"If-Match": made.headers["ETag"]}),
    )
    stale = api.post(
        f"/api/v1/posts/{post_id}/submit",
        headers=people.headers("a", **{"If-Match": made.headers["ETag"]}),
    )
    _problem(stale, 412)


def test_a_blocked_submit_is_422_with_the_findings(app, people, api, channels):
    post_id = new_post(api, people, text=BLOCKED_TEXT, channel_ids=[channels["x"]]).get_json()["id"]
    refused = api.post(f"/api/v1/posts/{post_id}/submit", headers=people.headers("a"))
    body = _problem(refused, 422)
    assert body["findings"] and body["findings"][0]["outcome"] == "block"
    assert body["findings"][0]["clause"] and body["findings"][0]["channel_ids"] == [channels["x"]]
    with app.app_context():
        assert db.session.get(Post, post_id).status == "draft"
        verdicts = db.session.scalar(
            select(func.count()).where(AuditEntry.action == "guardrails.verdict")
        )
    assert verdicts == 1  # on the record, as a refused submit on the page is


def test_the_guardrail_check_saves_nothing(app, people, api, channels):
    people.token("a")
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    response = api.post(
        "/api/v1/guardrails/check",
        json={"text": BLOCKED_TEXT, "channel_ids": [channels["x"]]},
        headers=people.headers("a"),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["blocked"] and body["findings"][0]["outcome"] == "block"
    clean = api.post(
        "/api/v1/guardrails/check", json={"text": CLEAN_TEXT}, headers=people.headers("a")
    )
    assert clean.get_json()["blocked"] is False
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Post)) == 0
        after = db.session.scalar(select(func.count()).select_from(AuditEntry))
    assert after == before


def test_the_list_pages_by_cursor(people, api, channels):
    ids = [new_post(api, people, channel_ids=[channels["x"]]).get_json()["id"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = api.get("/api/v1/posts", query_string=query, headers=people.headers("b"))
        assert page.status_code == 200, page.get_data(as_text=True)
        body = page.get_json()
        seen += [p["id"] for p in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    bad = api.get("/api/v1/posts", query_string={"cursor": "nonsense"}, headers=people.headers("b"))
    assert _problem(bad, 422)["errors"][0]["parameter"] == "cursor"
    drafts = api.get(
        "/api/v1/posts", query_string={"status": "approved"}, headers=people.headers("b")
    )
    assert drafts.get_json()["items"] == []


def test_the_openapi_document_and_its_page(app, api):
    spec = api.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    operations = {op["operationId"] for item in spec["paths"].values() for op in item.values()}
    assert operations == {
        "createPost",
        "listPosts",
        "readPost",
        "editPost",
        "submitPost",
        "approvePost",
        "rejectPost",
        "cancelPost",
        "checkText",
        "sendEmergencyPost",
        "listAuditEntries",
        "addPostImage",
        "readPostImage",
        "removePostImage",
        "readSchedule",
        "listChannels",
        "readChannel",
        "listCheckpoints",
        "readLatestCheckpoint",
        "readCheckpoint",
        "signCheckpoint",
        "downloadAuditExport",
        "listApiTokens",
        "revokeApiToken",
        "listWebhookEndpoints",
        "listWebhookMessages",
    }
    # Every operation says which token scope it belongs to (gateway.api.scopes).
    assert all(
        op["x-token-scope"] in SCOPES for item in spec["paths"].values() for op in item.values()
    )
    # The links a client follows from a new post: read, edit, submit, then approve.
    created = spec["paths"]["/api/v1/posts"]["post"]["responses"]["201"]["links"]
    assert created["submit"] == {
        "operationId": "submitPost",
        "parameters": {"post_id": "$response.body#/id", "header.If-Match": "$response.header.ETag"},
    }
    submitted = spec["paths"]["/api/v1/posts/{post_id}/submit"]["post"]["responses"]["200"]
    assert submitted["links"]["approve"]["operationId"] == "approvePost"
    page = api.get("/api/v1/docs")
    assert page.status_code == 200 and "createPost" in page.get_data(as_text=True)

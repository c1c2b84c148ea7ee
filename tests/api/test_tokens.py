"""Personal API tokens (issue 17): made on the account page's form, shown once, stored as a
hash, refused once revoked or expired, limited to the owner's roles, read-only if asked; the
API never takes the session cookie, and a token never opens the pages."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from gateway.extensions import db
from gateway.models import ApiToken, AuditEntry, User
from tests.api.conftest import CLEAN_TEXT, TOMORROW, make_token
from tests.conftest import csrf_token_from


def _entries(app, action):
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        )
        return [(e.object_id, json.loads(bytes(e.leaf))["payload"]) for e in rows]


def _whole_log(app) -> bytes:
    with app.app_context():
        return b"".join(bytes(e.leaf) for e in db.session.scalars(select(AuditEntry)))


def test_a_token_is_shown_once_and_stored_only_as_its_hash(app, people):
    client = people.signed_in("a")
    secret, html = make_token(client, "Website news", days="30")
    assert secret.startswith("cpg_") and len(secret) > 40
    again = client.get("/account/api-tokens").get_data(as_text=True)
    assert secret not in again
    assert "Website news" in again and secret[:10] in again  # its first characters only
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        stored = [str(v) for v in (row.token_hash, row.prefix, row.name)]
        assert all(secret not in value for value in stored)
        assert (row.expires_at - row.created_at).days == 30
        assert row.user_id == people.ids["a"] and not row.read_only
    entries = _entries(app, "user.api_token_created")
    assert len(entries) == 1
    object_id, payload = entries[0]
    assert str(object_id) == str(people.ids["a"])
    assert payload["name"] == "Website news" and payload["expires_at"]
    assert secret.encode() not in _whole_log(app)


def test_the_token_form_needs_its_csrf_token_and_a_name(app, people):
    client = people.signed_in("a")
    refused = client.post("/account/api-tokens", data={"name": "x", "expires": "30"})
    assert refused.status_code == 400
    page = client.get("/account/api-tokens").get_data(as_text=True)
    unnamed = client.post(
        "/account/api-tokens",
        data={"csrf_token": csrf_token_from(page), "name": "", "expires": "30"},
    )
    assert unnamed.status_code == 400
    assert "Enter a name for the token" in unnamed.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(ApiToken)) is None


def test_a_revoked_token_is_refused(app, people, api):
    client = people.signed_in("a")
    secret, _ = make_token(client)
    bearer = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/posts", headers=bearer).status_code == 200
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    page = client.get("/account/api-tokens").get_data(as_text=True)
    revoked = client.post(
        f"/account/api-tokens/{token_id}/revoke", data={"csrf_token": csrf_token_from(page)}
    )
    assert revoked.status_code == 302
    refused = api.get("/api/v1/posts", headers=bearer)
    assert refused.status_code == 401
    assert refused.content_type == "application/problem+json"
    assert "revoked" in refused.get_json()["detail"]
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert [p["token_id"] for _o, p in _entries(app, "user.api_token_revoked")] == [token_id]


def test_someone_else_cannot_revoke_a_token(app, people):
    make_token(people.signed_in("a"))
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    other = people.signed_in("b")
    page = other.get("/account/api-tokens").get_data(as_text=True)
    response = other.post(
        f"/account/api-tokens/{token_id}/revoke", data={"csrf_token": csrf_token_from(page)}
    )
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is None


def test_an_expired_token_is_refused(app, people, api, clock):
    secret, _ = make_token(people.signed_in("a"), days="7")
    bearer = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/posts", headers=bearer).status_code == 200
    clock.shift(timedelta(days=7, minutes=1))
    assert api.get("/api/v1/posts", headers=bearer).status_code == 401


def test_a_deactivated_owners_token_is_refused(app, people, api):
    bearer = people.headers("a")
    assert api.get("/api/v1/posts", headers=bearer).status_code == 200
    with app.app_context():
        db.session.get(User, people.ids["a"]).active = False
        db.session.commit()
    assert api.get("/api/v1/posts", headers=bearer).status_code == 401


def test_an_unknown_or_malformed_token_is_refused(api, people):
    for header in ("Bearer cpg_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer ", "cpg_x"):
        response = api.get("/api/v1/posts", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.get_json()["status"] == 401


def test_a_read_only_token_reads_and_checks_but_cannot_write(app, people, api, channels):
    secret, _ = make_token(people.signed_in("a"), "Dashboard", read_only=True)
    bearer = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/posts", headers=bearer).status_code == 200
    body = {"text": CLEAN_TEXT, "channel_ids": [channels["x"]], "scheduled_at": TOMORROW}
    refused = api.post("/api/v1/posts", json=body, headers=bearer)
    assert refused.status_code == 403
    assert "read-only" in refused.get_json()["detail"]
    checked = api.post("/api/v1/guardrails/check", json={"text": CLEAN_TEXT}, headers=bearer)
    assert checked.status_code == 200
    # A write token of the same person can.
    made = api.post("/api/v1/posts", json=body, headers=people.headers("a"))
    assert made.status_code == 201
    post_id = made.get_json()["id"]
    for path in ("submit", "cancel"):
        response = api.post(f"/api/v1/posts/{post_id}/{path}", headers=bearer)
        assert response.status_code == 403, path
    edit = api.patch(
        f"/api/v1/posts/{post_id}",
        json={"text": "Changed"},
        headers={**bearer, "If-Match": made.headers["ETag"]},
    )
    assert edit.status_code == 403


def test_a_token_has_only_its_owners_roles(people, api, channels):
    body = {"text": CLEAN_TEXT, "channel_ids": [channels["x"]], "scheduled_at": TOMORROW}
    for key in ("auditor", "admin", "mo"):
        response = api.post("/api/v1/posts", json=body, headers=people.headers(key))
        assert response.status_code == 403, key
        assert response.content_type == "application/problem+json"
        # Reading is open to everyone signed in, as the post pages are.
        assert api.get("/api/v1/posts", headers=people.headers(key)).status_code == 200


def test_the_api_never_takes_the_session_cookie(people, channels):
    client = people.signed_in("a")  # a browser that is signed in
    assert client.get("/api/v1/posts").status_code == 401
    body = {"text": CLEAN_TEXT, "channel_ids": [channels["x"]], "scheduled_at": TOMORROW}
    assert client.post("/api/v1/posts", json=body).status_code == 401


def test_a_token_does_not_open_the_pages(app, people):
    bearer = people.headers("a")
    browserless = app.test_client(use_cookies=False)
    response = browserless.get("/", headers=bearer)
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]

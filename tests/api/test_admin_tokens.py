"""Admins see and revoke everyone's API tokens (issue 17), on a page with CSRF and through
the API with an admin's token; each revocation is in the publish log; a deactivated user's
tokens stop at once."""

from __future__ import annotations

import json

from sqlalchemy import select

from gateway.extensions import db
from gateway.models import ApiToken, AuditEntry
from tests.api.conftest import make_token
from tests.conftest import csrf_token_from


def _revocations(app):
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "user.api_token_revoked")
        )
        return [(e.actor_id, e.object_id, json.loads(bytes(e.leaf))["payload"]) for e in rows]


def test_the_admin_page_lists_every_token_and_revokes_one(app, api, people):
    secret, _ = make_token(people.signed_in("a"), "Website news", scopes=["posts:write"])
    make_token(people.signed_in("auditor"), "Log archive", read_only=True)
    bearer = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/schedule", headers=bearer).status_code == 403  # scope, not revoked
    admin = people.signed_in("admin")
    page = admin.get("/admin/api-tokens")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Website news" in html and "Log archive" in html
    assert people.emails["a"] in html and people.emails["auditor"] in html
    assert "Only posts:write" in html and "Read only" in html
    assert secret not in html and secret[:10] in html
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "Website news"))
    # Without its CSRF token nothing happens.
    admin.post(f"/admin/api-tokens/{token_id}/revoke", data={})
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is None
    revoked = admin.post(
        f"/admin/api-tokens/{token_id}/revoke", data={"csrf_token": csrf_token_from(html)}
    )
    assert revoked.status_code == 302
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is not None
    assert api.get("/api/v1/posts", headers=bearer).status_code == 401
    ((actor, obj, payload),) = _revocations(app)
    assert str(actor) == str(people.ids["admin"]) and str(obj) == str(people.ids["a"])
    assert payload["token_id"] == token_id and payload["revoked_by_admin"] is True


def test_only_admins_reach_the_page(people):
    for key in ("a", "auditor", "mo", "duty"):
        client = people.signed_in(key)
        assert client.get("/admin/api-tokens").status_code == 403, key


def test_an_admins_token_lists_and_revokes_through_the_api(app, api, people):
    secret, _ = make_token(people.signed_in("b"), "Gritting")
    admin = people.headers("admin")
    listed = api.get("/api/v1/admin/api-tokens", headers=admin)
    assert listed.status_code == 200
    items = listed.get_json()["items"]
    mine = next(t for t in items if t["name"] == "Gritting")
    assert mine["owner_email"] == people.emails["b"] and mine["state"] == "live"
    assert secret not in listed.get_data(as_text=True)
    assert "token_hash" not in mine
    # A cursor past every id (past PostgreSQL's integer, too) is the first page.
    huge = api.get("/api/v1/admin/api-tokens", query_string={"cursor": "9999999999"}, headers=admin)
    assert huge.status_code == 200 and len(huge.get_json()["items"]) == len(items)
    first = api.get("/api/v1/admin/api-tokens", query_string={"limit": 1}, headers=admin)
    assert len(first.get_json()["items"]) == 1 and first.get_json()["next_cursor"]
    revoked = api.post(f"/api/v1/admin/api-tokens/{mine['id']}/revoke", headers=admin)
    assert revoked.status_code == 200 and revoked.get_json()["state"] == "revoked"
    assert (
        api.get("/api/v1/posts", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    )
    assert api.post("/api/v1/admin/api-tokens/999999/revoke", headers=admin).status_code == 404
    # Nobody else may, whatever their token.
    for key in ("a", "auditor", "mo"):
        assert api.get("/api/v1/admin/api-tokens", headers=people.headers(key)).status_code == 403
        response = api.post(
            f"/api/v1/admin/api-tokens/{mine['id']}/revoke", headers=people.headers(key)
        )
        assert response.status_code == 403


def test_deactivating_a_user_on_the_admin_page_stops_their_tokens_at_once(app, api, people):
    bearer = people.headers("a")
    assert api.get("/api/v1/posts", headers=bearer).status_code == 200
    admin = people.signed_in("admin")
    page = admin.get(f"/admin/users/{people.ids['a']}").get_data(as_text=True)
    done = admin.post(
        f"/admin/users/{people.ids['a']}/deactivate", data={"csrf_token": csrf_token_from(page)}
    )
    assert done.status_code == 302
    refused = api.get("/api/v1/posts", headers=bearer)
    assert refused.status_code == 401
    listed = api.get("/api/v1/admin/api-tokens", headers=people.headers("admin")).get_json()
    assert {t["owner_email"]: t["state"] for t in listed["items"]}[people.emails["a"]] == (
        "owner_deactivated"
    )

"""Tokens narrowed to some operations (issue 17): chosen on the account page's form, enforced
for every operation in one place (gateway.api.auth), and always within the owner's current
roles: a scope never gives a role."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from gateway.api.scopes import SCOPES, scope_of
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import ApiToken, AuditEntry, User, UserRole
from gateway.security import PERMISSION_ATTR, PUBLIC
from tests.api.conftest import CLEAN_TEXT, TOMORROW, make_token, new_post
from tests.conftest import csrf_token_from


def test_every_api_operation_names_a_known_scope(app):
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        view = app.view_functions[rule.endpoint]
        if getattr(view, PERMISSION_ATTR, None) == PUBLIC:
            continue  # the document and its page
        if scope_of(view) not in SCOPES:
            missing.append(rule.rule)
    assert missing == []


def test_the_form_offers_only_the_scopes_the_owners_roles_can_use(people):
    page = people.signed_in("auditor").get("/account/api-tokens").get_data(as_text=True)
    assert 'value="audit:read"' in page and 'value="posts:read"' in page
    assert 'value="posts:write"' not in page and 'value="tokens:admin"' not in page
    officer = people.signed_in("a").get("/account/api-tokens").get_data(as_text=True)
    assert 'value="posts:approve"' in officer and 'value="audit:read"' not in officer
    # One the roles do not allow, sent anyway, is refused and nothing is made.
    client = people.signed_in("a")
    page = client.get("/account/api-tokens").get_data(as_text=True)
    refused = client.post(
        "/account/api-tokens",
        data={
            "csrf_token": csrf_token_from(page),
            "name": "Sneaky",
            "expires": "30",
            "scopes": ["tokens:admin"],
        },
    )
    assert refused.status_code == 400
    with people.app.app_context():
        assert db.session.scalar(select(ApiToken).where(ApiToken.name == "Sneaky")) is None


def test_a_narrowed_token_calls_only_its_operations(app, api, people, channels):
    client = people.signed_in("a")
    secret, html = make_token(client, "News reader", scopes=["posts:read"])
    assert "Only posts:read" in client.get("/account/api-tokens").get_data(as_text=True)
    reader = {"Authorization": f"Bearer {secret}"}
    post = new_post(api, people, channel_ids=[channels["x"]]).get_json()
    assert api.get(f"/api/v1/posts/{post['id']}", headers=reader).status_code == 200
    assert api.get("/api/v1/schedule", headers=reader).status_code == 200
    body = {"text": CLEAN_TEXT, "channel_ids": [channels["x"]], "scheduled_at": TOMORROW}
    for method, path, kwargs in (
        ("post", "/api/v1/posts", {"json": body}),
        ("post", f"/api/v1/posts/{post['id']}/submit", {}),
        ("post", "/api/v1/guardrails/check", {"json": {"text": CLEAN_TEXT}}),
        ("get", "/api/v1/channels", {}),
    ):
        refused = getattr(api, method)(path, headers=reader, **kwargs)
        assert refused.status_code == 403, path
        problem = refused.get_json()
        assert problem["type"].endswith("#problem-token-scope"), path
        assert "posts:read" in problem["detail"]
    with app.app_context():
        row = db.session.scalar(select(ApiToken).where(ApiToken.name == "News reader"))
        assert row.scopes == "posts:read"
        payloads = [
            json.loads(bytes(e.leaf))["payload"]
            for e in db.session.scalars(
                select(AuditEntry).where(AuditEntry.action == "user.api_token_created")
            )
        ]
        assert {p["name"]: p["scopes"] for p in payloads} == {
            "News reader": ["posts:read"],
            "a system": None,
        }


def test_a_scope_is_always_within_the_owners_current_roles(app, api, people, channels):
    # A writer's token for posts:write and posts:approve: it approves others' posts...
    secret, _ = make_token(people.signed_in("b"), "Approver", scopes=["posts:approve"])
    approver = {"Authorization": f"Bearer {secret}"}
    post = new_post(api, people, channel_ids=[channels["x"]]).get_json()
    api.post(f"/api/v1/posts/{post['id']}/submit", headers=people.headers("a"))
    # ...until its owner loses the officer role: the same token is refused at once.
    with app.app_context():
        user = db.session.get(User, people.ids["b"])
        user.role_rows = [UserRole(role=Role.AUDITOR.value)]
        db.session.commit()
    refused = api.post(f"/api/v1/posts/{post['id']}/approve", headers=approver)
    assert refused.status_code == 403
    # And a scope its owner's roles never allowed cannot be given to it at all.
    with pytest.raises(Exception, match="do not allow"):
        from gateway.api import tokens

        with app.app_context():
            tokens.create(
                db.session.get(User, people.ids["a"]),
                name="x",
                days=30,
                read_only=False,
                scopes=["audit:read"],
            )


def test_a_scoped_approvers_token_cannot_approve_its_owners_post(app, api, people, channels):
    secret, _ = make_token(people.signed_in("a"), "Approver", scopes=["posts:approve"])
    post = new_post(api, people, channel_ids=[channels["x"]]).get_json()
    api.post(f"/api/v1/posts/{post['id']}/submit", headers=people.headers("a"))
    refused = api.post(
        f"/api/v1/posts/{post['id']}/approve", headers={"Authorization": f"Bearer {secret}"}
    )
    assert refused.status_code == 403
    assert refused.get_json()["type"].endswith("#problem-not-allowed")


def test_a_duty_officers_emergency_only_token(app, api, people, channels):
    secret, _ = make_token(people.signed_in("duty"), "Flood alerts", scopes=["emergency:send"])
    bearer = {"Authorization": f"Bearer {secret}"}
    body = {"text": CLEAN_TEXT, "channel_ids": [channels["x"]], "scheduled_at": TOMORROW}
    assert api.post("/api/v1/posts", json=body, headers=bearer).status_code == 403
    assert api.get("/api/v1/posts", headers=bearer).status_code == 403

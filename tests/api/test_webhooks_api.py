"""Webhook endpoints in the API (issue 17): an admin's token reads them and their messages
(never a secret); every other role's token is refused."""

from __future__ import annotations

from gateway.audit import Actor
from gateway.extensions import db
from gateway.webhooks import endpoints


def _endpoint(app) -> tuple[int, str]:
    with app.app_context():
        endpoint, secret = endpoints.create(
            url="https://93.184.216.34/hooks",
            description="Website news",
            events=["post.submitted", "post.approved"],
            enabled=True,
            actor=Actor.system(),
        )
        db.session.commit()
        return endpoint.id, secret


def test_an_admins_token_reads_endpoints_and_their_messages(app, api, people, channels):
    endpoint_id, secret = _endpoint(app)
    from tests.api.conftest import new_post

    post_id = new_post(api, people, channel_ids=[channels["x"]]).get_json()["id"]
    submitted = api.post(f"/api/v1/posts/{post_id}/submit", headers=people.headers("a"))
    assert submitted.status_code == 200
    listed = api.get("/api/v1/webhooks", headers=people.headers("admin"))
    assert listed.status_code == 200
    [item] = listed.get_json()["items"]
    assert item["id"] == endpoint_id and item["events"] == ["post.submitted", "post.approved"]
    assert item["waiting"] == 1
    assert secret not in listed.get_data(as_text=True)
    shown = api.get(f"/api/v1/webhooks/{endpoint_id}/messages", headers=people.headers("admin"))
    assert shown.status_code == 200
    [message] = shown.get_json()["items"]
    assert message["event_type"] == "post.submitted" and message["status"] == "pending"
    assert f'"post_id":{post_id}' in message["body"] and message["attempts"] == []
    missing = api.get("/api/v1/webhooks/999/messages", headers=people.headers("admin"))
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/problem+json"


def test_other_roles_tokens_are_refused(app, api, people):
    endpoint_id, _ = _endpoint(app)
    for key in ("a", "duty", "mo", "auditor"):
        for path in ("/api/v1/webhooks", f"/api/v1/webhooks/{endpoint_id}/messages"):
            response = api.get(path, headers=people.headers(key))
            assert response.status_code == 403, (key, path)
    assert api.get("/api/v1/webhooks").status_code == 401


def test_the_document_lists_them(api):
    paths = api.get("/api/v1/openapi.json").get_json()["paths"]
    assert "get" in paths["/api/v1/webhooks"]
    assert "get" in paths["/api/v1/webhooks/{endpoint_id}/messages"]

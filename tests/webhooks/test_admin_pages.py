"""The admin pages for webhooks (issue 17): admins only, CSRF on every form, the secret shown
once and kept encrypted, every change in the publish log without the secret, and each
message's payload and attempts on the endpoint's page."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import AuditEntry, WebhookEndpoint
from gateway.webhooks.events import EVENT_TYPES
from gateway.webhooks.signing import decrypt_secret
from tests.conftest import csrf_token_from

URL = "https://93.184.216.34/council-hooks"


def _secret_on(html: str) -> str:
    match = re.search(r'<code id="signing-secret">([^<]+)</code>', html)
    assert match, "the secret is not shown"
    return match.group(1)


def _add(client, url=URL, events=("post.published", "post.held"), enabled="on"):
    page = client.get("/admin/webhooks/new")
    assert page.status_code == 200
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(
        "/admin/webhooks/new",
        data={
            "csrf_token": token,
            "url": url,
            "description": "Website news",
            "events": list(events),
            "enabled": enabled,
        },
    )


def _log(app):
    with app.app_context():
        return [
            (e.action, json.loads(bytes(e.leaf))["payload"], bytes(e.leaf))
            for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
            if e.action.startswith("webhook.")
        ]


PAGES = [
    ("GET", "/admin/webhooks"),
    ("GET", "/admin/webhooks/new"),
    ("POST", "/admin/webhooks/new"),
    ("GET", "/admin/webhooks/{id}"),
    ("POST", "/admin/webhooks/{id}"),
    ("POST", "/admin/webhooks/{id}/rotate-secret"),
    ("POST", "/admin/webhooks/{id}/delete"),
]


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN], ids=lambda r: r.value)
def test_only_an_admin_reaches_the_pages(app, client, auth, role, quick_password_hashing):
    admin_client = app.test_client()
    admin_client.environ_base["HTTP_REFERER"] = "https://localhost/"
    from tests.conftest import AuthActions

    AuthActions(app, admin_client).sign_in_as(Role.ADMIN)
    made = _add(admin_client)
    assert made.status_code == 200
    with app.app_context():
        endpoint_id = db.session.scalar(select(WebhookEndpoint.id))
    auth.sign_in_as(role)
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    for method, path in PAGES:
        path = path.format(id=endpoint_id)
        data = {"csrf_token": token, "url": URL, "events": ["post.held"], "enabled": "on"}
        response = client.open(path, method=method, data=data if method == "POST" else None)
        assert response.status_code == 403, (method, path, role)
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert endpoint.deleted_at is None and endpoint.event_types == [
            "post.published",
            "post.held",
        ]


def test_signed_out_visitors_are_sent_to_sign_in(client):
    token = csrf_token_from(client.get("/sign-in").get_data(as_text=True))
    for method, path in PAGES:
        data = {"csrf_token": token} if method == "POST" else None
        response = client.open(path.format(id=1), method=method, data=data)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_forms_without_the_csrf_token_change_nothing(app, client, auth, quick_password_hashing):
    auth.sign_in_as(Role.ADMIN)
    response = client.post(
        "/admin/webhooks/new", data={"url": URL, "events": ["post.held"], "enabled": "on"}
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalars(select(WebhookEndpoint)).all() == []
    assert _add(client).status_code == 200
    with app.app_context():
        endpoint_id = db.session.scalar(select(WebhookEndpoint.id))
    for path in (
        f"/admin/webhooks/{endpoint_id}/rotate-secret",
        f"/admin/webhooks/{endpoint_id}/delete",
    ):
        assert client.post(path, data={}).status_code == 400
    assert (
        client.post(f"/admin/webhooks/{endpoint_id}", data={"url": "https://1.1.1.1/x"}).status_code
        == 400
    )
    assert [a for a, _, _ in _log(app)] == ["webhook.created"]


def test_an_admin_adds_changes_rotates_and_deletes_an_endpoint(
    app,
    client,
    auth,
    quick_password_hashing,
):
    auth.sign_in_as(Role.ADMIN)
    made = _add(client)
    html = made.get_data(as_text=True)
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    secret = _secret_on(html)
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
    Webhook(secret)  # a secret the Standard Webhooks library takes
    with app.app_context():
        endpoint = db.session.scalar(select(WebhookEndpoint))
        endpoint_id = endpoint.id
        # Encrypted at rest, bound to its row: not in the row as text, but it decrypts.
        assert secret.encode() not in bytes(endpoint.secret_encrypted)
        assert secret[6:].encode() not in bytes(endpoint.secret_encrypted)
        assert decrypt_secret(endpoint.id, endpoint.secret_encrypted) == secret
    # Shown once: the endpoint's page and the list never show it again.
    page = client.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)
    assert secret not in page and secret not in client.get("/admin/webhooks").get_data(as_text=True)
    assert URL in client.get("/admin/webhooks").get_data(as_text=True)
    # Change its events and switch it off.
    token = csrf_token_from(page)
    saved = client.post(
        f"/admin/webhooks/{endpoint_id}",
        data={
            "csrf_token": token,
            "url": URL,
            "description": "Website news",
            "events": ["post.failed"],
            "enabled": "off",
        },
    )
    assert saved.status_code == 302
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert endpoint.event_types == ["post.failed"] and not endpoint.enabled
    # Rotate, keeping the old secret for a day (the page's first button): a new secret,
    # shown once, and the page says until when the old one signs beside it.
    buttons = BeautifulSoup(page, "html.parser").select("form[action$=rotate-secret] button")
    assert [(b["name"], b["value"]) for b in buttons] == [("overlap", "keep"), ("overlap", "now")]
    rotated = client.post(
        f"/admin/webhooks/{endpoint_id}/rotate-secret",
        data={"csrf_token": token, "overlap": "keep"},
    )
    kept_secret = _secret_on(rotated.get_data(as_text=True))
    assert kept_secret != secret
    assert "signed with the old secret too" in rotated.get_data(as_text=True)
    shown = client.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)
    made = BeautifulSoup(shown, "html.parser").select_one("#secret-made").get_text()
    assert "The old secret signs every message beside it until" in made
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert decrypt_secret(endpoint.id, endpoint.secret_encrypted) == kept_secret
        assert endpoint.previous_secret_until is not None
    # Rotate now (a leaked secret; also what a form without the choice does): the old one
    # no longer opens, and no older one is kept.
    rotated = client.post(
        f"/admin/webhooks/{endpoint_id}/rotate-secret", data={"csrf_token": token}
    )
    new_secret = _secret_on(rotated.get_data(as_text=True))
    assert new_secret not in (secret, kept_secret)
    assert "The old secret no longer signs anything" in rotated.get_data(as_text=True)
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert decrypt_secret(endpoint.id, endpoint.secret_encrypted) == new_secret
        assert endpoint.previous_secret_encrypted is None
        assert endpoint.previous_secret_until is None
    # Delete: gone from the pages.
    deleted = client.post(f"/admin/webhooks/{endpoint_id}/delete", data={"csrf_token": token})
    assert deleted.status_code == 302
    listed = BeautifulSoup(client.get("/admin/webhooks").get_data(as_text=True), "html.parser")
    assert URL not in listed.select_one("table").get_text()
    assert client.get(f"/admin/webhooks/{endpoint_id}").status_code == 404
    log = _log(app)
    assert [a for a, _, _ in log] == [
        "webhook.created",
        "webhook.changed",
        "webhook.secret_rotated",
        "webhook.secret_rotated",
        "webhook.deleted",
    ]
    assert log[2][1]["old_secret_signs_until"] and log[3][1]["old_secret_signs_until"] is None
    assert log[0][1]["events"] == ["post.published", "post.held"] and log[0][1]["url"] == URL
    assert sorted(log[1][1]["changed"]) == ["enabled", "events"]
    for _, _, leaf in log:  # never the secret, in any form
        for s in (secret, kept_secret, new_secret):
            assert s.encode() not in leaf and s[6:].encode() not in leaf


def test_a_private_address_is_refused_on_the_form(app, client, auth, quick_password_hashing):
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
    auth.sign_in_as(Role.ADMIN)
    for url in ("https://127.0.0.1/hooks", "https://10.0.0.8/hooks", "http://93.184.216.34/x"):
        response = _add(client, url=url)
        assert response.status_code == 400
        soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
        assert soup.select_one(".govuk-error-summary"), url
    with app.app_context():
        assert db.session.scalars(select(WebhookEndpoint)).all() == []


def test_every_event_can_be_chosen_and_one_is_required(app, client, auth, quick_password_hashing):
    auth.sign_in_as(Role.ADMIN)
    page = client.get("/admin/webhooks/new").get_data(as_text=True)
    soup = BeautifulSoup(page, "html.parser")
    values = [i["value"] for i in soup.select('input[name="events"]')]
    assert values == list(EVENT_TYPES)
    assert _add(client, events=()).status_code == 400


def test_the_endpoints_page_shows_each_message_with_its_payload_and_attempts(
    app,
    client,
    auth,
    quick_password_hashing,
    clock,
    fake,
    channels,
    officers,
    receiver,
):
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    auth.sign_in_as(Role.ADMIN)
    made = _add(client, url=receiver.url, events=["post.submitted"])
    receiver.secret = _secret_on(made.get_data(as_text=True))
    receiver.status = 503
    from tests.publishing.conftest import approved_post
    from tests.webhooks.test_delivery import run_webhooks

    # Due in a few minutes, not at once: only the post.submitted message is looked at, and a
    # busy machine took over a second between making the post and approving it.
    approved_post(app, officers, [channels["x"]], due_in=timedelta(minutes=5))
    run_webhooks(app)
    with app.app_context():
        endpoint_id = db.session.scalar(select(WebhookEndpoint.id))
    page = client.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)
    soup = BeautifulSoup(page, "html.parser")
    [details] = soup.select("details.govuk-details")
    assert "post.submitted" in details.get_text()
    assert '"type":"post.submitted"' in details.select_one("pre").get_text()
    cells = [td.get_text(strip=True) for td in details.select("tbody td")]
    assert cells[1] == "503" and "HTTP 503" in cells[3] and cells[2].endswith("ms")
    assert receiver.received and receiver.received[0].verified

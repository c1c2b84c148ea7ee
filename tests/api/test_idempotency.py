"""Idempotency-Key on every POST (issue 17): a retry gets the first answer and changes nothing,
the same key with another body is a 422, keys are per token and kept 24 hours, and two
identical POSTs at once make one post (the key's unique row, on PostgreSQL with threads)."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from gateway.extensions import db
from gateway.models import ApiIdempotencyKey, AuditEntry, Post
from tests.api.conftest import CLEAN_TEXT, TOMORROW, new_post


def _count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _body(channels, text=CLEAN_TEXT):
    return {"text": text, "channel_ids": [channels["x"]], "scheduled_at": TOMORROW}


def test_a_retried_post_gets_the_first_answer_and_creates_nothing(app, api, people, channels):
    headers = people.headers("a", **{"Idempotency-Key": str(uuid.uuid4())})
    first = api.post("/api/v1/posts", json=_body(channels), headers=headers)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = api.post("/api/v1/posts", json=_body(channels), headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Location"] == first.headers["Location"]
    assert _count(app, Post) == 1
    assert _count(app, AuditEntry, AuditEntry.action == "post.created") == 1


def test_the_same_fields_in_another_order_are_the_same_request(app, api, people, channels):
    headers = people.headers("a", **{"Idempotency-Key": "news-item-1234"})
    body = _body(channels)
    first = api.post("/api/v1/posts", json=body, headers=headers)
    reordered = dict(reversed(list(body.items())))
    again = api.post("/api/v1/posts", json=reordered, headers=headers)
    assert again.status_code == 201 and again.get_json()["id"] == first.get_json()["id"]


def test_the_same_key_with_another_body_is_a_422(app, api, people, channels):
    headers = people.headers("a", **{"Idempotency-Key": "news-item-1"})
    assert api.post("/api/v1/posts", json=_body(channels), headers=headers).status_code == 201
    other = api.post("/api/v1/posts", json=_body(channels, "Another text."), headers=headers)
    assert other.status_code == 422
    assert other.content_type == "application/problem+json"
    assert other.get_json()["errors"][0]["parameter"] == "Idempotency-Key"
    # On another path it is another request too.
    post_id = api.get("/api/v1/posts", headers=people.headers("a")).get_json()["items"][0]["id"]
    submit = api.post(f"/api/v1/posts/{post_id}/submit", headers=headers)
    assert submit.status_code == 422
    assert _count(app, Post) == 1


def test_keys_are_per_token(app, api, people, channels):
    key = {"Idempotency-Key": "shared-key"}
    a = api.post("/api/v1/posts", json=_body(channels), headers=people.headers("a", **key))
    b = api.post("/api/v1/posts", json=_body(channels), headers=people.headers("b", **key))
    assert a.status_code == b.status_code == 201
    assert a.get_json()["id"] != b.get_json()["id"]


def test_a_key_is_kept_for_24_hours(app, api, people, channels, clock):
    headers = people.headers("a", **{"Idempotency-Key": "daily-bulletin"})
    first = api.post("/api/v1/posts", json=_body(channels), headers=headers)
    clock.shift(timedelta(hours=23))
    assert api.post("/api/v1/posts", json=_body(channels), headers=headers).headers.get(
        "Idempotent-Replayed"
    )
    clock.shift(timedelta(hours=1, minutes=1))
    later = api.post("/api/v1/posts", json=_body(channels), headers=headers)
    assert later.status_code == 201 and "Idempotent-Replayed" not in later.headers
    assert later.get_json()["id"] != first.get_json()["id"]
    assert _count(app, ApiIdempotencyKey) == 1  # the old one was dropped


def test_a_retried_approval_gets_its_first_answer(app, api, people, channels):
    post_id = new_post(api, people, channel_ids=[channels["x"]]).get_json()["id"]
    api.post(f"/api/v1/posts/{post_id}/submit", headers=people.headers("a"))
    headers = people.headers("b", **{"Idempotency-Key": f"approve-{post_id}"})
    first = api.post(f"/api/v1/posts/{post_id}/approve", headers=headers)
    assert first.status_code == 200, first.get_data(as_text=True)
    again = api.post(f"/api/v1/posts/{post_id}/approve", headers=headers)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert _count(app, AuditEntry, AuditEntry.action == "post.approved") == 1
    # Without the key, the second click is told it is already approved, as on the page.
    assert (
        api.post(f"/api/v1/posts/{post_id}/approve", headers=people.headers("b")).status_code == 409
    )


def test_a_refusal_is_kept_too(app, api, people, channels):
    headers = people.headers("a", **{"Idempotency-Key": "bad-request"})
    first = api.post("/api/v1/posts", json={"text": ""}, headers=headers)
    again = api.post("/api/v1/posts", json={"text": ""}, headers=headers)
    assert first.status_code == again.status_code == 422
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"]


def test_a_malformed_key_is_refused(api, people, channels):
    headers = people.headers("a", **{"Idempotency-Key": "has spaces in it"})
    response = api.post("/api/v1/posts", json=_body(channels), headers=headers)
    assert response.status_code == 422


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_identical_posts_at_once_make_one_post(app, people, channels):
    """Eight threads send the same POST with the same key at the same moment."""
    headers = people.headers("a", **{"Idempotency-Key": str(uuid.uuid4())})
    body = _body(channels)
    threads = 8
    start = threading.Barrier(threads)
    answers: list = []
    lock = threading.Lock()

    def send():
        client = app.test_client(use_cookies=False)
        start.wait()
        response = client.post("/api/v1/posts", json=body, headers=headers)
        with lock:
            answers.append((response.status_code, response.get_json()))

    workers = [threading.Thread(target=send) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert _count(app, Post) == 1
    statuses = sorted(status for status, _ in answers)
    assert set(statuses) <= {201, 409}, answers
    made = {body["id"] for status, body in answers if status == 201}
    assert len(made) == 1
    refused = [body for status, body in answers if status == 409]
    assert all("still being handled" in b["detail"] or "just ended" in b["detail"] for b in refused)

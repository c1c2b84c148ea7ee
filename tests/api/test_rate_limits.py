"""Per-token rate limits (issue 17), counted in the test's own Redis, with the RateLimit
headers of the IETF draft on every answer to a token and a 429 problem past the limit."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from gateway.extensions import db
from gateway.models import ApiIdempotencyKey, Post


def test_each_answer_says_the_limit_and_what_is_left(app, api, people):
    app.config["API_RATE_LIMIT"] = "3 per minute;100 per hour"
    bearer = people.headers("a")
    seen = []
    for _ in range(3):
        response = api.get("/api/v1/posts", headers=bearer)
        assert response.status_code == 200
        assert response.headers["RateLimit-Policy"] == (
            '"per-minute";q=3;w=60, "per-hour";q=100;w=3600'
        )
        minute = re.match(r'"per-minute";r=(\d+);t=(\d+)', response.headers["RateLimit"])
        assert minute, response.headers["RateLimit"]
        remaining, reset = int(minute.group(1)), int(minute.group(2))
        assert 0 < reset <= 60
        seen.append(remaining)
    assert seen == [2, 1, 0]
    refused = api.get("/api/v1/posts", headers=bearer)
    assert refused.status_code == 429
    assert refused.content_type == "application/problem+json"
    assert "too many calls" in refused.get_json()["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit"].startswith('"per-minute";r=0;')


def test_limits_are_per_token(app, api, people, channels):
    app.config["API_RATE_LIMIT"] = "2 per minute"
    for _ in range(2):
        assert api.get("/api/v1/posts", headers=people.headers("a")).status_code == 200
    assert api.get("/api/v1/posts", headers=people.headers("a")).status_code == 429
    # Another token, even of another system, has its own count.
    assert api.get("/api/v1/posts", headers=people.headers("b")).status_code == 200


def test_a_refused_call_changes_nothing(app, api, people, channels):
    app.config["API_RATE_LIMIT"] = "1 per minute"
    body = {"text": "Bins go out on Wednesday.", "channel_ids": [channels["x"]]}
    assert api.post("/api/v1/posts", json=body, headers=people.headers("a")).status_code == 201
    headers = people.headers("a", **{"Idempotency-Key": "after-the-limit"})
    assert api.post("/api/v1/posts", json=body, headers=headers).status_code == 429
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Post)) == 1
        # The key was not claimed: the same request can be sent again once the window passes.
        assert db.session.scalar(select(func.count()).select_from(ApiIdempotencyKey)) == 0


def test_no_token_no_count(api):
    response = api.get("/api/v1/posts")
    assert response.status_code == 401 and "RateLimit" not in response.headers

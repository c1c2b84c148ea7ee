"""Emergency posts through the API (issue 17): a duty officer's token sends one as the
emergency form does (gateway.posts.emergency.send): out at once at night, fast-tracked in
office hours, refused by the guardrails that still apply, never twice for one key."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from gateway.extensions import db
from gateway.models import AuditEntry, Post
from tests.api.conftest import BLOCKED_TEXT

LONDON = ZoneInfo("Europe/London")
#: Wednesday 10 March 2027 at 3am: out of office hours.
NIGHT = datetime(2027, 3, 10, 3, 0, tzinfo=LONDON)
FLOOD = (
    "Flood warning: the River Medway is expected to overflow at Sandling tonight. Avoid the A229."
)


def _send(api, people, channels, key="duty", text=FLOOD, **headers):
    return api.post(
        "/api/v1/emergency-posts",
        json={"text": text, "category": "flooding", "channel_ids": [channels["x"]]},
        headers=people.headers(key, **headers),
    )


def _actions(app):
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def test_at_night_it_goes_out_at_once(app, api, people, channels, clock):
    people.token("duty")
    clock.move_to(NIGHT)
    response = _send(api, people, channels)
    assert response.status_code == 201, response.get_data(as_text=True)
    post = response.get_json()
    assert post["emergency_category"] == "flooding" and post["emergency_release"] == "at_once"
    assert [d["status"] for d in post["deliveries"]] == ["scheduled"]
    assert "emergency.published" in _actions(app)


def test_in_office_hours_it_goes_to_fast_track_approval(app, api, people, channels):
    response = _send(api, people, channels)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["emergency_release"] == "fast_track"
    assert response.get_json()["status"] == "awaiting_approval"


def test_only_a_duty_officer_token_sends_one(app, api, people, channels):
    for key in ("a", "mo", "admin", "auditor"):
        response = _send(api, people, channels, key=key)
        assert response.status_code == 403, key
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Post)) == 0


def test_the_guardrails_still_refuse_it_with_their_findings(app, api, people, channels, clock):
    people.token("duty")
    clock.move_to(NIGHT)
    response = _send(api, people, channels, text=BLOCKED_TEXT)
    assert response.status_code == 422
    body = response.get_json()
    assert body["findings"] and body["findings"][0]["outcome"] == "block"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Post)) == 0


def test_a_retry_with_its_key_never_posts_twice(app, api, people, channels, clock):
    people.token("duty")
    clock.move_to(NIGHT)
    first = _send(api, people, channels, **{"Idempotency-Key": "medway-2027-03-10-0300"})
    again = _send(api, people, channels, **{"Idempotency-Key": "medway-2027-03-10-0300"})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Post)) == 1
    assert _actions(app).count("emergency.published") == 1


def test_the_hourly_limit_is_a_429(app, api, people, channels, clock):
    app.config["EMERGENCY_POSTS_PER_HOUR"] = 1
    people.token("duty")
    clock.move_to(NIGHT)
    assert _send(api, people, channels).status_code == 201
    refused = _send(api, people, channels, text=FLOOD + " Update.")
    assert refused.status_code == 429
    assert "in the last hour" in refused.get_json()["detail"]

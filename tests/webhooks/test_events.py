"""Which publish-log entries are webhook events, and what a receiver is told (pure)."""

from __future__ import annotations

import pytest

from gateway.webhooks.events import EVENT_TYPES, body_of, event_for, events_for


@pytest.mark.parametrize(
    "action,payload,expected",
    [
        ("post.submitted", {}, "post.submitted"),
        ("post.approved", {"approver_id": 3, "round": 1}, "post.approved"),
        ("delivery.outcome", {"outcome": "published"}, "post.published"),
        ("delivery.outcome", {"outcome": "failed"}, "post.failed"),
        ("delivery.outcome", {"outcome": "held"}, "post.held"),
        ("delivery.outcome", {"outcome": "unknown"}, "post.held"),
        ("delivery.outcome", {"outcome": "retry"}, None),
        ("delivery.held", {"reason": "Held with its Welsh post"}, "post.held"),
        ("delivery.blocked", {"reason": "changed"}, "post.blocked"),
        ("emergency.published", {"category": "flooding"}, "emergency.sent"),
        ("channel.needs_reauthorisation", {"reason": "revoked"}, "channel.needs_reconnecting"),
        ("post.created", {}, None),
        ("delivery.attempt", {}, None),
        ("user.created", {}, None),
    ],
)
def test_each_listed_state_change_is_an_event(action, payload, expected):
    event = event_for(action, ("post", "7"), payload)
    assert (event.type if event else None) == expected
    if expected:
        assert expected in EVENT_TYPES


def test_the_data_holds_ids_and_reasons_never_a_person_or_the_text():
    event = event_for(
        "post.approved",
        ("post", "42"),
        {"approver_id": 3, "author_id": 2, "editor_ids": [2], "fingerprint": "ab", "round": 1},
    )
    assert event.data == {"post_id": 42, "round": 1}
    outcome = event_for(
        "delivery.outcome",
        ("delivery", "9"),
        {
            "post_id": 42,
            "delivery_id": 9,
            "channel_id": 1,
            "platform": "x",
            "outcome": "published",
            "platform_post_id": "1234",
            "error_class": None,
            "attempt_id": "a-b",
        },
    )
    assert outcome.data == {
        "post_id": 42,
        "delivery_id": 9,
        "channel_id": 1,
        "platform": "x",
        "outcome": "published",
        "platform_post_id": "1234",
    }


def test_the_body_is_in_the_standard_webhooks_shape():
    event = event_for("channel.needs_reauthorisation", ("channel", "5"), {"platform": "x"})
    body = body_of(event, timestamp="2027-03-09T10:00:00.000000Z", links={})
    assert body == {
        "type": "channel.needs_reconnecting",
        "timestamp": "2027-03-09T10:00:00.000000Z",
        "data": {"channel_id": 5, "platform": "x"},
    }


def test_an_emergency_posts_fast_track_approval_is_also_emergency_sent():
    fast = events_for("post.approved", ("post", "7"), {"round": 1, "category": "flooding"})
    assert [e.type for e in fast] == ["post.approved", "emergency.sent"]
    assert fast[1].data == {"post_id": 7, "round": 1, "category": "flooding"}
    ordinary = events_for("post.approved", ("post", "8"), {"round": 1})
    assert [e.type for e in ordinary] == ["post.approved"]
    assert events_for("post.created", ("post", "8"), {}) == []

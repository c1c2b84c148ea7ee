"""The auditor rules: second-person approval, one outcome per attempt, no double publish."""

from __future__ import annotations

import pytest

from gateway.transparency.rules import AuditorRules
from gateway.transparency.verifier import verify_leaves
from tests.transparency.helpers import demo_leaves, export, parsed, rechain, run


def _check(values):
    return verify_leaves(rechain(values))


def _first(values):
    report = _check(values)
    assert not report.ok
    return report.first_failure()


def _index(values, action, **payload):
    for i, value in enumerate(values):
        if value["action"] == action and all(
            value["payload"].get(k) == v for k, v in payload.items()
        ):
            return i
    raise AssertionError(f"no {action} {payload}")


@pytest.fixture
def values(leaves):
    return parsed(leaves)


def test_the_demo_log_keeps_every_rule(values):
    report = _check(values)
    assert report.ok, report.failures
    assert report.published == 24
    assert report.attempts == 26


def test_a_publish_without_approval_is_caught(values):
    del values[_index(values, "post.approved", author_id=11)]
    failure = _first(values)
    assert "post 3 was published without approval" in failure.reason
    assert values[failure.index]["action"] == "delivery.outcome"


def test_an_approval_by_the_author_is_caught(values):
    i = _index(values, "post.approved")
    values[i]["payload"]["approver_id"] = values[i]["payload"]["author_id"]
    failure = _first(values)
    assert failure.index == i
    assert "approved by its own author" in failure.reason


def test_an_approval_that_misnames_the_author_is_caught(values):
    i = _index(values, "post.approved")
    approver = values[i]["payload"]["approver_id"]
    values[i]["payload"]["author_id"] = approver + 100
    failure = _first(values)
    assert failure.index == i
    assert "names user" in failure.reason


def test_an_emergency_post_needs_no_prior_approval():
    # Post 20 is the demo's emergency post: created with a category, then emergency.published.
    leaves, _ = demo_leaves(20)
    values = parsed(leaves)
    assert values[_index(values, "emergency.published")]["payload"]["post_id"] == 20
    assert not any(v["action"] == "post.approved" and v["object"]["id"] == "20" for v in values)
    assert _check(values).ok
    # Without the emergency markers the same post is an unapproved publish.
    created = _index(values, "post.created", emergency_category="severe_weather")
    values[created]["payload"]["emergency_category"] = None
    del values[_index(values, "emergency.published")]
    assert "post 20 was published without approval" in _first(values).reason


def test_an_emergency_category_alone_does_not_excuse_a_publish_without_approval():
    # Issue 20: an emergency post made in office hours goes to fast-track approval and has no
    # emergency.published entry; published without an approval, it breaks the two-person rule.
    leaves, _ = demo_leaves(20)
    values = parsed(leaves)
    assert values[_index(values, "post.created", emergency_category="severe_weather")]
    del values[_index(values, "emergency.published")]
    assert "post 20 was published without approval" in _first(values).reason


def test_an_emergency_marker_after_the_outcome_still_counts():
    leaves, _ = demo_leaves(20)
    values = parsed(leaves)
    created = _index(values, "post.created", emergency_category="severe_weather")
    values[created]["payload"]["emergency_category"] = None
    marker = values.pop(_index(values, "emergency.published"))
    values.append({**marker, "time": values[-1]["time"]})
    assert _check(values).ok


def test_an_attempt_without_an_outcome_is_caught_unless_recent(values):
    i = _index(values, "delivery.outcome", attempt_id="d1-a1")
    del values[i]
    failure = _first(values)
    assert failure.index == i - 1
    assert "attempt d1-a1 has no outcome" in failure.reason
    # The same gap at the very end of the log is pending, not a violation.
    leaves, _ = demo_leaves(2)
    tail = parsed(leaves)
    del tail[-1]
    report = _check(tail)
    assert report.ok
    assert any("has no outcome yet" in note for note in report.pending)


def test_a_second_outcome_for_one_attempt_is_caught(values):
    i = _index(values, "delivery.outcome", attempt_id="d1-a1")
    values.insert(i + 1, values[i])
    failure = _first(values)
    assert failure.index == i + 1
    assert "a second outcome for delivery attempt d1-a1" in failure.reason


def test_an_outcome_for_an_unknown_attempt_is_caught(values):
    i = _index(values, "delivery.outcome", attempt_id="d3-a1")
    values[i]["payload"]["attempt_id"] = "nobody-started-me"
    failures = [(f.index, f.reason) for f in _check(values).failures]
    assert (i, "an outcome for an unknown delivery attempt nobody-started-me") in failures
    assert (i - 1, "delivery attempt d3-a1 has no outcome") in failures


def test_a_delivery_published_twice_is_caught(values):
    i = _index(values, "delivery.attempt", attempt_id="d1-a1")
    when = values[i + 1]["time"]
    again = [
        {**values[i], "time": when, "payload": {**values[i]["payload"], "attempt_id": "d1-a9"}},
        {**values[i + 1], "payload": {**values[i + 1]["payload"], "attempt_id": "d1-a9"}},
    ]
    values[i + 2 : i + 2] = again
    failure = _first(values)
    assert failure.index == i + 3
    assert "delivery 1 was published twice (first at entry" in failure.reason


def test_an_outcome_for_another_delivery_than_its_attempt_is_caught(values):
    i = _index(values, "delivery.outcome", attempt_id="d1-a1")
    values[i]["payload"]["delivery_id"] = 99
    failure = _first(values)
    assert failure.index == i
    assert "entry" in failure.reason and "started it for delivery 1" in failure.reason


def test_a_rule_entry_with_a_malformed_payload_is_a_violation(values):
    i = _index(values, "delivery.attempt")
    del values[i]["payload"]["attempt_id"]
    failure = _first(values)
    assert failure.index == i
    assert 'payload has no string "attempt_id"' in failure.reason


def test_every_violation_is_listed_by_the_cli(capsys, tmp_path, values, log, key):
    values[_index(values, "post.approved")]["payload"]["approver_id"] = 12
    values[_index(values, "post.approved")]["payload"]["author_id"] = 12
    del values[_index(values, "delivery.outcome", attempt_id="d5-a1")]
    out_dir = export(tmp_path / "bad-rules", rechain(values), log, key)
    code, out = run(capsys, out_dir)
    assert code == 1
    lines = out.splitlines()
    assert "approved by its own author" in lines[0]
    assert any("d5-a1 has no outcome" in line for line in lines[1:])


def test_rules_ignore_actions_they_do_not_know():
    rules = AuditorRules()
    rules.feed(0, {"time": "2026-01-01T00:00:00.000000Z", "action": "user.created", "payload": {}})
    assert rules.finish() == []


def test_an_approval_may_name_its_post_in_the_payload_instead_of_the_object(values):
    i = _index(values, "post.approved")
    post = values[i]["object"]["id"]
    values[i]["object"] = None
    values[i]["payload"]["post_id"] = int(post)
    assert _check(values).ok
    del values[i]["payload"]["post_id"]
    failure = _first(values)
    assert failure.index == i
    assert "names a post" in failure.reason


def _edit_by(values, i, user_id):
    """A ``post.edited`` entry by ``user_id`` just before entry ``i``, about the same post."""
    approval = values[i]
    return {
        **approval,
        "action": "post.edited",
        "actor": {"id": user_id, "email": f"user{user_id}@council.example", "kind": "user"},
        "payload": {"author_id": approval["payload"]["author_id"], "emergency_category": None},
    }


def test_an_approval_by_an_officer_who_edited_the_post_is_caught(values):
    # Issue 20: officer B rewrites A's post and approves it. The log names B as the editor
    # (the entry's actor) and as the approver: the two-person rule is broken.
    i = _index(values, "post.approved")
    approver = values[i]["payload"]["approver_id"]
    values.insert(i, _edit_by(values, i, approver))
    failure = _first(values)
    assert failure.index == i + 1
    assert f"approved by user {approver}, who edited it since its last approval" in (failure.reason)


def test_an_edit_by_someone_else_or_before_the_last_approval_is_no_violation(values):
    i = _index(values, "post.approved")
    approver = values[i]["payload"]["approver_id"]
    # A third officer's edit: the approver still wrote none of it.
    values.insert(i, _edit_by(values, i, approver + 50))
    assert _check(values).ok
    # The approver's own edit that an earlier approval (by someone else) closed: its round
    # is over, and the approval after it judged the approver's words.
    first = dict(values[i + 1])
    first["payload"] = {**first["payload"], "approver_id": approver + 60}
    values.insert(i, first)
    values.insert(i, _edit_by(values, i, approver))
    assert _check(values).ok


def test_an_approval_of_an_account_the_approver_made_is_flagged_not_failed(values):
    i = _index(values, "post.approved")
    approver, author = values[i]["payload"]["approver_id"], values[i]["payload"]["author_id"]
    made = {
        **values[0],
        "action": "user.created",
        "actor": {"id": approver, "email": "admin@council.example", "kind": "user"},
        "object": {"type": "user", "id": str(author)},
        "payload": {"email": "second@council.example", "roles": ["officer"]},
        "content_sha256": None,
    }
    values.insert(0, made)
    report = _check(values)
    assert report.ok, report.failures
    assert any(
        f"approved by user {approver}, who created or changed the account of its writer, "
        f"user {author}" in flag
        for flag in report.flags
    )
    # Ending someone's sessions gives no control of their account: not flagged.
    values[0]["action"] = "user.sessions_ended"
    assert _check(values).flags == []


def test_gateway_verify_fails_an_export_where_an_editor_approved(
    capsys, tmp_path, values, log, key
):
    i = _index(values, "post.approved")
    values.insert(i, _edit_by(values, i, values[i]["payload"]["approver_id"]))
    out_dir = export(tmp_path / "editor-approved", rechain(values), log, key)
    code, out = run(capsys, out_dir)
    assert code == 1
    assert "who edited it since its last approval" in out.splitlines()[0]

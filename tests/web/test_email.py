"""Email notifications through a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

from gateway import notifications
from gateway.extensions import db
from gateway.models import Post
from tests.support.network import free_port
from tests.support.smtp import PUBLIC_URL
from tests.web.conftest import CLEAN_TEXT
from tests.web.helpers import get, submit


def _submit_for_approval(officer, channels):
    """A clean post on X for tomorrow morning, submitted through the form."""
    return submit(
        officer,
        get(officer, "/posts/new"),
        {
            "text": CLEAN_TEXT,
            "channels": [str(channels["x"])],
            "publish_date": ["10", "3", "2027"],
            "publish_time": "10:30",
        },
        button=("action", "submit"),
    )


def test_approvers_are_told_when_a_post_awaits_them_and_authors_when_it_is_decided(
    app, people, channels, inbox
):
    a, b = people["a"], people["b"]
    sent = _submit_for_approval(a, channels)
    assert sent.status == 302
    post_id = int(sent.response.headers["Location"].split("/")[2])
    to_b = inbox.to(people.emails["b"])
    assert len(to_b) == 1
    assert to_b[0]["Subject"].startswith("A post is waiting for your approval")
    assert f"/posts/{post_id}" in to_b[0].get_payload()
    assert inbox.to(people.emails["a"]) == []  # never asked to approve their own post

    submit(b, get(b, f"/posts/{post_id}"), action=f"/posts/{post_id}/approve")
    to_a = inbox.to(people.emails["a"])
    assert [m["Subject"].split(":")[0] for m in to_a] == ["Your post is approved"]


def test_a_rejection_email_carries_the_reason_and_worker_messages_exist(
    app, people, channels, inbox
):
    a, b = people["a"], people["b"]
    sent = _submit_for_approval(a, channels)
    post_id = int(sent.response.headers["Location"].split("/")[2])
    submit(
        b,
        get(b, f"/posts/{post_id}"),
        {"reject-reason": "Name the roads, please."},
        action=f"/posts/{post_id}/reject",
    )
    rejected = inbox.to(people.emails["a"])[-1]
    assert rejected["Subject"].startswith("Your post was rejected")
    assert "Name the roads, please." in rejected.get_payload()
    # What the publish job calls, outside any request: links use PUBLIC_URL (the inbox's).
    with app.app_context():
        post = db.session.get(Post, post_id)
        assert notifications.post_blocked(post, ["Outside office hours."]) == 1
        assert notifications.post_failed(post, "X refused it: duplicate content") == 1
    blocked, failed = inbox.to(people.emails["a"])[-2:]
    assert "Outside office hours." in blocked.get_payload()
    assert f"{PUBLIC_URL}/posts/{post_id}" in failed.get_payload()


def test_a_mail_server_that_is_down_never_fails_the_officers_action(app, people, channels):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())  # nothing listens
    a = people["a"]
    sent = _submit_for_approval(a, channels)
    assert sent.status == 302

"""Publish-time emails (issues 5 and 6): the author is told when the publish job blocks their
post, a platform refuses it, or it is held for a person. Through a real burst worker, the fake
platform over HTTP and a real SMTP server."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import select

from gateway.extensions import db
from gateway.models import Delivery, Election, RegisterPerson
from gateway.publishing.release import release_due
from tests.publishing.conftest import approved_post, deliveries, post_status
from tests.support.network import free_port
from tests.support.smtp import LEADS
from workers.worker import build_worker

AUTHOR = "author@council.example"
APPROVER = "approver@council.example"
COUNCILLOR_TEXT = "Councillor Okafor opened the new play park today."


def run_worker(app):
    build_worker(app).work(burst=True)


def _councillor_and_then_an_election(app):
    with app.app_context():
        db.session.add(
            RegisterPerson(
                name="Margaret Okafor", party="Labour Party", role="councillor", ward="Quay"
            )
        )
        db.session.commit()


def _announce_election(app):
    with app.app_context():
        db.session.add(Election(kind="local", polling_day=date(2027, 4, 1)))
        db.session.commit()


def test_the_author_is_told_of_each_channel_an_election_blocks_and_never_twice(
    app, clock, fake, channels, officers, inbox
):
    _councillor_and_then_an_election(app)
    post_id = approved_post(
        app, officers, [channels["x"], channels["facebook"]], text=COUNCILLOR_TEXT
    )
    _announce_election(app)
    run_worker(app)

    assert fake.posts() == []
    assert [r[1] for r in deliveries(app, post_id)] == ["blocked", "blocked"]
    emails = inbox.to(AUTHOR)
    assert len(emails) == 2
    assert all(e["Subject"].startswith("Your post was blocked at publish time") for e in emails)
    # Each delivery is told once: the second email does not repeat the first channel.
    first, second = (e.get_content() for e in emails)
    assert "Council on X: Blocked at publish time" in first
    assert "Council Facebook Page: Blocked at publish time" in second
    assert "Council on X" not in second
    assert f"https://gateway.council.example/posts/{post_id}" in first
    # Nobody else: not the approver, and not the emergency leads (it is not an emergency post).
    assert inbox.to(APPROVER) == [] and not any(inbox.to(lead) for lead in LEADS)
    # The sweep and a second worker run find nothing new to tell.
    with app.app_context():
        release_due(app)
    run_worker(app)
    assert len(inbox.to(AUTHOR)) == 2


def test_the_author_is_told_when_the_platform_refuses_the_post(
    app, clock, fake, channels, officers, inbox
):
    fake.inject_fault(
        "error", platform="x", status=400, times=1, path_contains="/2/tweets", method="POST"
    )
    post_id = approved_post(app, officers, [channels["x"], channels["facebook"]])
    run_worker(app)

    assert [r[1] for r in deliveries(app, post_id)] == ["failed", "published"]
    assert post_status(app, post_id) == "partly_published"
    [email] = inbox.to(AUTHOR)
    assert email["Subject"].startswith("Your post did not go out")
    body = email.get_content()
    assert "Council on X:" in body and "Council Facebook Page" not in body


def test_the_author_is_told_when_the_post_is_held_for_a_person(
    app, clock, fake, channels, officers, inbox
):
    # A 500 on the post itself: the platform may have it, the look-up does not find it, so
    # the delivery stops for a person rather than risk a second copy.
    fake.inject_fault(
        "error", platform="x", status=500, times=1, path_contains="/2/tweets", method="POST"
    )
    post_id = approved_post(app, officers, [channels["x"]])
    run_worker(app)

    [(_, status, _, reason)] = deliveries(app, post_id)
    assert status == "held"
    [email] = inbox.to(AUTHOR)
    assert email["Subject"].startswith("Your post is held for a person to decide")
    assert "Council on X: Outcome unknown" in email.get_content()
    assert reason.split(":")[0] in email.get_content()


def test_a_published_post_sends_no_email(app, clock, fake, channels, officers, inbox):
    post_id = approved_post(app, officers, [channels["x"]])
    before = len(inbox.messages)  # the approval email
    run_worker(app)
    assert post_status(app, post_id) == "published"
    assert len(inbox.messages) == before


def test_a_mail_server_that_is_down_never_fails_the_publish_job(
    app, clock, fake, channels, officers, caplog
):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())  # nothing listens
    _councillor_and_then_an_election(app)
    post_id = approved_post(app, officers, [channels["x"]], text=COUNCILLOR_TEXT)
    _announce_election(app)
    with caplog.at_level(logging.WARNING, logger="gateway.notifications.mail"):
        run_worker(app)
    assert [r[1] for r in deliveries(app, post_id)] == ["blocked"]
    assert post_status(app, post_id) == "blocked"
    assert "could not send" in caplog.text
    # The job itself finished: nothing is left on RQ's failed list.
    from rq.registry import FailedJobRegistry

    from gateway.queue import PUBLISH_QUEUE, redis_connection

    assert FailedJobRegistry(PUBLISH_QUEUE, connection=redis_connection(app)).count == 0
    with app.app_context():
        d = db.session.scalar(select(Delivery).where(Delivery.post_id == post_id))
        assert "Blocked at publish time" in d.last_error


def test_an_outcome_whose_email_could_not_be_sent_is_told_with_the_next_one(
    app, clock, fake, channels, officers, inbox
):
    _councillor_and_then_an_election(app)
    post_id = approved_post(
        app, officers, [channels["x"], channels["facebook"]], text=COUNCILLOR_TEXT
    )
    _announce_election(app)
    working_port = app.config["SMTP_PORT"]
    app.config["SMTP_PORT"] = free_port()  # the mail server is down for the first delivery
    build_worker(app).work(burst=True, max_jobs=1)
    assert inbox.to(AUTHOR) == []
    app.config["SMTP_PORT"] = working_port
    run_worker(app)

    assert [r[1] for r in deliveries(app, post_id)] == ["blocked", "blocked"]
    [email] = inbox.to(AUTHOR)
    body = email.get_content()
    assert "Council on X: Blocked" in body and "Council Facebook Page: Blocked" in body


def test_the_author_is_told_when_a_post_missed_its_time(
    app, clock, fake, channels, officers, inbox
):
    # The worker was down past the grace period: the post is held, not sent late, and its
    # author hears so at once rather than finding out from residents.
    from datetime import timedelta

    post_id = approved_post(app, officers, [channels["facebook"]])
    clock.shift(timedelta(minutes=app.config["PUBLISH_GRACE_MINUTES"] + 5))
    run_worker(app)

    [(_, status, _, reason)] = deliveries(app, post_id)
    assert status == "held" and reason.startswith("Missed")
    assert fake.posts() == []
    [email] = inbox.to(AUTHOR)
    assert email["Subject"].startswith("Your post is held for a person to decide")
    assert "Missed" in email.get_content()

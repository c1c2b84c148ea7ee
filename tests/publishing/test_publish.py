"""Publishing end to end: approval -> RQ -> worker -> tweepy / facebook-sdk -> the fake platform.

Every test ends with each post published exactly once, or held for a person with the reason:
never lost, never doubled.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from rq import Queue
from sqlalchemy import select, text

from gateway.domain.statuses import DeliveryStatus
from gateway.events import post_event
from gateway.extensions import db
from gateway.models import AuditEntry, Channel, Delivery, Election, Post
from gateway.posts import service
from gateway.posts.service import NewImage, PostError
from gateway.publishing import attempt
from gateway.publishing.release import publish_job_id, release_due, release_stale
from gateway.queue import PUBLISH_QUEUE, redis_connection
from tests.platforms.accounts import ALL_SECRETS, JPEG
from tests.publishing.conftest import approved_post, deliveries, post_status, user
from workers.worker import build_worker


def run_worker(app):
    build_worker(app).work(burst=True)


def test_an_approved_post_is_published_once_on_each_channel(app, clock, fake, channels, officers):
    post_id = approved_post(app, officers, [channels["x"], channels["facebook"]])
    queue = Queue(PUBLISH_QUEUE, connection=redis_connection(app))
    assert sorted(queue.job_ids) == sorted(publish_job_id(d.id) for d in _rows(app, post_id))
    run_worker(app)
    assert post_status(app, post_id) == "published"
    rows = deliveries(app, post_id)
    assert [r[1] for r in rows] == ["published", "published"]
    assert len(fake.posts("x")) == 1 and len(fake.posts("facebook")) == 1
    assert fake.posts("x")[0]["text"].startswith("Bin collections")
    # nothing went out before its time
    with app.app_context():
        for d in db.session.scalars(select(Delivery).where(Delivery.post_id == post_id)):
            assert d.published_at >= d.due_at
    # the sweep finds nothing more to do, and a second worker run publishes nothing again
    with app.app_context():
        assert release_due(app) == 0
    run_worker(app)
    assert len(fake.posts("x")) == 1


def _rows(app, post_id):
    with app.app_context():
        return db.session.scalars(select(Delivery).where(Delivery.post_id == post_id)).all()


def test_every_attempt_and_outcome_is_in_the_log(app, clock, fake, channels, officers):
    post_id = approved_post(app, officers, [channels["x"]])
    run_worker(app)
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
        leaves = [bytes(e.leaf) for e in db.session.scalars(select(AuditEntry))]
    assert actions[-3:] == ["guardrails.verdict", "delivery.attempt", "delivery.outcome"]
    assert "post.approved" in actions and "post.submitted" in actions
    for secret in ALL_SECRETS:
        assert not any(secret.encode() in leaf for leaf in leaves)
    assert post_status(app, post_id) == "published"


def test_an_image_post_reaches_instagram_through_the_gateways_own_url(
    app, clock, fake, channels, officers, gateway_server
):
    image = NewImage("dog.jpg", "image/jpeg", JPEG, "A brown spaniel sitting on grass")
    post_id = approved_post(app, officers, [channels["instagram"], channels["x"]], images=[image])
    run_worker(app)
    assert post_status(app, post_id) == "published", deliveries(app, post_id)
    [ig] = fake.posts("instagram")
    # Instagram fetched the image from the gateway's own signed URL: the bytes are ours
    [media] = ig["media"]
    # (the gateway stores and sends the image re-encoded without its metadata: issue #20)
    with app.app_context():
        [stored] = db.session.get(Post, post_id).images
    assert media["sha256"] == stored.sha256
    assert media["alt_text"] == "A brown spaniel sitting on grass"
    [x_post] = fake.posts("x")
    assert x_post["media"][0]["alt_text"] == "A brown spaniel sitting on grass"


def test_image_urls_are_unguessable_and_only_for_posts_on_their_way_out(
    app, clock, fake, channels, officers, gateway_server
):
    import urllib.error
    import urllib.request

    from gateway.models import PostImage
    from gateway.publishing.media import media_url

    image = NewImage("dog.jpg", "image/jpeg", JPEG, "A brown spaniel sitting on grass")
    with app.app_context():
        draft = service.create_draft(
            user(officers.author),
            text="Found: a brown spaniel.",
            channel_ids=[channels["x"]],
            scheduled_at=datetime.now(UTC) + timedelta(hours=1),
            images=[image],
        )
        db.session.commit()
        url = media_url(db.session.get(PostImage, draft.images[0].id))
    for bad in (url, url[:-3] + "abc", gateway_server + "/media/1"):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(bad, timeout=5)
        assert caught.value.code == 404
        caught.value.close()


def test_an_approved_post_is_never_published_early(app, clock, fake, channels, officers):
    post_id = approved_post(app, officers, [channels["x"]], due_in=timedelta(seconds=20))
    run_worker(app)  # the job is not due: it leaves it for the sweep
    assert fake.posts("x") == []
    assert [r[1] for r in deliveries(app, post_id)] == ["scheduled"]
    clock.shift(timedelta(seconds=21))
    with app.app_context():
        assert release_due(app) == 0  # RQ holds it for its time: the sweep leaves it alone
    build_worker(app).work(burst=True, with_scheduler=True)
    assert len(fake.posts("x")) == 1
    with app.app_context():
        [d] = db.session.scalars(select(Delivery).where(Delivery.post_id == post_id)).all()
        assert d.published_at >= d.due_at


def test_redis_losing_everything_loses_no_post(app, clock, fake, channels, officers, redis_conn):
    post_id = approved_post(app, officers, [channels["x"], channels["facebook"]])
    redis_conn.flushdb()
    run_worker(app)
    assert fake.posts() == []
    with app.app_context():
        assert release_due(app) == 2
    run_worker(app)
    assert post_status(app, post_id) == "published"
    assert len(fake.posts()) == 2


def test_two_workers_racing_for_one_delivery_publish_it_once(app, clock, fake, channels, officers):
    post_id = approved_post(app, officers, [channels["x"]])
    [delivery] = _rows(app, post_id)
    clock.shift(timedelta(seconds=2))
    results = []
    barrier = threading.Barrier(4)

    def racer():
        with app.app_context():
            barrier.wait()
            results.append(attempt.publish(delivery.id))
            db.session.remove()

    threads = [threading.Thread(target=racer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("published") == 1, results
    assert len(fake.posts("x")) == 1


def test_you_cannot_approve_your_own_post(app, clock, channels, officers):
    with app.app_context():
        post = service.create_draft(
            user(officers.author),
            text="Libraries open late on Thursday.",
            channel_ids=[channels["x"]],
            scheduled_at=datetime.now(UTC) + timedelta(hours=1),
        )
        service.submit(post, user(officers.author))
        with pytest.raises(PostError, match="another member of your team"):
            service.approve(post, user(officers.author))


def test_a_post_changed_after_approval_is_blocked_at_publish_time(
    app, clock, fake, channels, officers
):
    post_id = approved_post(app, officers, [channels["x"]])
    with app.app_context():
        # someone with database access edits the approved text behind the approval's back
        db.session.execute(
            text("UPDATE posts SET text = 'Vote for the best party!' WHERE id = :id"),
            {"id": post_id},
        )
        db.session.commit()
    run_worker(app)
    assert fake.posts() == []
    [(platform, status, _, _)] = deliveries(app, post_id)
    assert status == "blocked"
    with app.app_context():
        d = db.session.scalar(select(Delivery).where(Delivery.post_id == post_id))
        assert "changed after it was approved" in d.last_error
    assert post_status(app, post_id) == "blocked"


def test_an_election_announced_after_approval_stops_the_post(app, clock, fake, channels, officers):
    with app.app_context():
        from gateway.models import RegisterPerson

        db.session.add(
            RegisterPerson(
                name="Margaret Okafor", party="Labour Party", role="councillor", ward="Quay"
            )
        )
        db.session.commit()
    post_id = approved_post(
        app, officers, [channels["x"]], text="Councillor Okafor opened the new play park today."
    )
    events = []

    def listener(sender, **kw):
        events.append(kw)

    post_event.connect(listener)
    try:
        with app.app_context():
            db.session.add(Election(kind="local", polling_day=date(2027, 4, 1)))
            db.session.commit()
        run_worker(app)
    finally:
        post_event.disconnect(listener)
    assert fake.posts() == []
    assert [r[1] for r in deliveries(app, post_id)] == ["blocked"]
    assert {"event": "blocked", "post_id": post_id} in events
    with app.app_context():
        d = db.session.scalar(select(Delivery).where(Delivery.post_id == post_id))
        assert "Blocked at publish time" in d.last_error


def test_a_rate_limit_waits_for_the_platforms_reset_time(app, clock, fake, channels, officers):
    fake.inject_fault("rate_limit", platform="x", reset_in=120, times=1, method="POST")
    post_id = approved_post(app, officers, [channels["x"]])
    run_worker(app)
    with app.app_context():
        d = db.session.scalar(select(Delivery).where(Delivery.post_id == post_id))
        assert d.status == "retry"
        wait = (d.next_attempt_at - datetime.now(UTC)).total_seconds()
        assert 100 < wait <= 121
    clock.shift(timedelta(seconds=125))
    with app.app_context():
        release_due(app)
    run_worker(app)
    assert [r[1] for r in deliveries(app, post_id)] == ["published"]
    assert len(fake.posts("x")) == 1


def test_a_lost_answer_is_found_on_the_platform_not_sent_again(
    app, clock, fake, channels, officers
):
    fake.inject_fault(
        "lost_answer", platform="x", times=1, path_contains="/2/tweets", method="POST"
    )
    post_id = approved_post(app, officers, [channels["x"]])
    run_worker(app)
    assert [r[1] for r in deliveries(app, post_id)] == ["published"]
    assert len(fake.posts("x")) == 1


def test_a_server_error_on_the_post_is_held_when_the_post_is_not_there(
    app, clock, fake, channels, officers
):
    fake.inject_fault(
        "error", platform="x", status=500, times=1, path_contains="/2/tweets", method="POST"
    )
    post_id = approved_post(app, officers, [channels["x"]])
    run_worker(app)
    [(_, status, _, reason)] = deliveries(app, post_id)
    assert status == "held"
    assert "Outcome unknown" in reason
    assert fake.posts("x") == []


def test_a_graph_outage_answer_on_the_post_is_retried_once_the_post_is_not_there(
    app, clock, fake, channels, officers
):
    # Graph's code 2 ("retry later") on the post itself: looked up, and only when a look-up
    # that read every post since the attempt began does not find it, sent again (issue 19).
    fake.inject_fault("error", platform="facebook", status=500, times=1, path_contains="/feed")
    post_id = approved_post(app, officers, [channels["facebook"]])
    run_worker(app)
    assert [r[1] for r in deliveries(app, post_id)] == ["retry"]
    with app.app_context():
        (delivery,) = db.session.scalars(select(Delivery).where(Delivery.post_id == post_id))
        assert "not found among the account's posts" in delivery.last_error
        assert "sent again" in delivery.last_error
        looks = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "delivery.lookup")
        ).all()
        assert looks and all(json.loads(look.leaf)["payload"]["complete"] for look in looks)
    clock.shift(timedelta(seconds=40))
    with app.app_context():
        release_due(app)
    run_worker(app)
    assert [r[1] for r in deliveries(app, post_id)] == ["published"]
    assert len(fake.posts("facebook")) == 1


def test_a_graph_outage_answer_after_the_post_was_made_publishes_it_once(
    app, clock, fake, channels, officers
):
    fake.inject_fault("error_after", platform="facebook", times=1, path_contains="/feed")
    post_id = approved_post(app, officers, [channels["facebook"]])
    run_worker(app)
    assert [r[1] for r in deliveries(app, post_id)] == ["published"]
    (made,) = fake.posts("facebook")
    with app.app_context():
        (delivery,) = db.session.scalars(select(Delivery).where(Delivery.post_id == post_id))
        assert delivery.platform_post_id == made["id"]
        assert delivery.attempts == 1


def test_a_dropped_connection_before_sending_is_retried(app, clock, fake, channels, officers):
    fake.inject_fault(
        "error", platform="x", status=503, times=1, path_contains="/2/tweets", method="POST"
    )
    post_id = approved_post(app, officers, [channels["x"]])
    run_worker(app)
    assert [r[1] for r in deliveries(app, post_id)] == ["retry"]
    clock.shift(timedelta(seconds=40))
    with app.app_context():
        release_due(app)
    run_worker(app)
    assert [r[1] for r in deliveries(app, post_id)] == ["published"]
    assert len(fake.posts("x")) == 1


def test_a_wrong_token_holds_the_channel_for_reconnection(app, clock, fake, channels, officers):
    with app.app_context():
        from gateway.credentials import encrypt_credentials

        channel = db.session.get(Channel, channels["facebook"])
        channel.credentials_encrypted = encrypt_credentials(channel.id, {"access_token": "wrong"})
        db.session.commit()
    post_id = approved_post(app, officers, [channels["facebook"], channels["x"]])
    run_worker(app)
    rows = dict((p, (s, r)) for p, s, _, r in deliveries(app, post_id))
    assert rows["x"][0] == "published"
    assert rows["facebook"][0] == "held" and "reconnected" in rows["facebook"][1]
    with app.app_context():
        assert db.session.get(Channel, channels["facebook"]).needs_reauthorisation


def test_credentials_copied_to_another_channel_do_not_decrypt(app, clock, fake, channels, officers):
    post_id = approved_post(app, officers, [channels["facebook"]])
    with app.app_context():
        # someone with database access copies X's ciphertext onto the Facebook row
        x = db.session.get(Channel, channels["x"])
        fb = db.session.get(Channel, channels["facebook"])
        fb.credentials_encrypted = x.credentials_encrypted
        db.session.commit()
    run_worker(app)
    [(_, status, _, reason)] = deliveries(app, post_id)
    assert status == "held" and "do not belong to this channel" in reason
    assert fake.posts() == []


def test_a_worker_that_died_mid_attempt_is_resolved_by_asking_the_platform(
    app, clock, fake, channels, officers
):
    # Two deliveries claimed and left "publishing" as a SIGKILLed worker leaves them: one whose
    # request reached the platform, one whose request never left.
    sent = approved_post(app, officers, [channels["x"]], text="Road closed on the A259 tonight.")
    unsent = approved_post(app, officers, [channels["facebook"]], text="Pool closed on Friday.")
    clock.shift(timedelta(seconds=2))
    with app.app_context():
        [sent_id] = db.session.scalars(select(Delivery.id).where(Delivery.post_id == sent)).all()
        [unsent_id] = db.session.scalars(
            select(Delivery.id).where(Delivery.post_id == unsent)
        ).all()
        prepared_sent = attempt.claim(sent_id)
        assert not isinstance(attempt.claim(unsent_id), str)
    with app.app_context():
        attempt.call_platform(prepared_sent)  # ... and the worker died before recording it
    assert len(fake.posts("x")) == 1
    with app.app_context():
        assert release_stale(app) == 0  # leases still live
    clock.shift(attempt.LEASE + timedelta(seconds=1))
    with app.app_context():
        assert release_stale(app) == 2
    run_worker(app)
    statuses = {p: (s, r) for p, s, _, r in deliveries(app, sent) + deliveries(app, unsent)}
    assert statuses["x"][0] == "published"
    assert statuses["facebook"][0] == "held" and "Outcome unknown" in statuses["facebook"][1]
    assert len(fake.posts("x")) == 1 and fake.posts("facebook") == []


def test_a_post_approved_long_after_its_time_is_held_not_sent_by_surprise(
    app, clock, fake, channels, officers
):
    with app.app_context():
        post = service.create_draft(
            user(officers.author),
            text="Bins will be collected tomorrow.",
            channel_ids=[channels["x"]],
            scheduled_at=datetime.now(UTC) + timedelta(minutes=5),
        )
        service.submit(post, user(officers.author))
        db.session.commit()
        post_id = post.id
    clock.shift(timedelta(hours=2))
    with app.app_context():
        service.approve(db.session.get(Post, post_id), user(officers.approver))
        db.session.commit()
    run_worker(app)
    [(_, status, _, reason)] = deliveries(app, post_id)
    assert status == "held" and "Missed" in reason
    assert fake.posts() == []


def test_a_delivery_delayed_past_the_grace_period_is_missed(app, clock, fake, channels, officers):
    post_id = approved_post(app, officers, [channels["x"]])
    clock.shift(timedelta(minutes=45))  # the worker was down
    run_worker(app)
    [(_, status, _, reason)] = deliveries(app, post_id)
    assert status == "held" and "grace period" in reason
    assert fake.posts() == []
    assert DeliveryStatus(status) is DeliveryStatus.HELD

"""/healthz, /readyz, enqueue-after-commit and a burst worker with an app context."""

from rq import Queue

from gateway import users
from gateway.audit import Actor
from gateway.extensions import db
from gateway.queue import DEFAULT_QUEUE, QUEUE_ORDER, redis_connection
from tests.conftest import TEST_PASSWORD
from tests.foundation import jobs_for_tests
from workers import scheduler
from workers.enqueue import enqueue_after_commit
from workers.worker import build_worker


def test_healthz_answers_json(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_is_not_ready_without_a_worker_and_a_scheduler(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json
    assert body["status"] == "not ready"
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert not body["checks"]["worker"]["ok"] and not body["checks"]["scheduler"]["ok"]


def test_readyz_is_ready_with_a_live_worker_and_scheduler(app, client):
    worker = build_worker(app)
    worker.register_birth()
    worker.heartbeat()
    try:
        scheduler.run_once(app)
        response = client.get("/readyz")
        assert response.status_code == 200, response.json
        assert response.json["status"] == "ready"
    finally:
        worker.register_death()


def test_a_webhooks_worker_alone_does_not_make_the_gateway_ready(app, client):
    from gateway.queue import WEBHOOKS_QUEUE

    scheduler.run_once(app)
    worker = build_worker(app, queues=(WEBHOOKS_QUEUE,))
    worker.register_birth()
    worker.heartbeat()
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json["checks"]["worker"]["webhook_workers"] == 1
        assert response.json["checks"]["worker"]["workers"] == 0
    finally:
        worker.register_death()


def test_readyz_reports_redis_down(app, client):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    app.extensions["gateway_redis"] = None
    response = client.get("/readyz")
    assert response.status_code == 503
    assert not response.json["checks"]["redis"]["ok"]


def _new_user(email):
    user = users.create_user(email, ["officer"], TEST_PASSWORD, actor=Actor.system())
    return user


def test_jobs_are_enqueued_only_after_commit(app, redis_conn):
    queue = Queue(DEFAULT_QUEUE, connection=redis_connection(app))
    with app.app_context():
        user = _new_user("queued@council.example")
        enqueue_after_commit(
            jobs_for_tests.record_user_email, user.id, queue=DEFAULT_QUEUE, job_id="user-job"
        )
        assert queue.count == 0  # not before the commit
        db.session.commit()
        assert queue.job_ids == ["user-job"]

        other = _new_user("rolled-back@council.example")
        enqueue_after_commit(jobs_for_tests.record_user_email, other.id, queue=DEFAULT_QUEUE)
        db.session.rollback()
        db.session.commit()  # a later commit must not send the rolled-back job
        assert queue.job_ids == ["user-job"]


def test_a_burst_worker_runs_jobs_in_an_app_context(app, redis_conn):
    jobs_for_tests.SEEN.clear()
    with app.app_context():
        user = _new_user("worked@council.example")
        enqueue_after_commit(jobs_for_tests.record_user_email, user.id, queue=DEFAULT_QUEUE)
        db.session.commit()
    worker = build_worker(app)
    assert [q.name for q in worker.queues] == list(QUEUE_ORDER)
    worker.work(burst=True)
    assert jobs_for_tests.SEEN == ["worked@council.example"]


def test_a_failing_sweep_does_not_stop_the_heartbeat(app, redis_conn):
    calls = []

    def broken(app):
        calls.append(1)
        raise RuntimeError("boom")

    scheduler.SWEEPS.insert(0, broken)
    try:
        scheduler.run_once(app)
    finally:
        scheduler.SWEEPS.remove(broken)
    assert calls == [1]
    assert redis_conn.get("gateway:scheduler:heartbeat") is not None

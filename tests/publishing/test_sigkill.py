"""A real worker process killed with SIGKILL mid-attempt: nothing lost, nothing doubled.

Emergency posts are used so the test does not depend on the hour it runs at (they skip only the
office-hours rule; in office hours they publish at once only under the admin's setting, which
the test sets); the worker is a real `gateway worker` process on the test's database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from gateway import users
from gateway.audit import Actor
from gateway.extensions import db
from gateway.models import Delivery
from gateway.models.base import utcnow
from gateway.posts import emergency
from gateway.posts.service import NewImage
from gateway.publishing import attempt
from gateway.publishing.release import release_stale
from tests.conftest import TEST_PASSWORD
from tests.platforms.accounts import JPEG
from workers.worker import build_worker

#: The fake platform holds the request this long, so the worker is surely mid-call when killed.
HOLD_MS = 4000


def _start_worker(app, database_url):
    env = {
        **os.environ,
        "GATEWAY_INSTANCE_PATH": app.instance_path,  # the same generated secrets and images
        "DATABASE_URL": database_url,
        "REDIS_URL": app.config["REDIS_URL"],
        "GATEWAY_PLATFORM_ALLOWED_HOSTS": ",".join(app.config["PLATFORM_ALLOWED_HOSTS"]),
        "GATEWAY_PUBLIC_URL": app.config["PUBLIC_URL"],
    }
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


#: How long a wait may last before the test gives up: a bound, not a speed check (a worker
#: process importing the gateway on a busy 2-core machine can take well over 30 s).
WAIT_LIMIT_SECONDS = 120.0


def _wait_for(predicate, timeout=WAIT_LIMIT_SECONDS):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _status(app, delivery_id):
    with app.app_context():
        status = db.session.get(Delivery, delivery_id).status
        db.session.remove()
        return status


def _emergency_post(app, channels, **kw):
    with app.app_context():
        officer = users.create_user(
            f"duty{time.monotonic_ns()}@council.example",
            ["duty_officer"],
            TEST_PASSWORD,
            actor=Actor.system(),
        )
        admin = users.create_user(
            f"admin{time.monotonic_ns()}@council.example",
            ["admin"],
            TEST_PASSWORD,
            actor=Actor.system(),
        )
        emergency.change_in_hours_setting(admin, "at_once")  # the real clock may be in hours
        post = emergency.send(
            officer,
            text=kw.get("text", "Road closed: the A259 is shut both ways after a collision."),
            channel_ids=[channels["x"]],
            category="road_closure",
            images=kw.get("images", ()),
        )
        db.session.commit()
        return db.session.scalar(select(Delivery.id).where(Delivery.post_id == post.id))


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        # killed while the platform was creating the post: the look-up finds it
        ("/2/tweets", "published"),
        # killed while the image was still uploading: no post exists, a person must decide
        ("/2/media/upload", "held"),
    ],
)
def test_a_worker_killed_mid_attempt_is_resolved_without_a_second_post(
    app, fake, channels, gateway_server, database_url, where, expected
):
    images = [NewImage("road.jpg", "image/jpeg", JPEG, "A road closed sign")]
    fake.inject_fault("latency", platform="x", path_contains=where, latency_ms=HOLD_MS, times=1)
    delivery_id = _emergency_post(app, channels, images=images)
    worker = _start_worker(app, database_url)
    try:
        assert _wait_for(lambda: _status(app, delivery_id) == "publishing"), "never claimed"
        time.sleep(0.5)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)  # reaped here, not warned about in a later test
    time.sleep(HOLD_MS / 1000 + 0.5)  # whatever reached the platform has finished there
    assert _status(app, delivery_id) == "publishing"  # the dead worker left it claimed
    with app.app_context():
        # nothing is retried while the lease lasts; after it, the sweep asks the platform
        assert release_stale(app) == 0
        assert release_stale(app, now=utcnow() + attempt.LEASE + timedelta(seconds=1)) == 1
    build_worker(app).work(burst=True)
    assert _status(app, delivery_id) == expected
    assert len(fake.posts("x")) == (1 if expected == "published" else 0)

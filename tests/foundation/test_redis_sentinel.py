"""REDIS_URL=redis+sentinel://... (issue 19, "Scale-out"): the gateway asks Redis Sentinel for
the master, finds the new one after a failover, and its pooled workers (RQ's WorkerPool, which
cannot rebuild a Sentinel-managed connection itself) take jobs through it. Real redis-server
processes on free ports: a master, a replica and a sentinel."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, ResponseError

from gateway import queue, settings
from gateway.extensions import db
from gateway.models import User
from workers.worker import run_workers

SERVICE = "gwtest"
#: Waits for Redis and Sentinel to reach a state, then fail; nothing here is timed.
SETTLE_LIMIT_SECONDS = 30

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + SETTLE_LIMIT_SECONDS
    while True:
        try:
            if condition():
                return
        except (RedisConnectionError, ReadOnlyError, OSError):
            pass
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def _failover(sentinel: Redis) -> bool:
    """Ask for a failover; False while Sentinel has no replica it would promote yet (its view
    of the replica is refreshed from INFO every few seconds), so the caller asks again."""
    try:
        sentinel.execute_command("SENTINEL", "FAILOVER", SERVICE)
    except ResponseError as exc:
        if "NOGOODSLAVE" in str(exc):
            return False
        raise
    return True


@pytest.fixture
def cluster(tmp_path) -> Iterator[dict]:
    master, replica, sentinel = _free_port(), _free_port(), _free_port()
    common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
    conf = tmp_path / "sentinel.conf"  # Sentinel rewrites its own configuration file
    conf.write_text(
        f"port {sentinel}\nbind 127.0.0.1\n"
        f"sentinel monitor {SERVICE} 127.0.0.1 {master} 1\n"
        f"sentinel down-after-milliseconds {SERVICE} 1000\n"
        f"sentinel failover-timeout {SERVICE} 5000\n"
    )
    procs = [
        subprocess.Popen(["redis-server", "--port", str(master), *common]),
        subprocess.Popen(
            ["redis-server", "--port", str(replica), "--replicaof", "127.0.0.1", str(master)]
            + common
        ),
        subprocess.Popen(["redis-server", str(conf), "--sentinel"]),
    ]
    try:
        ask = Redis(port=sentinel)
        # Seen, and in sync: Sentinel promotes only a replica whose link to the master is up
        # in its latest INFO (a FAILOVER before that is refused with NOGOODSLAVE).
        _wait_for(
            lambda: any(
                r.get("master-link-status") == "ok" and not (r["is_sdown"] or r["is_disconnected"])
                for r in ask.sentinel_slaves(SERVICE)
            ),
            "the sentinel sees no replica in sync",
        )
        yield {
            "url": f"redis+sentinel://127.0.0.1:{sentinel}/{SERVICE}",
            "master": master,
            "replica": replica,
            "sentinel": ask,
        }
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


def test_the_setting_takes_a_sentinel_url_naming_its_service(tmp_path):
    env = {"GATEWAY_INSTANCE_PATH": str(tmp_path)}
    url = "redis+sentinel://s1:26379,s2:26379/gateway"
    assert settings.load({**env, "REDIS_URL": url})["REDIS_URL"] == url
    with pytest.raises(settings.SettingsError, match="service"):
        settings.load({**env, "REDIS_URL": "redis+sentinel://s1:26379"})


def test_the_master_is_found_and_found_again_after_a_failover(cluster):
    conn = queue.connect(cluster["url"])
    conn.set("gateway:test", "before")
    assert Redis(port=cluster["master"]).get("gateway:test") == b"before"
    _wait_for(lambda: _failover(cluster["sentinel"]), "the sentinel would not fail over")
    _wait_for(
        lambda: (
            cluster["sentinel"].sentinel_get_master_addr_by_name(SERVICE)[1] == cluster["replica"]
        ),
        "no failover",
    )
    # The same client: its commands go to the new master once the sentinel has reconfigured
    # the old one. A write in the moment between may land on the old master and be lost with
    # its demotion (Sentinel replicates asynchronously): why Redis only delivers jobs, and the
    # database's sweep queues again whatever Redis lost.
    new_master = Redis(port=cluster["replica"])
    _wait_for(
        lambda: conn.set("gateway:test", "after") and new_master.get("gateway:test") == b"after",
        "no write reached the new master",
    )
    assert new_master.info("replication")["role"] == "master"


def test_pooled_workers_take_jobs_through_the_sentinels(app, cluster):
    from gateway import users
    from gateway.audit import Actor
    from tests.conftest import TEST_PASSWORD
    from tests.foundation import jobs_for_tests

    app.config["REDIS_URL"] = cluster["url"]
    app.extensions[queue._EXT_KEY] = None
    with app.app_context():
        user = users.create_user(
            "sentinel@council.example", ["officer"], TEST_PASSWORD, actor=Actor.system()
        )
        db.session.commit()
        job = queue.get_queue(queue.DEFAULT_QUEUE, app).enqueue(
            jobs_for_tests.record_user_email, user.id
        )
        db.session.remove()
    run_workers(app, processes=2, burst=True, queues=(queue.DEFAULT_QUEUE,))
    job.refresh()
    assert job.get_status() == "finished"
    assert job.return_value() == "sentinel@council.example"
    with app.app_context():
        assert db.session.query(User).filter_by(email="sentinel@council.example").count() == 1

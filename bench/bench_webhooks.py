"""Benchmark: what webhooks add to a publishing transaction (issue 17). A script, not a test.

Run from the repository root (PostgreSQL on 127.0.0.1:5432 as user ``postgres``; it creates and
drops a database ``gw_bench_wh_<pid>``; Redis db ``--redis-db``, 12, flushed before and after):

    .venv/bin/python bench/bench_webhooks.py --transactions 2000

Each transaction is what the publish job commits when a delivery goes out: the delivery row
changed, a ``delivery.outcome`` publish-log entry (gateway.audit.record) and the commit, on
PostgreSQL, one after another in one process. Measured in the same run, in turn:

- ``baseline``: no webhook endpoint registered (the outbox reads the endpoints and writes
  nothing);
- ``3 endpoints``: three enabled endpoints subscribed to ``post.published``: three outbox rows
  in the transaction (the scheduler's sweep queues them later, outside it);
- ``3 endpoints, Redis down``: the same with Redis refusing connections: the transaction does
  not talk to Redis for a webhook, so this is the same as the row above.

An earlier version queued the three jobs after each commit: 3.3 times the baseline's median
(Redis round trips and RQ's job pickling in the publishing process), which is why the sweep
queues them now.

It prints the median and p99 of each, and each against the baseline as a ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]

import psycopg  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--redis-db", type=int, default=12, help="flushed: use your own")
    args = parser.parse_args()
    name = f"gw_bench_wh_{os.getpid()}"
    with psycopg.connect(PG + "postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    folder = tempfile.mkdtemp(prefix="bench-webhooks-")
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    os.environ["GATEWAY_INSTANCE_PATH"] = folder
    try:
        return _run(PG + name, redis_url, args.transactions)
    finally:
        with psycopg.connect(PG + "postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(url: str, redis_url: str, transactions: int) -> int:
    from flask_migrate import upgrade
    from redis import Redis

    from gateway.app import create_app
    from gateway.audit import Actor, record
    from gateway.extensions import db
    from gateway.models import WebhookEndpoint, WebhookMessage
    from gateway.webhooks.signing import encrypt_secret, new_secret

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url.replace("postgresql://", "postgresql+psycopg://"),
            "REDIS_URL": redis_url,
            "RATELIMIT_STORAGE_URI": redis_url,
        }
    )
    Redis.from_url(redis_url).flushdb()
    with app.app_context():
        upgrade()

    def one_run(label: str) -> list[float]:
        times = []
        with app.app_context():
            for i in range(transactions):
                started = time.perf_counter()
                record(
                    "delivery.outcome",
                    actor=Actor.system(),
                    obj=("delivery", i),
                    payload={"post_id": i, "delivery_id": i, "outcome": "published"},
                )
                db.session.commit()
                times.append(time.perf_counter() - started)
            db.session.remove()
        return times

    results: dict[str, list[float]] = {}
    results["baseline"] = one_run("baseline")
    with app.app_context():
        for n in range(3):
            e = WebhookEndpoint(
                url=f"https://93.184.216.{n}/h", events="post.published", secret_encrypted=b""
            )
            db.session.add(e)
            db.session.flush()
            e.secret_encrypted = encrypt_secret(e.id, new_secret())
        db.session.commit()
    results["3 endpoints"] = one_run("3 endpoints")
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    app.extensions["gateway_redis"] = None
    import logging

    logging.getLogger("gateway").setLevel(logging.ERROR)
    app.logger.setLevel(logging.ERROR)
    results["3 endpoints, Redis down"] = one_run("3 endpoints, Redis down")
    with app.app_context():
        rows = db.session.query(WebhookMessage).count()
    base = statistics.median(results["baseline"])
    print(f"{transactions} transactions each; outbox rows written: {rows}")
    print(f"{'run':28} {'median ms':>10} {'p99 ms':>8} {'x baseline (median)':>20}")
    for label, values in results.items():
        median = statistics.median(values)
        print(
            f"{label:28} {median * 1000:10.2f} {_percentile(values, 0.99) * 1000:8.2f} "
            f"{median / base:20.2f}"
        )
    Redis.from_url(redis_url).flushdb()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

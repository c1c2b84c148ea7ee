"""Benchmark: the dashboard, approval queue and schedule pages with 100,000 posts in
PostgreSQL and 20 signed-in officers at once (issue 6, "Speed").

    .venv/bin/python bench/bench_web.py [--posts 100000] [--users 20] [--seconds 15]

Creates a throw-away PostgreSQL database (admin URL from BENCH_PG_URL, else TEST_PG_URL, else
postgresql://postgres@127.0.0.1:5432/test), migrates it to head and loads, with COPY, 100,000
posts (two deliveries each): most published over the past ten years, and about 28 a day over
the next 90 days scheduled, awaiting approval or drafts; some failed and held.
A few emergency posts await review, some overdue, so the dashboard's overdue count does
its work. The tables are then VACUUMed and ANALYZEd, the state autovacuum keeps a live
database in. It starts the gateway as production runs it (``gateway web``: gunicorn,
``--workers`` processes of ``--threads`` threads) on loopback, signs in ``--users`` officers
through the real sign-in form, and drives each page with wrk (``wrk -t20 -c20``: 20 users, each
with its own session), twice: closed loop, each user asking again as soon as a page arrives
(no think time, the worst case), and with ``--think-ms`` of think time between a user's
pages (uniform between half and one and a half times it). It does so in each of ``--modes``:
``off``, the page cache off (every page built for every request); ``on``, the cache on and
nothing written; ``writes``, the cache on while one more officer saves a new draft through the
real form ``--writes-per-second`` times a second (each save moves the publish log's head on, so
every kept page is built afresh after it).

Baselines in the same run: ``/healthz`` (the process answers, no database, no template) under
the same load, and each page's time in-process (Flask's test client, one request at a time, no
HTTP server; with the cache on, all but the first are kept pages). Query counts per page are
counted in-process with a SQLAlchemy event when the page is built. The
database is dropped at the end (``--keep`` keeps it). Needs ``wrk`` (Debian: apt-get install
wrk).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "correct-horse-battery-staple-42"
#: The officer who saves drafts while the others read (``--writes-per-second``).
WRITER = "writer@council.example"
#: The page cache's lifetime when it is on (the default setting).
CACHE_SECONDS = 60
#: Share of posts in each status; the rest are published.
#: Future posts (approved, awaiting approval, drafts) fall in the next 90 days and the rest in
#: the past ten years: about 28 posts a day either way, a busy council's volume.
MIX = [
    ("awaiting_approval", 0.005),
    ("approved", 0.01),
    ("draft", 0.01),
    ("failed", 0.01),
    ("rejected", 0.01),
    ("cancelled", 0.01),
]
#: Emergency posts among the published ones (about one a week over ten years), and how many
#: of the latest still await review: the dashboard counts those overdue.
EMERGENCY_SHARE = 0.005
UNREVIEWED_EMERGENCIES = 5
FUTURE_MINUTES = 60 * 24 * 90
PAST_MINUTES = 60 * 24 * 365 * 10
PAGES = [
    ("/healthz", "baseline: /healthz (no database, no template)"),
    ("/", "dashboard"),
    ("/approvals", "approval queue"),
    ("/schedule", "schedule, this week"),
    ("/schedule/month", "schedule, this month"),
]
REDIS_DB_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
#: Requests per page for the in-process baseline.
IN_PROCESS_REQUESTS = 50


def _admin_url() -> str:
    return os.environ.get("BENCH_PG_URL") or os.environ.get(
        "TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )


def _db_url(name: str) -> str:
    return re.sub(r"/[^/]*$", f"/{name}", _admin_url())


def _env(url: str, instance: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GATEWAY_INSTANCE_PATH=str(instance),
        DATABASE_URL=url,
        REDIS_URL=REDIS_DB_URL,
        GATEWAY_COOKIE_SECURE="false",  # plain http on loopback
        GATEWAY_SIGNIN_RATE_LIMIT="10000 per minute",
    )
    return env


def _migrate_and_users(url: str, instance: Path, users: int) -> tuple[list[str], list[int]]:
    os.environ.update(_env(url, instance))
    from flask_migrate import upgrade

    from gateway import users as user_service
    from gateway.app import create_app
    from gateway.audit import Actor
    from gateway.extensions import db
    from gateway.models import Channel

    app = create_app()
    emails, ids = [], []
    with app.app_context():
        upgrade()
        for i in range(users):
            email = f"officer{i:02d}@council.example"
            user = user_service.create_user(email, ["officer"], PASSWORD, actor=Actor.system())
            emails.append(email)
            ids.append(user.id)
        user_service.create_user(WRITER, ["officer"], PASSWORD, actor=Actor.system())
        for platform_name, name in (("x", "Council on X"), ("facebook", "Council Facebook")):
            db.session.add(
                Channel(platform=platform_name, display_name=name, external_account_id=name)
            )
        db.session.commit()
    return emails, ids


def _load(url: str, posts: int, author_ids: list[int], first_id: int | None = None) -> None:
    """``first_id``: the first post's id (default: after the highest in the table)."""
    started = time.perf_counter()
    rng = random.Random(6)
    now = datetime.now(UTC)
    statuses = []
    for status, share in MIX:
        statuses += [status] * round(share * 2000)
    statuses += ["published"] * (2000 - len(statuses))
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        channel_ids = [r[0] for r in cur.execute("SELECT id FROM channels ORDER BY id")]
        first = first_id or cur.execute("SELECT coalesce(max(id), 0) + 1 FROM posts").fetchone()[0]
        with cur.copy(
            "COPY posts (id, text, author_id, status, emergency_category, scheduled_at, "
            "created_at, updated_at, version) FROM STDIN"
        ) as copy:
            rows = []
            for i in range(posts):
                status = rng.choice(statuses)
                if status in ("approved", "awaiting_approval", "draft"):
                    at = now + timedelta(minutes=rng.randrange(0, FUTURE_MINUTES))
                else:
                    at = now - timedelta(minutes=rng.randrange(0, PAST_MINUTES))
                rows.append((first + i, status, at))
                emergency = status == "published" and rng.random() < EMERGENCY_SHARE
                copy.write_row(
                    (
                        first + i,
                        f"Post {i}: bins, roadworks and library opening hours this week.",
                        rng.choice(author_ids),
                        status,
                        "flooding" if emergency else None,
                        at,
                        at if emergency else at - timedelta(days=2),
                        at - timedelta(days=1),
                        1,
                    )
                )
        with cur.copy(
            "COPY deliveries (post_id, channel_id, due_at, status, attempts) FROM STDIN"
        ) as copy:
            for post_id, status, at in rows:
                for channel_id in channel_ids:
                    delivery = {
                        "published": "published",
                        "approved": "scheduled",
                        "failed": "failed",
                        "cancelled": "cancelled",
                    }.get(status, "pending")
                    if status == "approved" and rng.random() < 0.01:
                        delivery = "held"
                    copy.write_row((post_id, channel_id, at, delivery, 1))
        # Every emergency post has been reviewed but the latest few.
        cur.execute(
            "INSERT INTO emergency_reviews (post_id, reviewer_id, outcome, note, created_at) "
            "SELECT id, %s, 'reviewed', '', created_at + interval '1 day' FROM posts "
            "WHERE emergency_category IS NOT NULL ORDER BY created_at DESC OFFSET %s",
            (author_ids[0], UNREVIEWED_EMERGENCIES),
        )
        cur.execute("SELECT setval('posts_id_seq', (SELECT max(id) FROM posts))")
        cur.execute("SELECT setval('deliveries_id_seq', (SELECT max(id) FROM deliveries))")
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"loaded {posts:,} posts in {time.perf_counter() - started:.0f} s", flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(
    url: str, instance: Path, port: int, workers: int, threads: int, cache_seconds: int
) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "web",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ],
        env={
            **_env(url, instance),
            "PYTHONPATH": str(ROOT),
            "GATEWAY_PAGE_CACHE_SECONDS": str(cache_seconds),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server
        except requests.RequestException:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the gateway did not start")


def _csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)


def _signed_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/sign-in", timeout=10).text
    token = _csrf_token(page)
    response = session.post(
        f"{base}/sign-in",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.status_code
    # The cookie as a browser holds it after its first page: that page gave the session the
    # secret its forms' CSRF tokens are made from.
    assert session.get(f"{base}/", timeout=30, allow_redirects=False).status_code == 200
    return session


def _sign_in(base: str, email: str) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in _signed_in(base, email).cookies)


class Writer(threading.Thread):
    """An officer saving a new draft through the real form ``rate`` times a second while the
    others read: each save is a publish-log entry, so every kept page is built afresh after
    it (gateway.web.page_cache)."""

    def __init__(self, base: str, rate: float) -> None:
        super().__init__(daemon=True)
        self.base, self.interval = base, 1 / rate
        self.saved = self.failed = 0
        self.stop = threading.Event()

    def run(self) -> None:
        session = _signed_in(self.base, WRITER)
        due = time.monotonic()
        while not self.stop.is_set():
            page = session.get(f"{self.base}/posts/new", timeout=30).text
            channel = re.search(r'<input[^>]*name="channels"[^>]*value="(\d+)"', page)
            response = session.post(
                f"{self.base}/posts/new",
                data={
                    "csrf_token": _csrf_token(page),
                    "text": f"Draft {self.saved}: the library opens late on Thursday.",
                    "channels": channel.group(1),
                    "action": "save",
                },
                allow_redirects=False,
                timeout=30,
            )
            if response.status_code == 302:
                self.saved += 1
            else:
                self.failed += 1
            due += self.interval
            self.stop.wait(max(due - time.monotonic(), 0))


def _in_process(
    url: str, instance: Path, email: str, cache_seconds: int
) -> tuple[dict[str, int], dict[str, float]]:
    """Each page's query count when it is built, and its mean time over IN_PROCESS_REQUESTS
    requests made one at a time through Flask's test client (no HTTP server, no concurrency),
    with the page cache as given (all but the first request are hits when it is on)."""
    from sqlalchemy import event

    from gateway.app import create_app
    from gateway.extensions import db

    app = create_app(
        {
            "SERVER_NAME": "localhost",
            "WTF_CSRF_SSL_STRICT": False,
            "PAGE_CACHE_SECONDS": cache_seconds,
        }
    )
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    token = _csrf_token(page)
    client.post("/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token})
    counts = {}
    with app.app_context():
        engine = db.engine
    for path, _ in PAGES:
        statements: list[str] = []

        def count(*args, statements=statements):  # noqa: ANN002
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        response = client.get(path)
        event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200, (path, response.status_code)
        counts[path] = len(statements)
    times = {}
    for path, _ in PAGES:
        started = time.perf_counter()
        for _ in range(IN_PROCESS_REQUESTS):
            assert client.get(path).status_code == 200
        times[path] = (time.perf_counter() - started) / IN_PROCESS_REQUESTS * 1000
    return counts, times


def _wrk(base: str, path: str, cookies: Path, users: int, seconds: int, think_ms: int) -> dict:
    result = subprocess.run(
        [
            "wrk",
            f"-t{users}",
            f"-c{users}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(ROOT / "bench" / "web_load.lua"),
            base + path,
        ],
        env={**os.environ, "COOKIES_FILE": str(cookies), "THINK_MS": str(think_ms)},
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("JSON "))
    return json.loads(line[5:])


def _table(base, cookies, args, think_ms: int, counts, times, title: str) -> None:
    mode = f"think time {think_ms} ms (mean)" if think_ms else "closed loop, no think time"
    print(
        f"\n{title}, {mode}: load average {os.getloadavg()[0]:.1f} at the start\n"
        "| Page | Requests/s | p50 | p95 | p99 | p95 / baseline p95 | In-process | Queries |\n"
        "|---|---|---|---|---|---|---|---|",
        flush=True,
    )
    baseline = None
    for path, label in PAGES:
        _wrk(base, path, cookies, args.users, 2, think_ms)  # warm-up
        figures = _wrk(base, path, cookies, args.users, args.seconds, think_ms)
        if figures["errors"]:
            print(f"  {figures['errors']} errors on {path}")
        baseline = baseline or figures["p95_ms"]
        print(
            f"| {label} | {figures['requests'] / figures['seconds']:.0f} "
            f"| {figures['p50_ms']:.0f} ms | {figures['p95_ms']:.0f} ms "
            f"| {figures['p99_ms']:.0f} ms | {figures['p95_ms'] / baseline:.1f}x "
            f"| {times[path]:.1f} ms | {counts[path]} |",
            flush=True,
        )
    print(f"load average {os.getloadavg()[0]:.1f} at the end", flush=True)


#: --modes: the page cache's lifetime, whether a writer runs, and the table's title.
MODES = {
    "off": (0, False, "Page cache off (every page built)"),
    "on": (CACHE_SECONDS, False, "Page cache on, nothing written"),
    "writes": (CACHE_SECONDS, True, "Page cache on, a draft saved every {every}"),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--think-ms", type=int, default=1000, help="mean think time of a second run (0: skip)"
    )
    parser.add_argument(
        "--modes",
        default="off,on,writes",
        help="page cache off, on, and on while an officer saves drafts (comma-separated)",
    )
    parser.add_argument(
        "--writes-per-second", type=float, default=1.0, help="drafts saved in the writes mode"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if unknown := set(modes) - set(MODES):
        raise SystemExit(f"unknown --modes: {', '.join(sorted(unknown))}")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    name = f"gw_bench_web_{os.getpid()}"
    with psycopg.connect(_admin_url(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory() as tmp:
            instance = Path(tmp) / "instance"
            url = _db_url(name)
            emails, ids = _migrate_and_users(url, instance, args.users)
            _load(url, args.posts, ids)
            print(
                f"{platform.python_implementation()} {platform.python_version()}, "
                f"{os.cpu_count()} CPUs; {args.posts:,} posts, {args.users} users, "
                f"{args.seconds} s a page; gunicorn {args.workers} workers x {args.threads} "
                "threads, wrk and PostgreSQL on the same machine",
                flush=True,
            )
            for mode in modes:
                _run_mode(args, mode, url, instance, emails, Path(tmp))
    finally:
        if not args.keep:
            with psycopg.connect(_admin_url(), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


def _run_mode(args, mode: str, url: str, instance: Path, emails: list[str], tmp: Path) -> None:
    cache_seconds, writes, title = MODES[mode]
    title = title.format(every=f"{1 / args.writes_per_second:g} s")
    counts, times = _in_process(url, instance, emails[0], cache_seconds)
    port = _free_port()
    server = _serve(url, instance, port, args.workers, args.threads, cache_seconds)
    writer = None
    try:
        base = f"http://127.0.0.1:{port}"
        cookies = tmp / f"cookies-{mode}.txt"
        cookies.write_text("\n".join(_sign_in(base, e) for e in emails) + "\n")
        if writes:
            writer = Writer(base, args.writes_per_second)
            writer.start()
        _table(base, cookies, args, 0, counts, times, title)
        if args.think_ms:
            _table(base, cookies, args, args.think_ms, counts, times, title)
        if writer is not None:
            writer.stop.set()
            writer.join(timeout=30)
            print(f"drafts saved during the run: {writer.saved}, refused: {writer.failed}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    raise SystemExit(main())

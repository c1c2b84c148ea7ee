"""Benchmark: publishing on time (issue #5, "Speed"). A script, not a test; it stops by itself.

Run from the repository root (office hours, Europe/London, for ordinary posts):

    .venv/bin/python bench/bench_publish.py                 # everything, ~8 minutes
    .venv/bin/python bench/bench_publish.py --emergency     # outside office hours
    .venv/bin/python bench/bench_publish.py --only gateway --workers 12

What runs, all on this machine, each part in its own process:
- PostgreSQL: a throw-away database ``gw_bench_<pid>`` created on 127.0.0.1:5432 and dropped at
  the end; Redis: its own db number (``--redis-db``, flushed before and after).
- The fake platform (``gateway fakeplatform``) with every request delayed ``--latency-ms``.
- The gateway: ``gateway web`` (Instagram fetches each image from its signed /media URL),
  ``gateway scheduler`` and ``--workers`` ``gateway worker`` processes.

Scenarios (``--only`` picks some):
- ``gateway``: ``--posts`` approved posts, each on X, Facebook and Instagram with one JPEG,
  made through the post service (create_draft, submit, approve by a second officer), due at
  times spread evenly so that ``--rate`` deliveries a second fall due.
- ``rates``: the gateway again at 10, 50 and 100 deliveries a second for ``--rate-seconds``.
- ``burst``: every delivery due at the same instant, for capacity (throughput).
- ``rq-simple`` / ``rq-fork``: baseline 1, bare RQ jobs (``enqueue_at`` rounded up to the
  second, RQ's own scheduler) that make the same adapter call and nothing else, on
  non-forking ``SimpleWorker``s and on default forking ``Worker``s.
- ``threads``: baseline 2, the floor: the same calls by 8 threads in this process, no queue.

Lateness is the fake platform's ``received_at`` of the post (for Instagram the media_publish
call, the moment the post exists) minus its due time. "Early" counts posts received before
their due time and must be 0. Throughput is deliveries / (last receipt - first due time).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
PLATFORMS = ("x", "facebook", "instagram")
#: Accounts on the fake platform. Instagram's real quota is 100 posts a day; the bench account
#: gets a large one so the quota hold (tested elsewhere) does not cut the run short.
X_ID, PAGE_ID, IG_ID = "9100", "9200", "9300"
X_CREDS = {
    "consumer_key": "bench-ck",
    "consumer_secret": "bench-cs",
    "access_token": f"{X_ID}-bench-at",
    "access_token_secret": "bench-ats",
}
FB_CREDS = {"access_token": "bench-page-token"}
IG_CREDS = {"access_token": "bench-ig-token"}
CREDS = {"x": X_CREDS, "facebook": FB_CREDS, "instagram": IG_CREDS}
ACCOUNTS = {"x": X_ID, "facebook": PAGE_ID, "instagram": IG_ID}
IG_QUOTA = 1_000_000
ALT_TEXT = "A refuse lorry outside the council offices"
#: Seconds between making the last post and the first due time: the workers start cold.
LEAD_SECONDS = 8.0
#: After the last due time, how long a scenario may take to drain before it is cut off.
DRAIN_SECONDS = 90.0
#: The no-queue floor uses this many threads (issue #5).
FLOOR_THREADS = 8
#: Processes making the posts before a run, and the allowance over their measured speed.
MAKERS = 4
MAKE_MARGIN = 1.5
SETTLED = ("published", "failed", "held", "blocked", "cancelled")
CLOSES = {0: (17, 0), 1: (17, 0), 2: (17, 0), 3: (17, 0), 4: (16, 30)}


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 120, 60)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


# -- baseline 1: the bare RQ job ----------------------------------------------------------------
def bare_publish(platform: str, base_url: str, text: str, image_url: str, jpeg: bytes) -> str:
    """The same adapter call a publish job makes, with nothing around it (no database)."""
    from gateway.platforms import ChannelConfig, DeliveryRequest, MediaItem, adapter_for

    channel = ChannelConfig(platform, ACCOUNTS[platform], CREDS[platform], base_url)  # type: ignore[arg-type]
    media = (MediaItem(jpeg, image_url, "image/jpeg", ALT_TEXT),)
    with adapter_for(channel, allowed_hosts=("127.0.0.1",)) as publisher:
        return publisher.publish(DeliveryRequest(0, "bench", text, media)).platform_post_id


# -- results ------------------------------------------------------------------------------------
@dataclass
class Result:
    name: str
    mode: str
    deliveries: int
    lateness: dict[str, list[float]] = field(default_factory=dict)  # platform -> seconds
    early: int = 0
    missing: int = 0
    doubled: int = 0
    throughput: float = 0.0
    note: str = ""
    #: Where the time goes in the gateway, per platform: (claimed - due, published - claimed).
    stages: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)

    def all_lateness(self) -> list[float]:
        return [v for values in self.lateness.values() for v in values]


def _pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def _score(
    name: str, mode: str, due: dict[str, float], receipts: list[dict], note: str = ""
) -> Result:
    """``due``: text -> due time (epoch s), one entry per (platform, text) delivery key."""
    result = Result(name, mode, len(due), note=note)
    seen: dict[str, int] = defaultdict(int)
    for post in receipts:
        key = f"{post['platform']}|{post['text']}"
        if key not in due:
            continue
        seen[key] += 1
        if seen[key] > 1:
            result.doubled += 1
            continue
        late = post["received_at"] - due[key]
        result.lateness.setdefault(post["platform"], []).append(late)
        if late < 0:
            result.early += 1
    result.missing = sum(1 for key in due if key not in seen)
    received = [p["received_at"] for p in receipts if f"{p['platform']}|{p['text']}" in due]
    if received:
        span = max(received) - min(due.values())
        result.throughput = len(received) / span if span > 0 else math.inf
    return result


def _row(label: str, values: list[float], r: Result, throughput: str) -> str:
    return (
        f"| {label} | {len(values)} | {_pct(values, 50) * 1000:.0f} | {_pct(values, 99) * 1000:.0f}"
        f" | {max(values, default=math.nan) * 1000:.0f} | {r.early} | {throughput} |"
    )


def print_results(results: list[Result], floor: float | None) -> None:
    print()
    print("| Scenario | Deliveries | p50 ms | p99 ms | max ms | Early | Throughput/s (x floor) |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        values = r.all_lateness()
        ratio = f" ({r.throughput / floor:.2f}x)" if floor else ""
        print(_row(f"{r.name}, all", values, r, f"{r.throughput:.1f}{ratio}"))
        for platform in PLATFORMS:
            if platform in r.lateness:
                print(_row(f"{r.name}, {platform}", r.lateness[platform], r, ""))
        for platform, (claimed, called) in r.stages.items():
            print(
                f"|   {platform}: claimed after due p50 {_pct(claimed, 50) * 1000:.0f} ms, "
                f"p99 {_pct(claimed, 99) * 1000:.0f} ms; claim to recorded p50 "
                f"{_pct(called, 50) * 1000:.0f} ms, p99 {_pct(called, 99) * 1000:.0f} ms |||||||"
            )
        if r.missing or r.doubled or r.note:
            print(f"|   {r.name}: missing {r.missing}, doubled {r.doubled}. {r.note} |||||||")
    print()


# -- the environment ----------------------------------------------------------------------------
class Bench:
    """Database, Redis, fake platform, image server and gateway web: set up once, torn down."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.procs: list[subprocess.Popen] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="gw-bench-"))
        self.dbname = f"gw_bench_{os.getpid()}"
        self.pg_admin = args.pg_url
        self.fake_url = f"http://127.0.0.1:{_free_port()}"
        self.web_url = f"http://127.0.0.1:{_free_port()}"
        self.static_url = f"http://127.0.0.1:{_free_port()}"
        self.redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
        self.jpeg = _jpeg()
        base = args.pg_url.rsplit("/", 1)[0]
        self.env = {
            **os.environ,
            "GATEWAY_INSTANCE_PATH": str(self.tmp / "instance"),
            "DATABASE_URL": f"{base}/{self.dbname}",
            "REDIS_URL": self.redis_url,
            "GATEWAY_PUBLIC_URL": self.web_url,
            "GATEWAY_PLATFORM_ALLOWED_HOSTS": "127.0.0.1",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "bench"), str(ROOT)]),
        }
        self.app = None
        self.channels: dict[str, int] = {}
        self.author_id = self.approver_id = 0
        self.make_seconds = args.make_seconds

    # processes
    def spawn(self, *argv: str, quiet: bool = True) -> subprocess.Popen:
        out = open(self.tmp / f"proc-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            list(argv),
            env=self.env,
            cwd=ROOT,
            stdout=out if quiet else None,
            stderr=subprocess.STDOUT if quiet else None,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def stop(self, procs: list[subprocess.Popen]) -> None:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            if p in self.procs:
                self.procs.remove(p)

    def gateway(self, *argv: str) -> subprocess.Popen:
        return self.spawn(PY, "-m", "gateway.cli", *argv)

    def _wait_http(self, url: str) -> None:
        import requests

        for _ in range(300):
            try:
                requests.get(url, timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise SystemExit(f"{url} did not answer")

    def __enter__(self) -> Bench:
        import psycopg
        from redis import Redis

        self.redis = Redis.from_url(self.redis_url)
        self.redis.flushdb()
        with psycopg.connect(self.pg_admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.dbname}"')
        os.environ.update({k: v for k, v in self.env.items() if k != "PYTHONPATH"})
        from flask_migrate import upgrade

        from gateway.app import create_app

        self.app = create_app()
        with self.app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
        (self.tmp / "static").mkdir()
        (self.tmp / "static" / "bench.jpg").write_bytes(self.jpeg)
        fake_port = self.fake_url.rsplit(":", 1)[1]
        self.gateway("fakeplatform", "--port", fake_port)
        self.gateway("web", "--port", self.web_url.rsplit(":", 1)[1])
        self.spawn(
            PY,
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            "--directory",
            str(self.tmp / "static"),
            self.static_url.rsplit(":", 1)[1],
        )
        self._wait_http(self.fake_url + "/_fake/accounts")
        self._wait_http(self.web_url + "/healthz")
        self._wait_http(self.static_url + "/bench.jpg")
        self.reset_fake()
        self._people_and_channels()
        return self

    def __exit__(self, *exc: object) -> None:
        import psycopg

        self.stop(list(self.procs))
        if self.app is not None:
            from gateway.extensions import db

            with self.app.app_context():
                db.engine.dispose()
        with contextlib.suppress(Exception):  # best effort on the way out
            self.redis.flushdb()
        with psycopg.connect(self.pg_admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            log(f"kept {self.tmp}")

    def reset_fake(self) -> None:
        from fakeplatform.client import FakePlatformControl

        with FakePlatformControl(self.fake_url) as control:
            control.reset()
            for platform in PLATFORMS:
                options = {"quota_total": IG_QUOTA} if platform == "instagram" else {}
                control.register_account(
                    platform, ACCOUNTS[platform], CREDS[platform], name="Council", **options
                )
            if self.args.latency_ms:
                control.inject_fault("latency", latency_ms=self.args.latency_ms, times=None)

    def receipts(self) -> list[dict]:
        from fakeplatform.client import FakePlatformControl

        with FakePlatformControl(self.fake_url) as control:
            return control.posts()

    def _people_and_channels(self) -> None:
        from gateway import users
        from gateway.audit import Actor
        from gateway.credentials import encrypt_credentials
        from gateway.extensions import db
        from gateway.models import Channel

        password = "bench-" + uuid.uuid4().hex  # a throw-away database: never shown
        with self.app.app_context():
            self.author_id = users.create_user(
                "author@bench.example", ["officer"], password, actor=Actor.system()
            ).id
            self.approver_id = users.create_user(
                "approver@bench.example", ["officer"], password, actor=Actor.system()
            ).id
            for platform in PLATFORMS:
                channel = Channel(
                    platform=platform,
                    display_name=f"Bench {platform}",
                    external_account_id=ACCOUNTS[platform],
                    base_url=self.fake_url,
                )
                db.session.add(channel)
                db.session.flush()
                channel.credentials_encrypted = encrypt_credentials(channel.id, CREDS[platform])
                self.channels[platform] = channel.id
            db.session.commit()


def _texts(tag: str, n: int) -> list[str]:
    # Distinct texts: X refuses a duplicate, and the receipts are matched on the text.
    run = uuid.uuid4().hex[:6]
    return [
        f"Bench {tag} {run} number {i}: garden waste collections run as normal." for i in range(n)
    ]


def _due_times(t0: float, n_posts: int, rate: float, burst: bool) -> list[float]:
    """Post i's due time: every post has 3 deliveries, so posts come rate/3 a second."""
    return [t0 if burst else t0 + i * len(PLATFORMS) / rate for i in range(n_posts)]


# -- the gateway --------------------------------------------------------------------------------
def _make_slice(bench: Bench, texts: list[str], dues: list[float], emergency: bool) -> None:
    from gateway.extensions import db
    from gateway.models import User
    from gateway.posts import service
    from gateway.posts.service import NewImage

    with bench.app.app_context():
        for text, due in zip(texts, dues, strict=True):
            author = db.session.get(User, bench.author_id)
            approver = db.session.get(User, bench.approver_id)
            post = service.create_draft(
                author,
                text=text,
                channel_ids=list(bench.channels.values()),
                scheduled_at=datetime.fromtimestamp(due, UTC),
                images=[NewImage("bench.jpg", "image/jpeg", bench.jpeg, ALT_TEXT)],
                emergency_category="bad weather" if emergency else None,
            )
            service.submit(post, author)
            db.session.commit()
            service.approve(post, approver)
            db.session.commit()
            db.session.remove()


def make_posts(bench: Bench, texts: list[str], dues: list[float], emergency: bool) -> None:
    """Through the post service, as officers do, in MAKERS forked processes: about 50 queries
    a post, so one process would take minutes for 1,000."""
    from gateway.extensions import db

    with bench.app.app_context():
        db.engine.dispose()  # no connection crosses the fork
    children = []
    for k in range(MAKERS):
        pid = os.fork()
        if pid == 0:  # child
            code = 0
            try:
                from gateway import queue

                queue.init_app(bench.app)  # nor any Redis connection
                with bench.app.app_context():
                    db.engine.dispose(close=False)
                _make_slice(bench, texts[k::MAKERS], dues[k::MAKERS], emergency)
            except BaseException:  # noqa: BLE001 - report and leave with a failure code
                import traceback

                traceback.print_exc()
                code = 1
            os._exit(code)
        children.append(pid)
    failed = [pid for pid in children if os.waitpid(pid, 0)[1] != 0]
    if failed:
        raise SystemExit(f"{len(failed)} post makers failed (see above)")


def _settled(bench: Bench, texts: list[str]) -> tuple[int, dict[str, int]]:
    from sqlalchemy import func, select

    from gateway.extensions import db
    from gateway.models import Delivery, Post

    with bench.app.app_context():
        rows = db.session.execute(
            select(Delivery.status, func.count())
            .join(Post, Post.id == Delivery.post_id)
            .where(Post.text.in_(texts))
            .group_by(Delivery.status)
        ).all()
        db.session.remove()
    counts = {status: n for status, n in rows}
    return sum(n for s, n in counts.items() if s in SETTLED), counts


@contextmanager
def gateway_processes(bench: Bench, workers: int) -> Iterator[None]:
    procs = [bench.gateway("scheduler")]
    procs.append(bench.gateway("worker", "--processes", str(workers), *bench.args.worker_args))
    time.sleep(3)  # imports done before the clock starts
    try:
        yield
    finally:
        bench.stop(procs)


def run_gateway(bench: Bench, name: str, n_posts: int, rate: float, burst: bool) -> Result:
    mode = "emergency" if bench.args.emergency else "ordinary"
    texts = _texts(name.replace(" ", "-"), n_posts)
    # The machine is shared: the allowance follows how fast the last batch was made.
    t0 = time.time() + n_posts * bench.make_seconds * MAKE_MARGIN + LEAD_SECONDS
    dues = _due_times(t0, n_posts, rate, burst)
    log(f"{name}: making {n_posts} approved posts ({n_posts * 3} deliveries), {mode}")
    started = time.time()
    make_posts(bench, texts, dues, bench.args.emergency)
    made = time.time()
    log(f"{name}: made in {made - started:.1f} s; first due in {t0 - made:.1f} s")
    bench.make_seconds = (made - started) / n_posts
    if made > t0 - 1:
        raise SystemExit("making the posts took longer than the sample said: run again")
    total = n_posts * len(PLATFORMS)
    deadline = dues[-1] + DRAIN_SECONDS
    while time.time() < deadline:
        done, counts = _settled(bench, texts)
        if done >= total:
            break
        time.sleep(1)
    note = "" if done >= total else f"cut off; statuses {counts}"
    if counts.keys() - {"published"}:
        note += f" statuses {counts}"
    due = {f"{p}|{t}": d for t, d in zip(texts, dues, strict=True) for p in PLATFORMS}
    result = _score(name, mode, due, bench.receipts(), note)
    result.stages = _stages(bench, texts)
    return result


def _stages(bench: Bench, texts: list[str]) -> dict[str, tuple[list[float], list[float]]]:
    from sqlalchemy import select

    from gateway.extensions import db
    from gateway.models import Channel, Delivery, Post

    stages: dict[str, tuple[list[float], list[float]]] = {}
    with bench.app.app_context():
        rows = db.session.execute(
            select(
                Channel.platform,
                Delivery.due_at,
                Delivery.attempt_started_at,
                Delivery.published_at,
            )
            .join(Post, Post.id == Delivery.post_id)
            .join(Channel, Channel.id == Delivery.channel_id)
            .where(Post.text.in_(texts), Delivery.published_at.is_not(None))
        ).all()
        db.session.remove()
    if bench.args.dump:  # one row per delivery, for looking at lateness second by second
        with bench.args.dump.open("a") as out:
            for platform, due, started, published in rows:
                out.write(
                    json.dumps(
                        {
                            "platform": platform,
                            "due": due.timestamp(),
                            "claimed": started.timestamp(),
                            "recorded": published.timestamp(),
                        }
                    )
                    + "\n"
                )
    for platform, due, started, published in rows:
        claimed, called = stages.setdefault(platform, ([], []))
        claimed.append((started - due).total_seconds())
        called.append((published - started).total_seconds())
    return stages


# -- baselines ----------------------------------------------------------------------------------
def _baseline_items(bench: Bench, tag: str, n_posts: int, rate: float, burst: bool, lead: float):
    texts = _texts(tag, n_posts)
    t0 = time.time() + lead
    dues = _due_times(t0, n_posts, rate, burst)
    image_url = bench.static_url + "/bench.jpg"
    items = [(p, t, d, image_url) for t, d in zip(texts, dues, strict=True) for p in PLATFORMS]
    return items, {f"{p}|{t}": d for p, t, d, _ in items}


def _wait_receipts(bench: Bench, due: dict[str, float]) -> list[dict]:
    deadline = max(due.values()) + DRAIN_SECONDS
    while True:
        receipts = bench.receipts()
        got = sum(1 for p in receipts if f"{p['platform']}|{p['text']}" in due)
        if got >= len(due) or time.time() > deadline:
            return receipts
        time.sleep(1)


def run_bare_rq(
    bench: Bench, name: str, n_posts: int, rate: float, burst: bool, fork: bool
) -> Result:
    from rq import Queue

    workers = bench.args.workers
    argv = [PY, "-m", "rq.cli", "worker", "--url", bench.redis_url, "--with-scheduler"]
    if not fork:
        argv += ["--worker-class", "rq.SimpleWorker"]
    procs = [bench.spawn(*argv, "bench") for _ in range(workers)]
    time.sleep(3)
    try:
        items, due = _baseline_items(bench, name, n_posts, rate, burst, LEAD_SECONDS)
        queue = Queue("bench", connection=bench.redis)
        log(f"{name}: {len(items)} bare RQ jobs on {workers} {'forking' if fork else 'simple'}")
        for platform, text, at, image_url in items:
            # enqueue_at keeps whole seconds: round up, or a quarter would go out early.
            when = datetime.fromtimestamp(math.ceil(at), UTC)
            args = (platform, bench.fake_url, text, image_url, bench.jpeg)
            queue.enqueue_at(
                when, "bench_publish.bare_publish", *args, result_ttl=0, job_timeout=120
            )
        receipts = _wait_receipts(bench, due)
    finally:
        bench.stop(procs)
    model = f"{workers} forking Workers" if fork else f"{workers} SimpleWorkers"
    return _score(name, "bare RQ", due, receipts, note=model)


def run_threads(bench: Bench, name: str, n_posts: int, rate: float, burst: bool) -> Result:
    from concurrent.futures import ThreadPoolExecutor

    items, due = _baseline_items(bench, name, n_posts, rate, burst, 2.0)
    log(f"{name}: {len(items)} calls by {FLOOR_THREADS} threads, no queue")
    ordered = iter(sorted(items, key=lambda item: item[2]))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                item = next(ordered, None)
            if item is None:
                return
            platform, text, at, image_url = item
            wait = at - time.time()
            if wait > 0:
                time.sleep(wait)
            bare_publish(platform, bench.fake_url, text, image_url, bench.jpeg)

    with ThreadPoolExecutor(FLOOR_THREADS) as pool:
        for future in [pool.submit(work) for _ in range(FLOOR_THREADS)]:
            future.result()
    return _score(name, "no queue", due, _wait_receipts(bench, due), f"{FLOOR_THREADS} threads")


# -- main ---------------------------------------------------------------------------------------
def office_hours_left() -> float:
    """Seconds until office hours close now (Europe/London), or 0 when they are shut."""
    from gateway.domain.guardrails.clock import LONDON, OfficeHours

    now = datetime.now(UTC)
    if not OfficeHours().is_open(now):
        return 0.0
    local = now.astimezone(LONDON)
    hour, minute = CLOSES[local.weekday()]
    return (local.replace(hour=hour, minute=minute, second=0, microsecond=0) - local).seconds


SCENARIOS = ("gateway", "rates", "burst", "rq-simple", "rq-fork", "threads")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1000, help="posts (3 deliveries each)")
    parser.add_argument("--rate", type=float, default=50, help="deliveries falling due a second")
    parser.add_argument("--rates", default="10,50,100", help="for the rates scenario")
    parser.add_argument("--rate-seconds", type=float, default=20)
    parser.add_argument("--burst-posts", type=int, default=200)
    parser.add_argument(
        "--fork-posts", type=int, default=200, help="posts for forking RQ workers (they lag)"
    )
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--workers", type=int, default=12, help="worker processes")
    parser.add_argument("--worker-args", default="", help="extra `gateway worker` options")
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--emergency", action="store_true", help="measure emergency posts")
    parser.add_argument("--redis-db", type=int, default=11)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--make-seconds", type=float, default=0.05, help="first allowance to make one post"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--dump", type=Path, help="append each gateway delivery's times here (JSON lines)"
    )
    args = parser.parse_args()
    args.worker_args = args.worker_args.split()
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    if unknown := set(only) - set(SCENARIOS):
        parser.error(f"unknown scenarios {sorted(unknown)}: choose from {', '.join(SCENARIOS)}")
    os.chdir(ROOT)
    if not args.emergency and office_hours_left() < 15 * 60:
        print(
            "bench_publish: it is outside office hours in Europe/London (or within 15 minutes "
            "of closing), when the guardrails refuse ordinary posts at publish time. Run it "
            "Mon-Thu 9:00-17:00 or Fri 9:00-16:30, or pass --emergency to measure emergency "
            "posts, which may go out of hours.",
            file=sys.stderr,
        )
        sys.exit(2)

    results: list[Result] = []
    floor: float | None = None
    with Bench(args) as bench:
        mode = "emergency" if args.emergency else "ordinary"
        log(f"ready: {args.workers} workers, latency {args.latency_ms} ms, {mode} posts")
        if "threads" in only:
            results.append(run_threads(bench, "floor, burst", args.burst_posts, 1, True))
            floor = results[-1].throughput
            results.append(run_threads(bench, "floor, paced", args.posts, args.rate, False))
            bench.reset_fake()
        # (label, runs inside the gateway's own processes?, the run)
        runs: list[tuple[str, bool, Callable[[], Result]]] = []
        if "gateway" in only:
            runs.append(
                (
                    "gateway",
                    True,
                    lambda: run_gateway(bench, "gateway", args.posts, args.rate, False),
                )
            )
        if "burst" in only:
            runs.append(
                (
                    "burst",
                    True,
                    lambda: run_gateway(bench, "gateway burst", args.burst_posts, 1, True),
                )
            )
        if "rates" in only:
            for r in (float(x) for x in args.rates.split(",")):
                n = max(1, round(r * args.rate_seconds / len(PLATFORMS)))
                runs.append(
                    (
                        f"{r:g}/s",
                        True,
                        lambda r=r, n=n: run_gateway(bench, f"gateway {r:g}/s", n, r, False),
                    )
                )
        if "rq-simple" in only:
            runs.append(
                (
                    "rq simple",
                    False,
                    lambda: run_bare_rq(
                        bench, "bare RQ simple", args.posts, args.rate, False, False
                    ),
                )
            )
            runs.append(
                (
                    "rq simple burst",
                    False,
                    lambda: run_bare_rq(
                        bench, "bare RQ simple burst", args.burst_posts, 1, True, False
                    ),
                )
            )
        if "rq-fork" in only:
            runs.append(
                (
                    "rq fork",
                    False,
                    lambda: run_bare_rq(
                        bench, "bare RQ fork", args.fork_posts, args.rate, False, True
                    ),
                )
            )
        for label, needs_gateway, run in runs:
            if needs_gateway:
                with gateway_processes(bench, args.workers):
                    results.append(run())
            else:
                results.append(run())
            log(f"{label}: done")
            bench.redis.flushdb()
            bench.reset_fake()
        print_results(results, floor)
        if args.json:
            args.json.write_text(json.dumps([r.__dict__ for r in results], indent=1))


if __name__ == "__main__":
    main()

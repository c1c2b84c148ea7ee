"""Load (issue 19): signed-in officers and auditors on a big database while deliveries go out.

Run from the repository root (needs ``pip install -e ".[bench]"`` for locust):

    .venv/bin/python bench/load.py --posts 100000 --log-entries 1000000 --users 50 \\
        --minutes 10 --deliveries-per-second 50

It starts the whole stack with bench/soak.py's ``Stack`` (a redis-server of its own on a free
port, a PostgreSQL database of its own, created and dropped here, the fake platform with 50 ms
on every request, ``gateway web`` on gunicorn), with no faults. Into the empty database it
loads, with COPY, a publish log of ``--log-entries`` entries (bench/bench_auditor.py's demo log:
every post written, checked, approved and published, re-chained so every leaf links and
verifies, moved back in time so that it ends before now), then ``--posts`` posts with two or
three deliveries each (bench/bench_web.py's mix: ten years published, 90 days ahead scheduled,
awaiting approval or drafts). The people are made through the gateway (``users.create_user``),
each enrolled in two-factor through the gateway's own enrolment (tests/support/two_factor.py),
and signed in through the real form: password, then the authenticator's code.

Then it makes, through the post service (bench/bench_publish.py's makers), approved posts on X,
Facebook and Instagram due so that ``--deliveries-per-second`` fall due each second for
``--minutes``, starts ``gateway scheduler`` and ``gateway worker --processes --workers``, and at
the first due time starts locust (``bench/load_locust.py``) headless on loopback with
``--users`` users (four officers to one auditor) for ``--minutes``. At the end it prints, per
page, requests, failures and p50 / p95 / p99; the publishing lateness (the fake platform's
receipt minus the due time: p50, p95, p99, max, early, missing, doubled), the machine's load
average during the run, and checks the whole log with ``gateway audit verify``. It exits 1 if
any request failed, any delivery was missing, doubled or early, or the log does not verify.

Outside office hours (Europe/London) every post is an emergency post, as in the soak: the
gateway has no clock that can be moved from outside its processes.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
for _p in (str(ROOT), str(BENCH)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import bench_auditor  # noqa: E402
import bench_publish  # noqa: E402
import bench_web  # noqa: E402
import soak  # noqa: E402

from gateway.transparency.demo import DEMO_START  # noqa: E402

PY = sys.executable
PASSWORD = "load-" + uuid.uuid4().hex  # a throw-away database: never shown
#: One auditor to this many officers among the signed-in users (the locustfile's weights).
OFFICERS_PER_AUDITOR = 4
#: Worker processes: what keeps up with 50 deliveries a second on 2 cores (docs/benchmarks.md,
#: "Publishing": 8 too few, 16 no better).
WORKERS = 12
#: Seconds between the end of making the posts and the first due time: workers start cold.
LEAD_SECONDS = 15.0
#: Posts made as a sample, due in 30 days, to time making them on this machine now.
SAMPLE_POSTS = 40
#: Allowance over the sample's speed when setting the first due time.
MAKE_MARGIN = 1.5
#: After the last due time, how long the deliveries may take to drain.
DRAIN_SECONDS = 120.0
#: The publishing aim (docs/benchmarks.md, "Publishing", issue 5): p99 lateness under 1 s.
LATENESS_AIM_P99 = 1.0
#: The log moves back so that its last entry is before now: no demo step is longer than this.
DEMO_MAX_STEP = timedelta(seconds=91)


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


class LoadStack(soak.Stack):
    """The soak's stack, loaded with the log and the posts before its people are made."""

    def __init__(self, config: soak.Config, args: argparse.Namespace) -> None:
        super().__init__(config)
        self.args = args
        self.env.update(
            GATEWAY_COOKIE_SECURE="false",  # plain http on loopback
            GATEWAY_SIGNIN_RATE_LIMIT="10000 per minute",
            GATEWAY_SIGNIN_ACCOUNT_RATE_LIMIT="10000 per minute",
        )
        self.log_size = 0
        self.post_ids = (1, 1)
        self.demo_posts = 0
        self.people: list[dict[str, Any]] = []

    def _people_and_channels(self) -> None:
        import psycopg

        started = time.time()
        demo_posts = max(1, round(self.args.log_entries / bench_auditor.ENTRIES_PER_POST))
        self.demo_posts = demo_posts
        shift = (
            datetime.now(UTC).replace(tzinfo=None)
            - timedelta(hours=1)
            - DEMO_MAX_STEP * self.args.log_entries
            - DEMO_START.replace(tzinfo=None)
        )
        with psycopg.connect(self.db_url) as conn:
            self.log_size = bench_auditor._load(conn, demo_posts, shift)
            # The demo log names posts, deliveries and users by ids of its own: the gateway's
            # new rows take ids after them, so no log entry is read as another row's history.
            with conn.cursor() as cur:
                cur.execute("SELECT setval('posts_id_seq', %s)", (demo_posts,))
                cur.execute("SELECT setval('deliveries_id_seq', %s)", (demo_posts * 2,))
                cur.execute("SELECT setval('users_id_seq', 100)")
            conn.commit()
        log(f"log of {self.log_size:,} entries loaded in {time.time() - started:.0f} s")
        super()._people_and_channels()
        self._people()
        started = time.time()
        author_ids = [p["id"] for p in self.people if p["role"] == "officer"]
        bench_web._load(self.db_url, self.args.posts, author_ids, first_id=self.demo_posts + 1)
        with psycopg.connect(self.db_url) as conn:
            low, high = conn.execute("SELECT min(id), max(id) FROM posts").fetchone()
        self.post_ids = (low, high)
        log(f"{self.args.posts:,} posts loaded in {time.time() - started:.0f} s")

    def _people(self) -> None:
        from gateway import users
        from gateway.audit import Actor
        from gateway.extensions import db
        from tests.support import two_factor

        auditors = max(1, self.args.users // (OFFICERS_PER_AUDITOR + 1))
        with self.app.app_context():
            for i in range(self.args.users):
                role = "auditor" if i < auditors else "officer"
                email = f"{role}{i:03d}@load.example"
                user = users.create_user(email, [role], PASSWORD, actor=Actor.system())
                db.session.commit()
                self.people.append({"id": user.id, "email": email, "role": role})
            db.session.remove()
        for person in self.people:
            person["authenticator"] = two_factor.enrol(self.app, person["id"])

    def sign_in_everyone(self) -> list[dict[str, Any]]:
        """Each person through the real form: password, then their authenticator's code."""
        import requests

        sessions = []
        for person in self.people:
            session = requests.Session()
            base = self.web_url
            page = session.get(f"{base}/sign-in", timeout=30).text
            response = session.post(
                f"{base}/sign-in",
                data={
                    "email": person["email"],
                    "password": PASSWORD,
                    "csrf_token": bench_web._csrf_token(page),
                },
                allow_redirects=False,
                timeout=30,
            )
            if not response.headers.get("Location", "").endswith("/sign-in/two-factor"):
                raise RuntimeError(f"sign-in of {person['email']}: {response.status_code}")
            page = session.get(f"{base}/sign-in/two-factor", timeout=30).text
            response = session.post(
                f"{base}/sign-in/two-factor",
                data={
                    "code": person["authenticator"].next_code(),
                    "csrf_token": bench_web._csrf_token(page),
                },
                allow_redirects=False,
                timeout=30,
            )
            if response.status_code != 302 or "sign-in" in response.headers.get("Location", ""):
                raise RuntimeError(f"second step of {person['email']}: {response.status_code}")
            # The cookie as a browser holds it after its first page.
            first = session.get(f"{base}/", timeout=30, allow_redirects=False)
            if first.status_code != 200:
                raise RuntimeError(f"first page of {person['email']}: {first.status_code}")
            sessions.append(
                {
                    "email": person["email"],
                    "role": person["role"],
                    "cookies": session.cookies.get_dict(),
                }
            )
        return sessions


class LoadSampler(threading.Thread):
    """The machine's 1-minute load average every 10 s: the machine is shared."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(10):
            self.samples.append(os.getloadavg()[0])


def _dues(t0: float, posts: int, rate: float) -> list[float]:
    return [t0 + i * len(soak.PLATFORMS) / rate for i in range(posts)]


def make_posts(stack: LoadStack, texts: list[str], dues: list[float], emergency: bool) -> None:
    soak.make_posts(stack, texts, dues, [emergency] * len(texts))


def run_locust(stack: LoadStack, sessions: list[dict], args: argparse.Namespace) -> Path:
    setup = stack.tmp / "sessions.json"
    setup.write_text(
        json.dumps(
            {
                "sessions": sessions,
                "post_ids": stack.post_ids,
                "logged_post_ids": (1, stack.demo_posts),
                "log_size": stack.log_size,
            }
        )
    )
    prefix = stack.tmp / "locust"
    command = [
        PY,
        "-m",
        "locust",
        "-f",
        str(BENCH / "load_locust.py"),
        "--headless",
        "--host",
        stack.web_url,
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.users),
        "--run-time",
        f"{int(args.minutes * 60)}s",
        "--stop-timeout",
        "10",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    env = {**stack.env, "LOAD_SESSIONS": str(setup), "LOAD_THINK_SECONDS": str(args.think)}
    with open(stack.tmp / "locust.log", "wb") as out:
        # Bounded by --run-time; the timeout only guards against a locust that never stops.
        subprocess.run(
            command,
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=args.minutes * 60 + 120,
            check=False,
        )
    return prefix


def read_locust(prefix: Path) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    with open(f"{prefix}_stats.csv", encoding="utf-8") as f:
        stats = list(csv.DictReader(f))
    failures_path = Path(f"{prefix}_failures.csv")
    failures = []
    if failures_path.exists():
        with open(failures_path, encoding="utf-8") as f:
            failures = list(csv.DictReader(f))
    return stats, failures


def delivery_statuses(stack: LoadStack, tag: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from gateway.extensions import db
    from gateway.models import Delivery, Post

    with stack.app.app_context():
        rows = db.session.execute(
            select(Delivery.status, func.count())
            .join(Post, Post.id == Delivery.post_id)
            .where(Post.text.like(f"Load {tag} %"))
            .group_by(Delivery.status)
        ).all()
        db.session.remove()
    return {str(getattr(status, "value", status)): n for status, n in rows}


def verify_log(stack: LoadStack, timeout: float) -> tuple[bool, float, str]:
    started = time.time()
    try:
        done = subprocess.run(
            stack.gateway_argv("audit", "verify"),
            env=stack.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return False, time.time() - started, f"not finished in {timeout:.0f} s (stopped)"
    output = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode == 0, time.time() - started, "\n".join(output[:4])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100_000, help="posts loaded before the run")
    parser.add_argument("--log-entries", type=int, default=1_000_000, help="log entries loaded")
    parser.add_argument("--users", type=int, default=50, help="signed-in users at once")
    parser.add_argument("--minutes", type=float, default=10, help="how long the users ask")
    parser.add_argument("--deliveries-per-second", type=float, default=50)
    parser.add_argument("--think", type=float, default=1.0, help="seconds between pages")
    parser.add_argument("--workers", type=int, default=WORKERS, help="worker processes")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--verify-timeout",
        type=float,
        default=3600,
        help="seconds the final gateway audit verify may take before it is stopped",
    )
    parser.add_argument("--keep", action="store_true", help="keep the folder with every log")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    config = soak.Config(posts=0, workers=args.workers, pg_url=args.pg_url, keep=args.keep)
    tag = uuid.uuid4().hex[:6]
    n_posts = max(1, round(args.deliveries_per_second * args.minutes * 60 / len(soak.PLATFORMS)))
    texts = [
        f"Load {tag} {i}: the household waste centre opens late on Monday." for i in range(n_posts)
    ]
    started = time.time()
    sampler = LoadSampler()
    with LoadStack(config, args) as stack:
        log(f"stack up and loaded in {time.time() - started:.0f} s")
        emergency = not soak.office_hours_cover(args.minutes * 60 + n_posts * 0.2 + DRAIN_SECONDS)
        sessions = stack.sign_in_everyone()
        log(f"{len(sessions)} people signed in (password and authenticator code)")
        # Time making posts now, on this machine as loaded, to set the first due time.
        sample = [f"Load sample {tag} {i}" for i in range(SAMPLE_POSTS)]
        t = time.time()
        make_posts(stack, sample, [t + 30 * 86400] * SAMPLE_POSTS, emergency)
        per_post = (time.time() - t) / SAMPLE_POSTS
        t0 = time.time() + n_posts * per_post * MAKE_MARGIN + LEAD_SECONDS
        dues = _dues(t0, n_posts, args.deliveries_per_second)
        log(
            f"making {n_posts:,} approved {'emergency ' if emergency else ''}posts "
            f"({n_posts * 3:,} deliveries, {args.deliveries_per_second:g} a second); "
            f"first due in {t0 - time.time():.0f} s"
        )
        t = time.time()
        make_posts(stack, texts, dues, emergency)
        log(f"made in {time.time() - t:.0f} s; first due in {t0 - time.time():.1f} s")
        if time.time() > t0 - 1:
            raise SystemExit("making the posts took longer than the sample said: run again")
        stack.start("scheduler", stack.gateway_argv("scheduler"))
        stack.start("workers", stack.gateway_argv("worker", "--processes", str(args.workers)))
        time.sleep(max(0.0, t0 - time.time()))
        sampler.start()
        log(f"locust: {args.users} users for {args.minutes:g} minutes")
        prefix = run_locust(stack, sessions, args)
        log("locust done; waiting for the deliveries to settle")
        deadline = dues[-1] + DRAIN_SECONDS
        while time.time() < deadline:
            counts = delivery_statuses(stack, tag)
            if sum(n for s, n in counts.items() if s in soak.FINAL) >= n_posts * 3:
                break
            time.sleep(2)
        sampler.stop.set()
        cut_off = time.time()
        counts = delivery_statuses(stack, tag)
        due = {
            f"{p}|{text}": d for text, d in zip(texts, dues, strict=True) for p in soak.PLATFORMS
        }
        receipts = stack.control("posts")
        result = bench_publish._score("gateway", "load", due, receipts)
        # A delivery not on the platform at the cut-off is at least this late: counted so,
        # the percentiles are lower bounds when any is left (a backlog), never flattering.
        received = {f"{p['platform']}|{p['text']}" for p in receipts}
        late = result.all_lateness() + [cut_off - d for k, d in due.items() if k not in received]
        stats, failures = read_locust(prefix)
        # The log is checked as it stands: nothing more is published meanwhile.
        stack.stop("workers")
        stack.stop("scheduler")
        log("checking the whole log (gateway audit verify)")
        verified, verify_seconds, verify_tail = verify_log(stack, args.verify_timeout)
        with psycopg_connect(stack.db_url) as conn:
            entries = conn.execute("SELECT count(*) FROM audit_entries").fetchone()[0]
        folder = str(stack.tmp)
    report = {
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
        "posts_loaded": args.posts,
        "log_entries_loaded": args.log_entries,
        "log_entries_at_end": entries,
        "users": args.users,
        "minutes": args.minutes,
        "deliveries_per_second": args.deliveries_per_second,
        "emergency_posts": emergency,
        "pages": stats,
        "failures": failures,
        "deliveries": n_posts * 3,
        "statuses": counts,
        "lateness": {
            "p50": _pct(late, 50),
            "p95": _pct(late, 95),
            "p99": _pct(late, 99),
            "max": max(late, default=math.nan),
        },
        "early": result.early,
        "missing": result.missing,
        "doubled": result.doubled,
        "throughput": result.throughput,
        "loadavg": sampler.samples,
        "log_verifies": verified,
        "verify_seconds": verify_seconds,
        "verify_output": verify_tail,
        "seconds": time.time() - started,
        "folder": folder if args.keep else "",
    }
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    failed_requests = sum(int(row["Failure Count"]) for row in stats if row["Name"] == "Aggregated")
    bad = failed_requests or result.early or result.missing or result.doubled or not verified
    return 1 if bad else 0


def psycopg_connect(url: str):  # noqa: ANN201
    import psycopg

    return psycopg.connect(url)


def print_report(report: dict[str, Any]) -> None:
    samples = report["loadavg"]
    print()
    print(
        f"{report['users']} users for {report['minutes']:g} min; {report['posts_loaded']:,} posts "
        f"and {report['log_entries_loaded']:,} log entries loaded "
        f"({report['log_entries_at_end']:,} at the end); load average during the run "
        + (
            f"{min(samples):.1f} to {max(samples):.1f} (mean {sum(samples) / len(samples):.1f})"
            if samples
            else "not sampled"
        )
    )
    print()
    print("| Page | Requests | Failures | Requests/s | p50 | p95 | p99 | max |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in report["pages"]:
        name = "all pages" if row["Name"] == "Aggregated" else row["Name"]
        print(
            f"| {name} | {int(row['Request Count']):,} | {row['Failure Count']} | "
            f"{float(row['Requests/s']):.1f} | {row['50%']} ms | **{row['95%']} ms** | "
            f"**{row['99%']} ms** | {float(row['Max Response Time']):.0f} ms |"
        )
    for row in report["failures"][:10]:
        print(f"  failure: {row.get('Name')}: {row.get('Error')} x{row.get('Occurrences')}")
    late = report["lateness"]
    print()
    print(
        f"Publishing: {report['deliveries']:,} deliveries at {report['deliveries_per_second']:g}/s"
        f" ({'emergency' if report['emergency_posts'] else 'ordinary'} posts); lateness p50 "
        f"{late['p50'] * 1000:.0f} ms, p95 {late['p95'] * 1000:.0f} ms, p99 "
        f"{late['p99'] * 1000:.0f} ms, max {late['max'] * 1000:.0f} ms; early "
        f"{report['early']}, not on the platform at the cut-off {report['missing']}, doubled "
        f"{report['doubled']}; "
        f"throughput {report['throughput']:.1f}/s; statuses {report['statuses']}"
    )
    aim = "met" if late["p99"] < LATENESS_AIM_P99 and not report["early"] else "MISSED"
    print(f"Lateness aim (p99 under {LATENESS_AIM_P99:g} s, none early): {aim}")
    print(
        f"Log: gateway audit verify {'passed' if report['log_verifies'] else 'FAILED'} "
        f"in {report['verify_seconds']:.0f} s: {report['verify_output']}"
    )
    print(f"Whole run {report['seconds']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())

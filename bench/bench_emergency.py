"""Benchmark: emergency posts behind a backlog (issue #7, "Speed"). A script, not a test; it
stops by itself (a watchdog ends it after ``--time-limit`` seconds, 9 minutes by default).

Run from the repository root:

    .venv/bin/python bench/bench_emergency.py
    .venv/bin/python bench/bench_emergency.py --workers 8 --concurrency 2

What runs, all on this machine over loopback, each part in its own process (the set-up is
bench/bench_publish.py's ``Bench``, imported, not copied):
- PostgreSQL: a throw-away database ``gw_bench_<pid>`` on 127.0.0.1:5432, dropped at the end;
  Redis db ``--redis-db`` (10), flushed before and after.
- ``gateway fakeplatform`` with every request delayed ``--latency-ms`` (50 ms), so the backlog's
  platform calls are in flight while the emergency posts go out.
- ``gateway web`` (gunicorn), ``gateway scheduler`` and ``--workers`` ``gateway worker``
  processes (emergency queue first: gateway/queue.py QUEUE_ORDER).

The backlog, written straight into the database in the state an approval leaves it (approved
post, scheduled deliveries, an Approval by a second officer whose fingerprint is
``fingerprint(content_of(post))``), with the RQ jobs an approval would queue:
- ``--waiting`` (5,000) posts due on the next working day at 10:00 Europe/London: their jobs sit
  in RQ's scheduled registry of the "publish" queue.
- ``--in-flight`` (500) posts due now, written once the workers listen; the scheduler's release
  loop puts them on the "publish" queue within 50 ms. Ordinary posts need office hours
  when they are published, so outside office hours (or within 15 minutes of closing) these are
  emergency posts too, on the "emergency" queue; the report says which.
Every backlog post goes to X and Facebook on the fake.

Then ``--posts`` (200) emergency posts through the real form over HTTP: one duty officer signed
in through the sign-in form, each post a GET of /emergency (CSRF token) and a timed POST, one
after another on ``--concurrency`` sessions. Each delivery is timed from the start of the POST
to the fake's ``received_at`` for its text and platform (GET /_fake/posts); a post is out when
both of its deliveries are.

Baseline, in the same run against the same fake once the gateway has stopped: the same adapter
call (``gateway.platforms.adapter_for(...).publish``) made directly in this process for the
same number of posts, timed from the call to ``received_at``.

Where the time goes, per emergency post, from the rows the gateway writes (same clock):
form (POST to ``posts.created_at``), guardrails and audit (to the "emergency.published" audit
entry), commit and response (to the 302 arriving), queue wait (302 to the worker's claim,
``attempt_started_at``), worker (claim to the fake's receipt) and platform (receipt to
``published_at``, which includes the 50 ms latency and recording the outcome).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# The tree this script sits in, ahead of the editable install: a clean export of a commit
# (``git archive``) measures that commit, not the work tree the install points at.
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from bench_publish import Bench, _pct, log, office_hours_left  # noqa: E402

#: The two platforms of the issue's benchmark. Bench also makes an Instagram channel; the
#: emergency form is posted with these two ticked only.
PLATFORMS = ("x", "facebook")
#: Large, so the per-officer hourly limit (issue 7, "No back door") does not stop the run.
POSTS_PER_HOUR_FOR_RUN = 1_000_000
#: Backlog rows are written and their jobs queued in batches of this many.
BATCH = 500
#: After the last emergency POST, how long the deliveries may take to arrive before scoring.
DRAIN_SECONDS = 60.0
#: The issue's aim for the whole path, form to platform (issue 7, "Speed").
AIM_SECONDS = 1.0
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
#: The links of the GOV.UK error summary: why a POST was refused.
ERROR = re.compile(r'<a href="#[^"]*">([^<]+)</a>')
WAITING_HOUR_LONDON = 10
BACKLOG_TEXT = "garden waste collections run as normal."


# -- the backlog ---------------------------------------------------------------------------------
def next_working_morning(now: datetime) -> datetime:
    """10:00 Europe/London on the next weekday: inside office hours, long after the run."""
    from gateway.domain.guardrails.clock import LONDON

    day = now.astimezone(LONDON).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, WAITING_HOUR_LONDON, tzinfo=LONDON)


def insert_backlog(
    bench: Bench, tag: str, n_posts: int, due: datetime, *, spread: timedelta, emergency: bool
) -> list[int]:
    """Approved posts with scheduled deliveries, as ``service.approve`` leaves them (without its
    audit entries), by multi-row INSERTs in batches (the ORM's unit of work took two minutes
    for 5,000 posts on the shared machine). Returns the delivery ids."""
    from types import SimpleNamespace

    from sqlalchemy import insert

    from gateway.audit import content_of
    from gateway.domain.fingerprint import fingerprint
    from gateway.domain.statuses import DeliveryStatus, PostStatus
    from gateway.extensions import db
    from gateway.models import Approval, Delivery, Post
    from gateway.models.base import utcnow

    channel_ids = [bench.channels[p] for p in PLATFORMS]
    run = uuid.uuid4().hex[:6]
    category = "severe_weather" if emergency else None
    delivery_ids: list[int] = []
    with bench.app.app_context():
        for start in range(0, n_posts, BATCH):
            made = utcnow()
            rows = [
                {
                    "text": f"Bench {tag} {run} number {i}: {BACKLOG_TEXT}",
                    "author_id": bench.author_id,
                    "status": PostStatus.APPROVED.value,
                    "scheduled_at": (due + spread * i).replace(microsecond=0),
                    "emergency_category": category,
                    "created_at": made,
                    "updated_at": made,
                    "version": 1,
                }
                for i in range(start, min(n_posts, start + BATCH))
            ]
            ids = db.session.scalars(
                insert(Post).returning(Post.id, sort_by_parameter_order=True), rows
            ).all()
            deliveries = [
                {
                    "post_id": post_id,
                    "channel_id": c,
                    "due_at": row["scheduled_at"],
                    "status": DeliveryStatus.SCHEDULED.value,
                    "attempts": 0,
                }
                for post_id, row in zip(ids, rows, strict=True)
                for c in channel_ids
            ]
            delivery_ids += db.session.scalars(
                insert(Delivery).returning(Delivery.id, sort_by_parameter_order=True), deliveries
            ).all()
            if not emergency:
                # What the publish job checks: an approval by someone other than the author,
                # bound to exactly this content (issue 5), hashed by the real content_of.
                approvals = []
                for post_id, row in zip(ids, rows, strict=True):
                    shape = SimpleNamespace(
                        **row,
                        images=[],
                        deliveries=[SimpleNamespace(channel_id=c) for c in channel_ids],
                    )
                    approvals.append(
                        {
                            "post_id": post_id,
                            "approver_id": bench.approver_id,
                            "fingerprint": fingerprint(content_of(shape)),  # type: ignore[arg-type]
                            "decision": "approved",
                            "current": True,
                            "created_at": made,
                        }
                    )
                db.session.execute(insert(Approval), approvals)
            db.session.commit()
        db.session.remove()
    return delivery_ids


def queue_jobs(bench: Bench, delivery_ids: list[int], *, at: datetime, queue: str) -> None:
    """The jobs an approval queues after its commit for deliveries due later
    (gateway.publishing.release.enqueue_delivery_after_commit)."""
    from rq import Queue

    from gateway.publishing.release import RELEASE_AHEAD, ceil_to_second, publish_job_id
    from workers.options import job_options
    from workers.publish import publish_delivery

    q = Queue(queue, connection=bench.redis)
    for start in range(0, len(delivery_ids), BATCH):
        with bench.redis.pipeline() as pipe:
            for delivery_id in delivery_ids[start : start + BATCH]:
                options = {"job_id": publish_job_id(delivery_id), "pipeline": pipe, **job_options()}
                when = ceil_to_second(at - RELEASE_AHEAD)
                q.enqueue_at(when, publish_delivery, delivery_id, **options)
            pipe.execute()


# -- the duty officer at the form ---------------------------------------------------------------
@dataclass
class Sent:
    text: str
    posted: float  # epoch s, just before the POST
    answered: float = math.nan  # the 302 arrived
    status: int = 0
    publish_queue: int = 0  # jobs waiting on the "publish" queue at the POST
    error: str = ""


#: Cookies of the duty officer's one signed-in session, shared by the lanes: a TOTP code is
#: accepted once, so the lanes cannot each sign in within the same 30 seconds.
_SIGNED_IN: dict[str, Any] = {}


def enrol_two_factor(app, email: str) -> str:  # noqa: ANN001
    """Duty officers must use two-factor (issue 16): enrol through the gateway's own
    enrolment, as the tests do, and return the secret their authenticator app would hold."""
    from sqlalchemy import select

    from gateway.auth import two_factor
    from gateway.domain import totp
    from gateway.extensions import db
    from gateway.models import User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        secret = two_factor.begin(user)
        two_factor.confirm_enrolment(
            user, totp.code_for_step(secret, totp.step_at(time.time()) - 1)
        )
        db.session.commit()
        db.session.remove()
    return secret


def sign_in(web_url: str, email: str, password: str, secret: str):  # noqa: ANN201
    """A requests.Session signed in as the duty officer: the password, then the code."""
    import requests

    from gateway.domain import totp

    session = requests.Session()
    if email in _SIGNED_IN:
        session.cookies.update(_SIGNED_IN[email])
        return session
    page = session.get(f"{web_url}/sign-in", timeout=10)
    token = CSRF.search(page.text).group(1)
    answer = session.post(
        f"{web_url}/sign-in",
        data={"email": email, "password": password, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    if answer.status_code != 302:
        raise SystemExit(f"sign-in failed: {answer.status_code}")
    page = session.get(f"{web_url}/sign-in/two-factor", timeout=10)
    token = CSRF.search(page.text).group(1)
    answer = session.post(
        f"{web_url}/sign-in/two-factor",
        data={"code": totp.code_for_step(secret, totp.step_at(time.time())), "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    if answer.status_code != 302:
        raise SystemExit(f"sign-in failed at the two-factor code: {answer.status_code}")
    _SIGNED_IN[email] = session.cookies.get_dict()
    return session


def post_emergencies(
    bench: Bench, texts: list[str], email: str, password: str, secret: str
) -> list[Sent]:
    """Each text through the real form: GET (for the CSRF token, untimed), then a timed POST."""
    channels = [str(bench.channels[p]) for p in PLATFORMS]
    lanes = bench.args.concurrency
    results: list[Sent] = []
    lock = threading.Lock()
    todo = iter(texts)

    def lane() -> None:
        with lock:
            session = sign_in(bench.web_url, email, password, secret)
        while True:
            with lock:
                text = next(todo, None)
            if text is None:
                return
            page = session.get(f"{bench.web_url}/emergency", timeout=30)
            token = CSRF.search(page.text).group(1)
            data = {
                "csrf_token": token,
                "category": "flooding",
                "text": text,
                "channels": channels,
                "alt_text": "",
                "action": "publish",
            }
            sent = Sent(text, time.time(), publish_queue=bench.redis.llen("rq:queue:publish"))
            try:
                answer = session.post(
                    f"{bench.web_url}/emergency", data=data, allow_redirects=False, timeout=30
                )
                sent.answered, sent.status = time.time(), answer.status_code
                if answer.status_code != 302:
                    sent.error = " / ".join(ERROR.findall(answer.text)) or answer.text[:300]
            except Exception as exc:  # noqa: BLE001 - counted as a failure in the report
                sent.error = repr(exc)
            with lock:
                results.append(sent)

    threads = [threading.Thread(target=lane, daemon=True) for _ in range(lanes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def flood_texts(n: int) -> list[str]:
    # Distinct texts: X refuses a duplicate, and receipts are matched on text and platform.
    run = uuid.uuid4().hex[:6]
    return [
        f"Flood warning {run} number {i}: the river is rising at Saltmarsh. "
        "Avoid the quayside road tonight."
        for i in range(n)
    ]


# -- scoring -------------------------------------------------------------------------------------
@dataclass
class Score:
    name: str
    per_delivery: list[float] = field(default_factory=list)
    per_post: list[float] = field(default_factory=list)
    missing: int = 0
    doubled: int = 0

    def line(self) -> str:
        d, p = self.per_delivery, self.per_post
        return (
            f"| {self.name} | {len(p)} posts, {len(d)} deliveries | "
            f"{_pct(p, 50) * 1000:.0f} | {_pct(p, 99) * 1000:.0f} | "
            f"{max(p, default=math.nan) * 1000:.0f} | "
            f"{_pct(d, 50) * 1000:.0f} | {_pct(d, 99) * 1000:.0f} | "
            f"{max(d, default=math.nan) * 1000:.0f} | {self.missing} | {self.doubled} |"
        )


def score(name: str, started: dict[tuple[str, str], float], receipts: list[dict]) -> Score:
    """``started``: (platform, text) -> epoch s when its POST (or adapter call) began. A post's
    figure is its slower delivery: it is out when every channel has it."""
    result = Score(name)
    seen: dict[tuple[str, str], float] = {}
    for post in receipts:
        key = (post["platform"], post["text"])
        if key not in started:
            continue
        if key in seen:
            result.doubled += 1
            continue
        seen[key] = post["received_at"]
    for text in dict.fromkeys(text for _, text in started):
        got = [seen[(p, text)] - started[(p, text)] for p in PLATFORMS if (p, text) in seen]
        result.per_delivery += got
        result.missing += len(PLATFORMS) - len(got)
        if len(got) == len(PLATFORMS):
            result.per_post.append(max(got))
    return result


def wait_receipts(bench: Bench, texts: list[str], deadline: float) -> list[dict]:
    wanted = {(p, t) for t in texts for p in PLATFORMS}
    while True:
        receipts = bench.receipts()
        got = {(r["platform"], r["text"]) for r in receipts} & wanted
        if len(got) >= len(wanted) or time.time() > deadline:
            return receipts
        time.sleep(0.5)


FAILED_JOB = re.compile(r"job publish-delivery-(\d+): exception raised")
ERROR_LINE = re.compile(r"^[\w.]+(Error|Exception|Operation): .*")


def failed_jobs(bench: Bench) -> dict[int, str]:
    """Delivery id -> the error of its publish job that raised, from the workers' logs. The
    sweep re-queues such a delivery under the same job id, so RQ's failed registry forgets it."""
    out: dict[int, str] = {}
    for path in sorted(bench.tmp.glob("proc-*.log")):
        pending: int | None = None
        for line in path.read_text(errors="replace").splitlines():
            if m := FAILED_JOB.search(line):
                pending = int(m.group(1))
            elif pending is not None and (m := ERROR_LINE.match(line)):
                out[pending] = m.group(0)[:160]
                pending = None
    return out


STAGES = (
    "form",
    "guardrails+audit",
    "commit+answer",
    "queue (first job ran)",
    "queue (first job failed, re-queued by the sweep)",
    "worker",
    "platform",
)


def stages(
    bench: Bench, sent: list[Sent], receipts: list[dict], failed: dict[int, str]
) -> dict[str, list[float]]:
    """Seconds spent in each part of the path, per emergency delivery (see the module doc)."""
    from sqlalchemy import cast, select
    from sqlalchemy.types import String

    from gateway.extensions import db
    from gateway.models import AuditEntry, Channel, Delivery, Post

    by_text = {s.text: s for s in sent if s.status == 302}
    received = {(r["platform"], r["text"]): r["received_at"] for r in receipts}
    out: dict[str, list[float]] = {k: [] for k in STAGES}
    with bench.app.app_context():
        published_entry = (
            select(AuditEntry.time)
            .where(
                AuditEntry.action == "emergency.published",
                AuditEntry.object_id == cast(Post.id, String),
            )
            .scalar_subquery()
        )
        rows = db.session.execute(
            select(
                Post.text,
                Post.created_at,
                published_entry,
                Channel.platform,
                Delivery.id,
                Delivery.attempt_started_at,
                Delivery.published_at,
            )
            .join(Delivery, Delivery.post_id == Post.id)
            .join(Channel, Channel.id == Delivery.channel_id)
            .where(Post.text.in_(list(by_text)))
        ).all()
        db.session.remove()
    for text, created, entry, platform, delivery_id, claimed, published in rows:
        s = by_text[text]
        got = received.get((platform, text))
        if None in (created, entry, claimed, published) or got is None:
            continue
        out["form"].append(created.timestamp() - s.posted)
        out["guardrails+audit"].append((entry - created).total_seconds())
        out["commit+answer"].append(s.answered - entry.timestamp())
        key = STAGES[4] if delivery_id in failed else STAGES[3]
        out[key].append(claimed.timestamp() - s.answered)
        out["worker"].append(got - claimed.timestamp())
        out["platform"].append(published.timestamp() - got)
    return out


@contextmanager
def gateway_processes(bench: Bench, workers: int) -> Iterator[None]:
    """``gateway scheduler`` and ``workers`` separate ``gateway worker`` processes (one RQ worker
    each: the form every version of the command has)."""
    procs = [bench.gateway("scheduler")]
    procs += [bench.gateway("worker", *bench.args.worker_args) for _ in range(workers)]
    try:
        yield
    finally:
        bench.stop(procs)


def release_tick_seconds(bench: Bench, times: int = 5) -> tuple[float, int]:
    """How long one pass of the scheduler's release loop takes now (median of ``times``), and
    how many due, claimable deliveries it reads. The same function the scheduler runs every
    RELEASE_TICK_SECONDS; here a job it finds already queued is left alone, as there."""
    from sqlalchemy import func, select

    from gateway.domain.statuses import DeliveryStatus
    from gateway.extensions import db
    from gateway.models import Delivery
    from gateway.models.base import utcnow
    from gateway.publishing.release import Releaser

    took = []
    with bench.app.app_context():
        due = db.session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(
                Delivery.status.in_((DeliveryStatus.SCHEDULED.value, DeliveryStatus.RETRY.value)),
                func.coalesce(Delivery.next_attempt_at, Delivery.due_at) <= utcnow(),
            )
        )
        releaser = Releaser(bench.app)  # as the scheduler runs it: tick after tick
        for _ in range(times):
            t = time.perf_counter()
            releaser.tick()
            took.append(time.perf_counter() - t)
            db.session.remove()
    return sorted(took)[len(took) // 2], due


def emergency_deliveries(bench: Bench, sent: list[Sent]) -> set[int]:
    from sqlalchemy import select

    from gateway.extensions import db
    from gateway.models import Delivery, Post

    with bench.app.app_context():
        ids = db.session.scalars(
            select(Delivery.id)
            .join(Post, Post.id == Delivery.post_id)
            .where(Post.text.in_([s.text for s in sent]))
        ).all()
        db.session.remove()
    return set(ids)


def wait_for_workers(bench: Bench, n: int, timeout: float = 120.0) -> float:
    """Seconds until ``n`` workers have registered: starting one imports the whole app, which
    takes several seconds on a busy machine; the backlog is queued only once all listen."""
    from rq import Worker

    started = time.monotonic()
    while Worker.count(connection=bench.redis) < n:
        if time.monotonic() - started > timeout:
            raise SystemExit(f"only {Worker.count(connection=bench.redis)} of {n} workers started")
        time.sleep(0.2)
    return time.monotonic() - started


# -- the baseline --------------------------------------------------------------------------------
def baseline(bench: Bench, texts: list[str]) -> dict[tuple[str, str], float]:
    """The adapter call alone, in this process, one after another: (platform, text) -> the
    start of that call. Each call is timed from its own start, as if both ran at once."""
    from bench_publish import ACCOUNTS, CREDS

    from gateway.platforms import ChannelConfig, DeliveryRequest, adapter_for

    started: dict[tuple[str, str], float] = {}
    for i, text in enumerate(texts):
        for platform in PLATFORMS:
            started[(platform, text)] = time.time()
            channel = ChannelConfig(platform, ACCOUNTS[platform], CREDS[platform], bench.fake_url)  # type: ignore[arg-type]
            with adapter_for(channel, allowed_hosts=("127.0.0.1",)) as publisher:
                publisher.publish(DeliveryRequest(i, "bench", text, ()))
    return started


# -- main ----------------------------------------------------------------------------------------
def _stop_after(seconds: int) -> None:
    def _alarm(signum: int, frame: Any) -> None:
        # SystemExit unwinds through Bench.__exit__: processes stopped, database dropped.
        raise SystemExit(f"bench_emergency: stopped by the {seconds} s watchdog")

    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=200, help="emergency posts via the form")
    parser.add_argument("--waiting", type=int, default=5000, help="backlog posts due later")
    parser.add_argument("--in-flight", type=int, default=500, help="backlog posts due now")
    parser.add_argument("--workers", type=int, default=4, help="`gateway worker` processes")
    parser.add_argument("--worker-args", default="", help="extra `gateway worker` options")
    parser.add_argument("--warm-up", type=int, default=3, help="untimed posts first")
    parser.add_argument("--concurrency", type=int, default=1, help="officers posting at once")
    parser.add_argument("--latency-ms", type=int, default=50, help="fake platform latency")
    parser.add_argument("--redis-db", type=int, default=10)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--time-limit", type=int, default=540, help="watchdog, seconds")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()
    args.worker_args = args.worker_args.split()
    # Read by bench_publish's Bench, which this script borrows; unused here (no posts are made
    # through the service), so its own default.
    args.make_seconds = 0.1
    _stop_after(args.time_limit)
    os.environ["GATEWAY_EMERGENCY_POSTS_PER_HOUR"] = str(POSTS_PER_HOUR_FOR_RUN)
    # Plain HTTP on loopback: a Secure session cookie would never be sent back by the client.
    os.environ["GATEWAY_COOKIE_SECURE"] = "0"
    # Ordinary posts may only be published in office hours; keep a margin for the run.
    ordinary = office_hours_left() >= 15 * 60
    mode = "ordinary" if ordinary else "emergency (outside office hours)"

    from gateway import users
    from gateway.audit import Actor
    from gateway.extensions import db
    from gateway.queue import PUBLISH_QUEUE

    with Bench(args) as bench:
        email, password = "duty@bench.example", "bench-" + uuid.uuid4().hex
        with bench.app.app_context():
            users.create_user(email, ["duty_officer"], password, actor=Actor.system())
            db.session.commit()
            db.session.remove()
        secret = enrol_two_factor(bench.app, email)
        texts = flood_texts(args.posts)
        warm_texts = [f"Warm-up {t}" for t in flood_texts(args.warm_up)]
        base_texts = [f"Baseline {t}" for t in flood_texts(args.posts)]

        t = time.time()
        later = next_working_morning(datetime.now(UTC))
        waiting = insert_backlog(
            bench, "waiting", args.waiting, later, spread=timedelta(seconds=1), emergency=False
        )
        queue_jobs(bench, waiting, at=later, queue=PUBLISH_QUEUE)
        log(f"{args.waiting} waiting posts ({len(waiting)} deliveries) in {time.time() - t:.1f} s")

        with gateway_processes(bench, args.workers):
            ready = wait_for_workers(bench, args.workers)
            log(f"{args.workers} workers listening after {ready:.1f} s")
            t = time.time()
            now = datetime.now(UTC)
            in_flight = insert_backlog(
                bench, "now", args.in_flight, now, spread=timedelta(0), emergency=not ordinary
            )
            # No enqueue here: the scheduler's release loop (every 50 ms) queues due deliveries
            # that have no job, and queueing them here as well would race it and put each job
            # id on the queue twice.
            log(
                f"{args.in_flight} {mode} posts due now ({len(in_flight)} deliveries) written in "
                f"{time.time() - t:.1f} s; {args.workers} workers"
            )
            time.sleep(1.0)  # the workers are busy with the backlog before the first POST
            # The first posts after a start pay for imports and caches in the web process and
            # in each worker (guardrail word lists, platform libraries): reported apart.
            warm = post_emergencies(bench, warm_texts, email, password, secret)
            warm_receipts = wait_receipts(bench, warm_texts, time.time() + DRAIN_SECONDS)
            t = time.time()
            sent = post_emergencies(bench, texts, email, password, secret)
            log(f"{len(sent)} emergency POSTs in {time.time() - t:.1f} s")
            tick, due_now = release_tick_seconds(bench)
            receipts = wait_receipts(bench, texts, time.time() + DRAIN_SECONDS)
            backlog_left = bench.redis.llen("rq:queue:publish")
        posted = {(p, s.text): s.posted for s in sent if s.status == 302 for p in PLATFORMS}
        gateway = score(f"gateway, {args.workers} workers", posted, receipts)
        cold = score(
            "warm-up",
            {(p, s.text): s.posted for s in warm if s.status == 302 for p in PLATFORMS},
            warm_receipts,
        )
        failed_all = failed_jobs(bench)
        ours = emergency_deliveries(bench, sent)
        failed = {d: e for d, e in failed_all.items() if d in ours}
        failed_backlog = {d: e for d, e in failed_all.items() if d not in failed}
        parts = stages(bench, sent, receipts, failed)
        in_flight_texts = {r["text"] for r in receipts if r["text"].startswith("Bench now")}

        log("baseline: the adapter call in this process")
        base = score("baseline: adapter call", baseline(bench, base_texts), bench.receipts())

    failures = [s for s in warm + sent if s.status != 302]
    queued_at_post = [s.publish_queue for s in sent]
    print()
    print(
        f"{args.posts} emergency posts through the form ({args.concurrency} at a time) to X and "
        f"Facebook, {args.workers} `gateway worker` processes, fake latency {args.latency_ms} ms; "
        f"backlog {args.waiting} waiting + {args.in_flight} due now ({mode})."
    )
    print()
    print(
        "| Path | Measured | post p50 ms | post p99 ms | post max ms | delivery p50 ms "
        "| delivery p99 ms | delivery max ms | missing | doubled |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(gateway.line())
    print(base.line())
    for q in (50, 99):
        per_delivery = _pct(gateway.per_delivery, q) / _pct(base.per_delivery, q)
        per_post = _pct(gateway.per_post, q) / _pct(base.per_post, q)
        print(
            f"Ratio gateway/baseline at p{q}: {per_delivery:.1f}x a delivery, "
            f"{per_post:.1f}x a post"
        )
    aim = _pct(gateway.per_post, 99) < AIM_SECONDS
    print(f"Aim p99 < {AIM_SECONDS:.0f} s: {'met' if aim else 'MISSED'}")
    print(
        f"Jobs on the publish queue at each POST: min {min(queued_at_post, default=0)}, "
        f"median {_pct([float(x) for x in queued_at_post], 50):.0f}, "
        f"max {max(queued_at_post, default=0)}; left when the last emergency post was out: "
        f"{backlog_left}; in-flight backlog posts received: {len(in_flight_texts)}"
    )
    kinds = [re.sub(r"\d+", "N", e) for e in [*failed.values(), *failed_backlog.values()]]
    errors = {kind: kinds.count(kind) for kind in sorted(set(kinds))}
    print(
        f"Publish jobs that raised (the sweep re-queued them): {len(failed)} of the "
        f"{2 * len(sent)} timed emergency deliveries, {len(failed_backlog)} others (warm-up, "
        f"backlog); "
        f"errors: {errors}"
    )
    print(
        f"Warm-up (first posts after start, not in the figures above), POST to the last "
        f"receipt: {', '.join(f'{v * 1000:.0f} ms' for v in cold.per_post) or 'none'}"
    )
    print(
        f"One pass of the release loop after the last POST: {tick * 1000:.0f} ms (median of 5), "
        f"reading {due_now} due deliveries"
    )
    if failures:
        print(f"{len(failures)} POSTs failed, first: {failures[0].status} {failures[0].error!r}")
    print()
    print("| Stage (per emergency delivery) | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|")
    for name, values in parts.items():
        print(
            f"| {name} | {_pct(values, 50) * 1000:.0f} | {_pct(values, 99) * 1000:.0f} | "
            f"{max(values, default=math.nan) * 1000:.0f} |"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "gateway": gateway.__dict__,
                    "baseline": base.__dict__,
                    "stages": parts,
                    "publish_queue_at_post": queued_at_post,
                    "warm_up": cold.__dict__,
                    "release_tick_seconds": tick,
                    "due_at_tick": due_now,
                    "failed_emergency_jobs": failed,
                    "failed_publish_jobs": failed_backlog,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()

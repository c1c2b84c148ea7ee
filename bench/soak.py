"""Fault-injection soak (issue 19): the whole gateway under faults, then a reconciliation.

Run from the repository root:

    .venv/bin/python bench/soak.py --posts 2000 --faults all --seed 1
    .venv/bin/python bench/soak.py --posts 300 --faults worker-kill=6,redis-flush=1 --seed 7

It starts, each in its own process and all on this machine: a redis-server of its own on a free
port; a PostgreSQL database of its own (``gw_soak_<pid>`` on 127.0.0.1:5432, created and dropped
here); the fake platform (bench/soak_fake.py: the fake whose record survives SIGKILL); ``gateway
web``; ``gateway scheduler``; and ``gateway worker --processes --workers``. It restarts any of
them that dies, a second after, as systemd's ``Restart=always`` would. It makes ``--posts``
approved posts on X, Facebook and Instagram (one image each), due evenly over ``--window``
seconds, injects the ``--faults`` while they fall due, waits until every delivery is final (at
most ``--drain`` seconds after the last due time), exports the publish log with ``gateway audit
export``, checks it with ``gateway-verify``, and reconciles the gateway's rows, the fake
platform's record and the export. It prints one table and exits 1 if anything that must be 0
is not (2 when it could not run). docs/reliability.md has the figures and what each row means.

Ordinary posts are refused outside office hours (Europe/London), so outside office hours every
post is an emergency post.

``--dst march`` or ``--dst october`` runs the stack with the gateway's clock moved
(``GATEWAY_CLOCK_OFFSET_SECONDS``, gateway/clock.py; the fake platform's moved alike) so that
the posts fall due across the next change of the clocks in Europe/London, at 01:00 UTC on the
last Sunday of that month, and checks the gateway's rule for local times there: a wall-clock
time the officers' form takes (``local_to_utc``) maps to one UTC instant, one the clocks skip or
repeat is refused, and the API's times with an offset are kept as given.

``--hosts FILE`` (written by bench/scaleout.py, which makes the hosts as network namespaces)
starts each part on its own host: two web servers behind HAProxy, workers and a scheduler on
each worker host, Redis with its replica and three sentinels, the fake platform.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
for _p in (str(ROOT), str(BENCH)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

PY = sys.executable
PLATFORMS = ("x", "facebook", "instagram")
X_ID, PAGE_ID, IG_ID = "9100", "9200", "9300"
CREDS = {
    "x": {
        "consumer_key": "soak-ck",
        "consumer_secret": "soak-cs",
        "access_token": f"{X_ID}-soak-at",
        "access_token_secret": "soak-ats",
    },
    "facebook": {"access_token": "soak-page-token"},
    "instagram": {"access_token": "soak-ig-token"},
}
ACCOUNTS = {"x": X_ID, "facebook": PAGE_ID, "instagram": IG_ID}
#: The path fragment of the request that makes the post on each platform (fault targets).
CREATE_PATHS = {"x": "/2/tweets", "facebook": "/photos", "instagram": "/media_publish"}
ALT_TEXT = "A gritting lorry outside the council depot"
FINAL = ("published", "failed", "held", "blocked", "cancelled", "skipped")
#: systemd's RestartSec: how long a dead process stays dead before it is started again.
RESTART_SECONDS = 1.0
#: How long the platform takes before the client gives up, in the soak (the default is 15 s:
#: shorter, so a "timeout" fault costs seconds, not a quarter of a minute).
PLATFORM_TIMEOUT_SECONDS = 3
#: A "timeout" fault: the platform answers after this long, past the client's timeout, and
#: makes the post all the same (as a slow platform does).
TIMEOUT_LATENCY_MS = 5000
#: Every platform request takes this long, so kills at random moments land inside some calls.
LATENCY_MS = 50
#: Seconds the stack has to start before the first post falls due.
LEAD_SECONDS = 10.0
#: Deliveries falling due a second when --window is not given: what the soak's workers keep up
#: with on this shared 2-core machine with every fault on (the point is faults, not speed).
DELIVERIES_PER_SECOND = 8
#: Seconds to make one post (4 processes make them), before the first due time is set.
MAKE_SECONDS = 0.06
#: Window after a service fault (Redis, PostgreSQL, scheduler, fake platform) whose deliveries
#: show how long publishing took to catch up.
EFFECT_WINDOW_SECONDS = 10.0
#: With --dst: seconds allowed for starting the stack before the posts are made, so that the
#: clock can be moved before any process starts and the change still falls in mid-window.
DST_SETUP_SECONDS = 60.0
LONDON = ZoneInfo("Europe/London")
#: The months the clocks change in the UK (the last Sunday, at 01:00 UTC).
DST_MONTHS = {"march": 3, "october": 10}

#: Fault kinds and their rates (events a minute while posts fall due) under ``--faults all``.
FAULTS: dict[str, float] = {
    "worker-kill": 4,  # SIGKILL one worker process at a random moment
    "kill-before": 1,  # SIGKILL the worker on the call before the one that makes the post
    "kill-during": 1,  # ... on the call that makes the post, before the platform acts
    "kill-after": 1,  # ... after the platform made the post, before the worker reads it
    "supervisor-kill": 0.5,  # SIGKILL the worker pool's parent (its workers carry on)
    "scheduler-kill": 1,  # SIGKILL the scheduler (restarted a second later)
    "second-scheduler": 1,  # a second scheduler for 20 s
    "second-pool": 0.5,  # a second worker pool on the same queues for 30 s
    "redis-shutdown": 0.5,  # SHUTDOWN NOSAVE, restarted a second later, empty
    "redis-flush": 0.5,  # FLUSHALL
    "pg-terminate": 1,  # pg_terminate_backend on every connection to the soak's database
    "platform-500": 3,  # the next create call answers 500
    "platform-500-after": 1,  # ... on Facebook or Instagram, makes the post, then answers 500
    "platform-429": 2,  # ... 429 with a reset in 10 s
    "platform-timeout": 2,  # ... answers after 5 s, past the client's 3 s timeout
    "platform-lost-answer": 2,  # ... makes the post and closes the connection unanswered
    "platform-restart": 0.5,  # SIGKILL the fake platform, restarted a second later
}
#: Not faults but checks of the soak itself, never in ``all``: a fault the gateway cannot
#: prevent, which the reconciliation must catch (tests/reliability/test_soak.py).
SELF_CHECKS: dict[str, float] = {
    # Someone else puts the last post's text on the Facebook page before it is due: that post
    # is early, and doubled once the gateway publishes its own.
    "planted-early": 1,
}
#: Faults that are not in ``all`` on one host, but are in the scale-out's (bench/scaleout.py).
EXTRA_FAULTS: dict[str, float] = {
    "web-kill": 1,  # SIGKILL one web server (with gunicorn's workers); the proxy goes round it
    "redis-host-loss": 0.5,  # the Redis master's host off the network: Sentinel fails over
}
#: How long a lost Redis host stays off the network.
REDIS_HOST_LOSS_SECONDS = 15
#: Sentinel calls a master down after this long without an answer.
SENTINEL_DOWN_AFTER_MS = 2000
#: The subset the test suite runs (tests/reliability/test_soak.py).
QUICK_FAULTS = (
    "worker-kill,kill-during,kill-after,scheduler-kill,redis-shutdown,pg-terminate,"
    "platform-500,platform-500-after,platform-429,platform-lost-answer,platform-restart"
)
#: A fault that cannot be injected at once (the fake platform or Redis is being restarted by
#: another fault) is tried again for this long.
INJECT_RETRY_SECONDS = 15
SECOND_SCHEDULER_SECONDS = 20
SECOND_POOL_SECONDS = 30
RATE_LIMIT_RESET_SECONDS = 10


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def parse_faults(spec: str) -> dict[str, float]:
    """``all``, ``none``, or ``kind[=rate],...`` (rate: events a minute; default FAULTS')."""
    spec = spec.strip()
    if spec in ("", "none"):
        return {}
    if spec == "all":
        return dict(FAULTS)
    chosen: dict[str, float] = {}
    for part in spec.split(","):
        kind, _, rate = part.strip().partition("=")
        known = FAULTS | SELF_CHECKS | EXTRA_FAULTS
        if kind not in known:
            raise ValueError(f"unknown fault {kind!r}; choose from {', '.join(FAULTS)}")
        chosen[kind] = float(rate) if rate else known[kind]
    return chosen


@dataclass
class Config:
    posts: int = 300
    faults: dict[str, float] = field(default_factory=dict)
    seed: int = 1
    window: float = 60.0
    drain: float = 300.0
    workers: int = 6
    pg_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    keep: bool = False
    emergency: bool = False  # every post an emergency post, whatever the hour
    dst: str | None = None  # "march" or "october": the posts fall due across that change
    #: Several hosts (bench/scaleout.py): which network namespace and address runs each part.
    #: None: everything on this host, on 127.0.0.1.
    hosts: dict[str, Any] | None = None
    clock_offset: float = 0.0  # seconds the gateway's clock is moved (set with --dst)


@dataclass
class FaultEvent:
    at: float  # seconds after the first due time
    kind: str
    done_at: float = 0.0  # epoch, when it was injected
    note: str = ""


def plan_faults(config: Config) -> list[FaultEvent]:
    """Each kind's events at uniform random moments of the window (the seed decides)."""
    rng = random.Random(config.seed)
    events = []
    for kind, rate in sorted(config.faults.items()):
        count = round(rate * config.window / 60)
        if rate > 0:
            count = max(count, 1)
        events += [FaultEvent(rng.uniform(0, config.window), kind) for _ in range(count)]
    return sorted(events, key=lambda e: e.at)


# -- processes ----------------------------------------------------------------------------------
@dataclass
class Service:
    name: str
    argv: list[str]
    proc: subprocess.Popen | None = None
    keep_up: bool = True  # restart it when it dies
    starts: int = 0


class Stack:
    """Redis, PostgreSQL database, fake platform, web, scheduler and workers; torn down."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.tmp = Path(tempfile.mkdtemp(prefix="gw-soak-"))
        self.dbname = f"gw_soak_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        hosts = config.hosts
        self.hosts = hosts
        if hosts is None:
            self.redis_ns, self.redis_host = None, "127.0.0.1"
            self.fake_ns, self.fake_host = None, "127.0.0.1"
            self.redis_port, self.fake_port = _free_port(), _free_port()
            self.web_port = _free_port()
            self.web_url = f"http://127.0.0.1:{self.web_port}"
        else:
            # Each part on its own host, at the address and port bench/scaleout.py gave it.
            self.redis_ns, self.redis_host = hosts["redis"]
            self.fake_ns, self.fake_host = hosts["fake"]
            self.redis_port, self.fake_port = hosts["redis_port"], hosts["fake_port"]
            self.web_port = hosts["web_port"]
            self.web_url = f"http://{hosts['proxy'][1]}:{hosts['proxy_port']}"
        self.fake_url = f"http://{self.fake_host}:{self.fake_port}"
        self.redis_url = f"redis://{self.redis_host}:{self.redis_port}/0"
        self.sentinels: list[tuple[str, str]] = []
        if hosts is not None and hosts.get("sentinels"):
            # Redis Sentinel: a master, a replica and three sentinels on three hosts; the
            # gateway asks the sentinels for the master (gateway.queue.connect).
            self.sentinels = [tuple(s) for s in hosts["sentinels"]]
            found = ",".join(f"{a}:{hosts['sentinel_port']}" for _ns, a in self.sentinels)
            self.redis_url = f"redis+sentinel://{found}/{hosts['redis_service']}"
        base = config.pg_url.rsplit("/", 1)[0]
        self.db_url = f"{base}/{self.dbname}"
        self.env = {
            **os.environ,
            "GATEWAY_INSTANCE_PATH": str(self.tmp / "instance"),
            "DATABASE_URL": self.db_url,
            "REDIS_URL": self.redis_url,
            "GATEWAY_PUBLIC_URL": self.web_url,
            "GATEWAY_PLATFORM_ALLOWED_HOSTS": self.fake_host,
            "GATEWAY_PLATFORM_TIMEOUT_SECONDS": str(PLATFORM_TIMEOUT_SECONDS),
            "GATEWAY_EMERGENCY_POSTS_PER_HOUR": "1000000",
            "GATEWAY_LOG_SIGNING_KEY": str(self.tmp / "log-signing-key"),
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(BENCH)]),
        }
        if config.clock_offset:
            self.env["GATEWAY_CLOCK_OFFSET_SECONDS"] = repr(config.clock_offset)
        if hosts is not None:
            # The proxy sets X-Forwarded-For; Instagram fetches the images through it.
            self.env["GATEWAY_TRUSTED_PROXIES"] = "1"
            self.env["GATEWAY_PLATFORM_ALLOWED_HOSTS"] += "," + hosts["proxy"][1]
        self.services: dict[str, Service] = {}
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.app: Any = None
        self.channels: dict[str, int] = {}
        self.author_id = self.approver_id = 0
        self.restarts: list[tuple[float, str]] = []
        self._watch = threading.Thread(target=self._watchdog, daemon=True, name="watchdog")

    # processes
    def start(
        self, name: str, argv: list[str], keep_up: bool = True, netns: str | None = None
    ) -> Service:
        """Start ``argv`` as the part ``name``, on the host (network namespace) ``netns``."""
        if netns is not None:
            # ip netns exec joins the namespace and then execs the command: same pid, so
            # signals and psutil reach the part itself.
            argv = ["ip", "netns", "exec", netns, *argv]
        with self.lock:
            service = Service(name, argv, keep_up=keep_up)
            self.services[name] = service
            self._spawn(service)
            return service

    def _spawn(self, service: Service) -> None:
        out = open(self.tmp / f"{service.name}.log", "ab")  # noqa: SIM115
        service.proc = subprocess.Popen(
            service.argv,
            env=self.env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        service.starts += 1

    def gateway_argv(self, *argv: str) -> list[str]:
        return [PY, "-m", "gateway.cli", *argv]

    def _watchdog(self) -> None:
        while not self.stopping.wait(0.2):
            with self.lock:
                for service in self.services.values():
                    proc = service.proc
                    if proc is None or proc.poll() is None or not service.keep_up:
                        continue
                    if getattr(proc, "died_at", None) is None:
                        proc.died_at = time.time()  # type: ignore[attr-defined]
                    if time.time() - proc.died_at >= RESTART_SECONDS:  # type: ignore[attr-defined]
                        self.restarts.append((time.time(), service.name))
                        self._spawn(service)

    def stop(self, name: str, sig: int = signal.SIGTERM, wait: float = 15) -> None:
        with self.lock:
            service = self.services.pop(name, None)
        if service is None or service.proc is None:
            return
        proc = service.proc
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def pid(self, name: str) -> int | None:
        with self.lock:
            service = self.services.get(name)
            return service.proc.pid if service and service.proc else None

    def _wait_http(self, url: str, seconds: float = 60) -> None:
        import requests

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                requests.get(url, timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"{url} did not answer")

    def redis(self) -> Any:
        from redis import Redis

        host, port = self.redis_master()
        return Redis(host=host, port=port, socket_timeout=5)

    def redis_master(self) -> tuple[str, int]:
        """Where Redis's master is now: the one server, or the one the sentinels name."""
        from redis import Redis

        for _ns, address in self.sentinels:
            with contextlib.suppress(Exception):
                ask = Redis(host=address, port=self.hosts["sentinel_port"], socket_timeout=2)
                found = ask.sentinel_get_master_addr_by_name(self.hosts["redis_service"])
                if found:
                    host = found[0].decode() if isinstance(found[0], bytes) else found[0]
                    return host, int(found[1])
        return self.redis_host, self.redis_port

    def _start_sentinels(self) -> None:
        from redis import Redis

        replica_ns, replica_address = self.hosts["redis_replica"]
        service, port = self.hosts["redis_service"], self.hosts["sentinel_port"]
        self.start(
            "redis-replica",
            [
                shutil.which("redis-server") or "redis-server",
                *("--port", str(self.redis_port), "--bind", replica_address),
                *("--replicaof", self.redis_host, str(self.redis_port)),
                *("--save", "", "--appendonly", "no", "--protected-mode", "no"),
                *("--dir", str(self.tmp)),
            ],
            netns=replica_ns,
        )
        for i, (netns, address) in enumerate(self.sentinels):
            conf = self.tmp / f"sentinel-{i}.conf"  # Sentinel rewrites its own file
            conf.write_text(
                f"port {port}\nbind {address}\nprotected-mode no\n"
                f"sentinel monitor {service} {self.redis_host} {self.redis_port} 2\n"
                f"sentinel down-after-milliseconds {service} {SENTINEL_DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {service} 10000\n"
            )
            self.start(f"sentinel-{i}", ["redis-server", str(conf), "--sentinel"], netns=netns)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                ask = Redis(host=self.sentinels[0][1], port=port, socket_timeout=2)
                info = ask.sentinel_master(service)
                if info["num-slaves"] >= 1 and info["num-other-sentinels"] >= 2:
                    return
            time.sleep(0.5)
        raise RuntimeError("Redis Sentinel did not see its replica and the other sentinels")

    def __enter__(self) -> Stack:
        import psycopg

        self.start(
            "redis",
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                self.redis_host,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
                # On several hosts it is reached from other addresses, which Redis refuses
                # without a password unless told: a private network of namespaces here (in
                # production, requirepass or ACLs and TLS: README, "Several hosts").
                *([] if self.hosts is None else ["--protected-mode", "no"]),
            ],
            netns=self.redis_ns,
        )
        if self.sentinels:
            self._start_sentinels()
        with psycopg.connect(self.config.pg_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.dbname}"')
        self._watch.start()
        try:
            subprocess.run(
                self.gateway_argv("audit", "keygen", "--out", self.env["GATEWAY_LOG_SIGNING_KEY"]),
                env=self.env,
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            os.environ.update({k: v for k, v in self.env.items() if k != "PYTHONPATH"})
            from flask_migrate import upgrade

            from gateway.app import create_app

            self.app = create_app()
            with self.app.app_context():
                upgrade(directory=str(ROOT / "migrations"))
            accounts = [
                {
                    "platform": p,
                    "account_id": ACCOUNTS[p],
                    "credentials": CREDS[p],
                    "name": "Council",
                }
                | ({"quota_total": 1_000_000} if p == "instagram" else {})
                for p in PLATFORMS
            ]
            (self.tmp / "accounts.json").write_text(json.dumps(accounts))
            self.start(
                "fake",
                [
                    PY,
                    str(BENCH / "soak_fake.py"),
                    "--host",
                    self.fake_host,
                    "--port",
                    str(self.fake_port),
                    "--journal",
                    str(self.tmp / "fake-journal.jsonl"),
                    "--accounts",
                    str(self.tmp / "accounts.json"),
                    "--clock-offset",
                    repr(self.config.clock_offset),
                ],
                netns=self.fake_ns,
            )
            self._start_web()
            self._wait_http(self.fake_url + "/_fake/accounts")
            self._wait_http(self.web_url + "/healthz")
            if LATENCY_MS:
                self.control("inject_fault", "latency", latency_ms=LATENCY_MS, times=None)
            self._people_and_channels()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start_web(self) -> None:
        if self.hosts is None:
            self.start("web", self.gateway_argv("web", "--port", str(self.web_port)))
            return
        # Two web servers on two hosts behind HAProxy on a third (bench/scaleout.py).
        servers = []
        for i, (netns, address) in enumerate(self.hosts["web"]):
            name = "web" if i == 0 else f"web-{i}"
            argv = self.gateway_argv("web", "--host", address, "--port", str(self.web_port))
            self.start(name, argv, netns=netns)
            servers.append(f"    server {name} {address}:{self.web_port} check inter 1s fall 2")
        proxy_ns, proxy_address = self.hosts["proxy"]
        config = self.tmp / "haproxy.cfg"
        config.write_text(
            "\n".join(
                [
                    "global",
                    "    maxconn 512",
                    "defaults",
                    "    mode http",
                    "    timeout connect 2s",
                    "    timeout client 30s",
                    "    timeout server 30s",
                    "    retries 2",
                    "    option redispatch",
                    "frontend gateway",
                    f"    bind {proxy_address}:{self.hosts['proxy_port']}",
                    "    option forwardfor",
                    "    default_backend web",
                    "backend web",
                    "    balance roundrobin",
                    "    option httpchk GET /healthz",
                    *servers,
                    "",
                ]
            )
        )
        self.start("proxy", ["haproxy", "-db", "-f", str(config)], netns=proxy_ns)

    def worker_hosts(self) -> list[str | None]:
        return [None] if self.hosts is None else list(self.hosts["workers"])

    def __exit__(self, *exc: object) -> None:
        import psycopg

        self.stopping.set()
        with self.lock:
            names = list(reversed(self.services))  # workers first, Redis and the fake last
        for name in names:
            self.stop(name, wait=10)
        # Workers orphaned by a killed pool parent, named by their command line.
        for pid in _orphan_workers(self.env["DATABASE_URL"]):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.app is not None:
            from gateway.extensions import db

            with self.app.app_context():
                db.engine.dispose()
        with psycopg.connect(self.config.pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
        if self.config.keep:
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def control(self, call: str, *args: Any, **kwargs: Any) -> Any:
        from fakeplatform.client import FakePlatformControl

        with FakePlatformControl(self.fake_url) as control:
            return getattr(control, call)(*args, **kwargs)

    def control_kills(self) -> list[dict]:
        """What the fake platform's kill orders did (bench/soak_fake.py), restarts and all."""
        path = self.tmp / "fake-journal-kills.jsonl"
        if not path.exists():
            return []
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def _people_and_channels(self) -> None:
        from gateway import users
        from gateway.audit import Actor
        from gateway.credentials import encrypt_credentials
        from gateway.extensions import db
        from gateway.models import Channel

        password = "soak-" + uuid.uuid4().hex  # a throw-away database: never shown
        roles = ["officer", "duty_officer"]
        with self.app.app_context():
            self.author_id = users.create_user(
                "author@soak.example", roles, password, actor=Actor.system()
            ).id
            self.approver_id = users.create_user(
                "approver@soak.example", roles, password, actor=Actor.system()
            ).id
            for platform in PLATFORMS:
                channel = Channel(
                    platform=platform,
                    display_name=f"Soak {platform}",
                    external_account_id=ACCOUNTS[platform],
                    base_url=self.fake_url,
                )
                db.session.add(channel)
                db.session.flush()
                channel.credentials_encrypted = encrypt_credentials(channel.id, CREDS[platform])
                self.channels[platform] = channel.id
            db.session.commit()
            db.session.remove()


def _orphan_workers(database_url: str) -> list[int]:
    """Worker and scheduler processes still running with this soak's database in their
    environment (a pool's orphans; anything the watchdog lost track of)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if "gateway.cli" not in cmdline or not {"worker", "scheduler"} & set(cmdline):
            continue
        with contextlib.suppress(psutil.Error):
            if proc.environ().get("DATABASE_URL") == database_url:
                found.append(proc.pid)
    return found


# -- faults -------------------------------------------------------------------------------------
class Injector:
    def __init__(
        self, stack: Stack, events: list[FaultEvent], t0: float, seed: int, texts: list[str]
    ) -> None:
        self.stack, self.events, self.t0, self.texts = stack, events, t0, texts
        self.rng = random.Random(seed + 1)
        self.thread = threading.Thread(target=self.run, daemon=True, name="injector")
        self.errors: list[str] = []
        self.extra = 0

    def run(self) -> None:
        for event in self.events:
            wait = self.t0 + event.at - time.time()
            if wait > 0:
                time.sleep(wait)
            inject = getattr(self, "do_" + event.kind.replace("-", "_"))
            give_up = time.time() + INJECT_RETRY_SECONDS
            while True:
                event.done_at = time.time()
                try:
                    event.note = inject() or ""
                    break
                except Exception as exc:  # noqa: BLE001 - Redis or the fake is down: again
                    if time.time() < give_up:
                        time.sleep(0.5)
                        continue
                    event.note = f"not injected: {type(exc).__name__}: {exc}"
                    self.errors.append(f"{event.kind}: {event.note}")
                    break

    def _pool_children(self) -> list[int]:
        import psutil

        pids = []
        names = [n for n in self.stack.services if n.startswith(("workers", "pool-"))]
        for name in names:
            pid = self.stack.pid(name)
            if pid is None:
                continue
            with contextlib.suppress(psutil.Error):
                pids += [c.pid for c in psutil.Process(pid).children(recursive=True)]
        return pids

    def do_worker_kill(self) -> str:
        pids = self._pool_children()
        if not pids:
            return "no worker process to kill"
        pid = self.rng.choice(pids)
        os.kill(pid, signal.SIGKILL)
        return f"pid {pid}"

    def _order(self, step: str) -> str:
        import requests

        platform = self.rng.choice(PLATFORMS if step != "before" else ("x", "instagram"))
        body = {"step": step, "platform": platform}
        requests.post(self.stack.fake_url + "/_soak/kill-orders", json=body, timeout=5)
        return platform

    def do_kill_before(self) -> str:
        return self._order("before")

    def do_kill_during(self) -> str:
        return self._order("during")

    def do_kill_after(self) -> str:
        return self._order("after")

    def do_supervisor_kill(self) -> str:
        pid = self.stack.pid("workers")
        if pid is None:
            return "no pool"
        os.kill(pid, signal.SIGKILL)  # only the parent: its forked workers carry on, orphaned
        return f"pool parent {pid}"

    def do_scheduler_kill(self) -> str:
        pid = self.stack.pid("scheduler")
        if pid is None:
            return "no scheduler"
        os.kill(pid, signal.SIGKILL)
        return f"pid {pid}"

    def _for_a_while(self, name: str, argv: list[str], seconds: float) -> None:
        # On the last worker host: beside a scheduler and a pool that are already there.
        self.stack.start(name, argv, keep_up=False, netns=self.stack.worker_hosts()[-1])

        def later() -> None:
            time.sleep(seconds)
            self.stack.stop(name)

        threading.Thread(target=later, daemon=True).start()

    def do_second_scheduler(self) -> str:
        self.extra += 1
        name = f"extra-scheduler-{self.extra}"  # not a host's own "scheduler-1"
        self._for_a_while(name, self.stack.gateway_argv("scheduler"), SECOND_SCHEDULER_SECONDS)
        return name

    def do_second_pool(self) -> str:
        self.extra += 1
        name = f"pool-{self.extra}"
        argv = self.stack.gateway_argv("worker", "--processes", "2")
        self._for_a_while(name, argv, SECOND_POOL_SECONDS)
        return name

    def do_redis_shutdown(self) -> str:
        # A raw command, once: redis-py retries a command whose connection drops, and would
        # shut the restarted server down again.
        address = self.stack.redis_master()
        with socket.create_connection(address, timeout=5) as sock:
            sock.sendall(b"SHUTDOWN NOSAVE\r\n")
            with contextlib.suppress(OSError):
                sock.recv(100)
        return "restarted by the watchdog"

    def do_redis_flush(self) -> str:
        self.stack.redis().flushall()
        return ""

    def do_pg_terminate(self) -> str:
        import psycopg

        with psycopg.connect(self.stack.config.pg_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (self.stack.dbname,),
            ).fetchall()
        return f"{len(rows)} connections"

    def _platform_fault(
        self, kind: str, platforms: tuple[str, ...] = PLATFORMS, **fields: Any
    ) -> str:
        platform = self.rng.choice(platforms)
        self.stack.control(
            "inject_fault",
            kind,
            platform=platform,
            method="POST",
            path_contains=CREATE_PATHS[platform],
            times=1,
            **fields,
        )
        return platform

    def do_platform_500(self) -> str:
        return self._platform_fault("error", status=500)

    def do_platform_500_after(self) -> str:
        """Graph's outage answer (code 2, ``is_transient``) to a call that made the post all
        the same: the gateway must look it up, not send it again."""
        return self._platform_fault("error_after", ("facebook", "instagram"), status=500)

    def do_platform_429(self) -> str:
        return self._platform_fault("rate_limit", reset_in=RATE_LIMIT_RESET_SECONDS)

    def do_platform_timeout(self) -> str:
        return self._platform_fault("latency", latency_ms=TIMEOUT_LATENCY_MS)

    def do_platform_lost_answer(self) -> str:
        return self._platform_fault("lost_answer")

    def do_platform_restart(self) -> str:
        pid = self.stack.pid("fake")
        if pid is None:
            return "no fake"
        os.kill(pid, signal.SIGKILL)
        # The watchdog starts it again; put back the latency every call has.
        threading.Thread(target=self._relatency, daemon=True).start()
        return f"pid {pid}"

    def do_redis_host_loss(self) -> str:
        """The Redis master's host drops off the network (its link down) for a while: the
        sentinels promote the replica, and the gateway must follow them."""
        host, _port = self.stack.redis_master()
        netns = {a: ns for ns, a in (self.stack.hosts["redis"], self.stack.hosts["redis_replica"])}
        ns = netns.get(host)
        if ns is None:
            return f"no host for {host}"
        subprocess.run(["ip", "-n", ns, "link", "set", "eth0", "down"], check=True)

        def back() -> None:
            time.sleep(REDIS_HOST_LOSS_SECONDS)
            subprocess.run(["ip", "-n", ns, "link", "set", "eth0", "up"], check=False)

        threading.Thread(target=back, daemon=True).start()
        return f"{ns} ({host}) off the network for {REDIS_HOST_LOSS_SECONDS} s"

    def do_web_kill(self) -> str:
        names = [n for n in self.stack.services if n == "web" or n.startswith("web-")]
        name = self.rng.choice(sorted(names))
        pid = self.stack.pid(name)
        if pid is None:
            return f"no {name}"
        os.killpg(pid, signal.SIGKILL)  # gunicorn's arbiter and its workers: the whole server
        return f"{name}, pid {pid}"

    def do_planted_early(self) -> str:
        self.stack.control("seed_posts", "facebook", PAGE_ID, [self.texts[-1]])
        return f"post {len(self.texts) - 1}, on Facebook"

    def _relatency(self) -> None:
        with contextlib.suppress(RuntimeError):
            time.sleep(RESTART_SECONDS)
            self.stack._wait_http(self.stack.fake_url + "/_fake/accounts", 30)
            if LATENCY_MS:
                self.stack.control("inject_fault", "latency", latency_ms=LATENCY_MS, times=None)


# -- posts --------------------------------------------------------------------------------------
def office_hours_cover(seconds: float) -> bool:
    from gateway.domain.guardrails.clock import OfficeHours

    now = datetime.now(UTC)
    hours = OfficeHours()
    return hours.is_open(now) and hours.is_open(datetime.fromtimestamp(time.time() + seconds, UTC))


def make_posts(stack: Stack, texts: list[str], dues: list[float], emergency: list[bool]) -> None:
    import bench_publish

    ordinary = [(t, d) for t, d, e in zip(texts, dues, emergency, strict=True) if not e]
    urgent = [(t, d) for t, d, e in zip(texts, dues, emergency, strict=True) if e]
    stack.jpeg = bench_publish._jpeg()
    for group, flag in ((ordinary, False), (urgent, True)):
        if group:
            bench_publish.make_posts(stack, [t for t, _ in group], [d for _, d in group], flag)


# -- daylight saving ----------------------------------------------------------------------------
def dst_change(month: str, after: datetime) -> datetime:
    """The next change of the clocks in Europe/London in ``month`` ("march" or "october") after
    ``after``: 01:00 UTC on the month's last Sunday (the Summer Time Order 2002)."""
    number = DST_MONTHS[month]
    for year in (after.year, after.year + 1):
        at = datetime(year, number + 1, 1, 1, tzinfo=UTC) - timedelta(days=1)
        at -= timedelta(days=(at.weekday() - 6) % 7)  # back to the Sunday
        before, since = ((at + timedelta(seconds=d)).astimezone(LONDON) for d in (-1, 1))
        if before.utcoffset() == since.utcoffset():
            raise RuntimeError(f"Europe/London does not change its clocks at {at}: tzdata?")
        if at > after:
            return at
    raise RuntimeError(f"no change of the clocks in {month} after {after}")


#: The officers' form's rule on the night of a change: a wall-clock time typed, and what it
#: must give (minutes from the change, in UTC), or the refusal it must meet. Derived by hand
#: from the Summer Time Order: in March 01:00 GMT becomes 02:00 BST, in October 02:00 BST
#: becomes 01:00 GMT.
DST_PROBES: dict[str, list[tuple[str, int | str]]] = {
    "march": [
        ("00:59", -1),
        ("01:00", "skipped"),
        ("01:30", "skipped"),
        ("01:59", "skipped"),
        ("02:00", 0),
        ("02:30", 30),
    ],
    "october": [
        ("00:59", -61),
        ("01:00", "repeated"),
        ("01:30", "repeated"),
        ("01:59", "repeated"),
        ("02:00", 60),
        ("02:30", 90),
    ],
}


@dataclass
class DstPlan:
    month: str
    change: datetime
    #: Per post, its local time with its UTC offset and how it was given.
    local: list[tuple[str, str]] = field(default_factory=list)
    #: The rule broken: a probe answered wrongly, or a time mapped to another instant.
    problems: list[str] = field(default_factory=list)
    probes: list[str] = field(default_factory=list)


def plan_dst(month: str, change: datetime, dues: list[float]) -> tuple[list[float], DstPlan]:
    """Each due time (gateway epoch) as an officer or a system would give it on that night,
    and the due time the gateway's rule makes of it; the form's rule probed at the edges."""
    from gateway.domain.guardrails.clock import (
        AmbiguousLocalTime,
        NonexistentLocalTime,
        local_to_utc,
    )

    plan = DstPlan(month, change)
    day = change.astimezone(LONDON).date()
    for typed, expected in DST_PROBES[month]:
        at = wall_time.fromisoformat(typed)
        try:
            got: int | str = round((local_to_utc(day, at) - change).total_seconds() / 60)
        except NonexistentLocalTime:
            got = "skipped"
        except AmbiguousLocalTime:
            got = "repeated"
        note = f"{day} {typed}: {got if isinstance(got, str) else f'change {got:+d} min'}"
        plan.probes.append(note)
        if got != expected:
            plan.problems.append(f"the form's rule: {note}, expected {expected}")
    mapped = []
    for due in dues:
        exact = datetime.fromtimestamp(due, UTC)
        wall = exact.astimezone(LONDON)
        typed = wall.time().replace(fold=0)  # what a person types carries no fold
        try:
            # A time the form takes: its wall-clock reading names one instant.
            at = local_to_utc(wall.date(), typed)
            how = "wall clock (the form)"
            if abs((at - exact).total_seconds()) > 1e-6:
                plan.problems.append(f"{wall.isoformat()} typed gives {at.isoformat()}")
        except AmbiguousLocalTime:
            # The repeated hour: only a time with its offset names one instant (the API's
            # AwareDatetime); the form refuses the bare wall-clock time.
            at, how = exact, "with its offset (the API; the form refuses it)"
        except NonexistentLocalTime:
            at, how = exact, "skipped time"
            plan.problems.append(
                f"the clock read {wall.isoformat()}, which the rule says is skipped"
            )
        plan.local.append((wall.isoformat(timespec="seconds"), how))
        mapped.append(at.timestamp())
    return mapped, plan


# -- reconciliation -----------------------------------------------------------------------------
@dataclass
class Report:
    deliveries: int = 0
    counts: Counter = field(default_factory=Counter)
    problems: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    held_reasons: Counter = field(default_factory=Counter)
    failed_reasons: Counter = field(default_factory=Counter)
    held_on_platform: int = 0
    log_verifies: bool = False
    verify_output: str = ""
    recovery: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    events: list[FaultEvent] = field(default_factory=list)
    restarts: Counter = field(default_factory=Counter)
    kills: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    lateness: list[float] = field(default_factory=list)
    injector_errors: list[str] = field(default_factory=list)
    folder: str = ""
    dst: DstPlan | None = None

    @property
    def ok(self) -> bool:
        return self.log_verifies and not any(self.problems.get(k) for k in MUST_ROWS)


def held_kind(reason: str) -> str:
    """What kind of hold a held reason is (gateway.publishing.attempt's wording)."""
    if "was not found among" in reason:
        return "outcome unknown, not on the account after every look-up"
    if "could not check the whole account" in reason:
        return "outcome unknown, the look-up could not read the whole account"
    if "grace period" in reason:
        return "missed its grace period"
    if "reconnected" in reason:
        return "the channel needs reconnecting"
    return reason[:60] or "(no reason)"


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def job_in_redis(stack: Stack, delivery_id: int) -> str:
    """What Redis holds of a stuck delivery's publish job, to say why nothing ran it."""
    from rq.job import Job

    from gateway.publishing.release import publish_job_id

    try:
        conn = stack.redis()
        job_id = publish_job_id(delivery_id)
        status, origin, worker = (
            None if v is None else v.decode()
            for v in conn.hmget(Job.key_for(job_id), "status", "origin", "worker_name")
        )
        listed = origin is not None and conn.lpos(f"rq:queue:{origin}", job_id) is not None
        return f"job {job_id}: {status or 'none'} on {origin}, listed {listed}, worker {worker}"
    except Exception as exc:  # noqa: BLE001 - a note only
        return f"job unknown ({type(exc).__name__})"


def reconcile(
    stack: Stack, texts: list[str], dues: list[float], report: Report, offset: float = 0.0
) -> None:
    """``dues``: by the gateway's clock, which is the system's moved by ``offset``."""
    from sqlalchemy import select

    from gateway.extensions import db
    from gateway.models import Channel, Delivery, Post

    due_of = dict(zip(texts, dues, strict=True))
    number_of = {text: i for i, text in enumerate(texts)}
    with stack.app.app_context():
        rows = db.session.execute(
            select(Delivery, Post.text, Channel.platform)
            .join(Post, Post.id == Delivery.post_id)
            .join(Channel, Channel.id == Delivery.channel_id)
            .where(Post.text.in_(texts))
        ).all()
        deliveries = [
            (d.id, d.status, d.platform_post_id, d.held_reason, d.last_error, text, platform)
            for d, text, platform in rows
        ]
        stored_due = {(platform, text): d.due_at for d, text, platform in rows}
        db.session.remove()
    report.deliveries = len(deliveries)
    received: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for post in stack.control("posts"):
        received[(post["platform"], post["text"])].append(post)
    # The exported log: each delivery's outcomes in order.
    export = stack.tmp / "export"
    out = subprocess.run(
        stack.gateway_argv("audit", "export", "--out", str(export)),
        env=stack.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    verify = subprocess.run(
        [PY, "-m", "gateway.verify", str(export)],
        env=stack.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    report.log_verifies = out.returncode == 0 and verify.returncode == 0
    report.verify_output = (out.stdout + out.stderr + verify.stdout + verify.stderr).strip()
    outcomes: dict[int, list[tuple[float, str, str | None]]] = defaultdict(list)
    first_attempt: dict[int, float] = {}
    looked: set[int] = set()
    if (export / "entries.jsonl").exists():
        with (export / "entries.jsonl").open(encoding="utf-8") as lines:
            for line in lines:
                entry = json.loads(line)
                payload = entry.get("payload") or {}
                did = payload.get("delivery_id")
                if did is None:
                    continue
                at = datetime.fromisoformat(entry["time"].replace("Z", "+00:00")).timestamp()
                if entry["action"] == "delivery.outcome":
                    outcomes[did].append((at, payload["outcome"], payload.get("platform_post_id")))
                elif entry["action"] == "delivery.attempt":
                    first_attempt.setdefault(did, at)
                elif entry["action"] == "delivery.lookup":
                    looked.add(did)
    final_at: dict[int, float] = {}
    for did, status, ppid, held, error, text, platform in deliveries:
        name = f"delivery {did} ({platform}, post {number_of[text]})"
        got = received.get((platform, text), [])
        due = due_of[text]
        stored = stored_due[(platform, text)]
        if stored is None or abs(stored.timestamp() - due) > DUE_TOLERANCE_SECONDS:
            # What was approved is the time: the gateway must keep it to the microsecond.
            report.problems["due time wrong"].append(
                f"{name}: due {datetime.fromtimestamp(due, UTC).isoformat()}, stored {stored}"
            )
        early = [p for p in got if p["received_at"] < due]
        if early:
            report.problems["early"].append(f"{name}: {due - early[0]['received_at']:.3f} s early")
        if len(got) > 1:
            report.problems["doubled"].append(f"{name}: {len(got)} posts on {platform}")
        if got:
            report.lateness.append(got[0]["received_at"] - due)
        published = [o for o in outcomes.get(did, []) if o[1] == "published"]
        if outcomes.get(did):
            final_at[did] = outcomes[did][-1][0]
        if status == "published":
            if not got:
                report.problems["lost"].append(f"{name}: published, but not on {platform}")
            elif ppid not in {p["id"] for p in got}:
                report.problems["wrong record"].append(
                    f"{name}: platform id {ppid} is not its post"
                )
            elif len(got) == 1:
                report.counts["published exactly once"] += 1
            if len(published) != 1:
                report.problems["log disagrees"].append(
                    f"{name}: {len(published)} 'published' outcomes in the export"
                )
        elif status in ("failed", "blocked"):
            report.counts[f"{status} for good"] += 1
            reason = (error or held or "").split(":")[0][:70] or "(no reason)"
            report.failed_reasons[f"{status}: {reason}"] += 1
            if not (error or held):
                report.problems["wrong record"].append(f"{name}: {status} with no reason")
            if got:
                report.problems["wrong record"].append(f"{name}: {status}, but on {platform}")
        elif status == "held":
            report.counts["held for a person"] += 1
            report.held_reasons[held_kind(held or "")] += 1
            if got:
                report.held_on_platform += 1
                if "was not found among" in (held or ""):
                    # The advice is to release it again: that would publish it twice.
                    report.problems["held as missing, but there"].append(
                        f"{name}: held as not found, but on {platform}"
                    )
        elif status in FINAL:
            report.counts[status] += 1
        else:
            report.problems["stuck"].append(f"{name}: still {status}; {job_in_redis(stack, did)}")
            if not got:
                report.problems["lost"].append(f"{name}: {status} and not on {platform}")
        if status != "published" and published:
            report.problems["log disagrees"].append(f"{name}: {status}, but 'published' in log")
    # Recovery: a delivery an event hit, from the event (or its first attempt) to its outcome.
    by_text = {(platform, text): did for did, _s, _p, _h, _e, text, platform in deliveries}
    for kill in stack.control_kills():
        did = by_text.get((kill["platform"], kill["text"]))
        step = kill["step"].split(" ")[0]
        if did in final_at:
            report.recovery[f"kill-{step}: kill to outcome"].append(final_at[did] - kill["at"])
    for did, outs in outcomes.items():
        kinds = {o[1] for o in outs}
        start = first_attempt.get(did, outs[0][0])
        if did in looked:
            report.recovery["unknown outcome: first attempt to outcome"].append(outs[-1][0] - start)
        elif "rate_limited" in kinds:
            report.recovery["rate-limited: first attempt to outcome"].append(outs[-1][0] - start)
        elif "retry" in kinds:
            report.recovery["retried: first attempt to outcome"].append(outs[-1][0] - start)
    service_kinds = (
        "redis-host-loss",
        "web-kill",
        "redis-shutdown",
        "redis-flush",
        "pg-terminate",
        "scheduler-kill",
        "supervisor-kill",
        "platform-restart",
    )
    firsts = {(p, t): min(x["received_at"] for x in posts) for (p, t), posts in received.items()}
    for event in report.events:
        if event.kind not in service_kinds or not event.done_at:
            continue
        hit = [
            firsts[(p, t)] - due_of[t]
            for t in texts
            for p in PLATFORMS
            if event.done_at + offset <= due_of[t] < event.done_at + offset + EFFECT_WINDOW_SECONDS
            and (p, t) in firsts
        ]
        if hit:
            report.recovery[f"{event.kind}: worst lateness due in the next 10 s"].append(max(hit))


def print_report(report: Report, config: Config) -> None:
    def row(label: str, value: Any, must: str = "") -> None:
        print(f"| {label} | {value} | {must} |")

    print()
    print(
        f"Soak: {config.posts} posts, {report.deliveries} deliveries, {config.workers} workers, "
        f"seed {config.seed}, window {config.window:.0f} s, {report.seconds:.0f} s in all"
    )
    if config.hosts is not None:
        web = ", ".join(address for _ns, address in config.hosts["web"])
        print(
            f"Hosts: web {web} behind HAProxy {config.hosts['proxy'][1]}; workers and a "
            f"scheduler on each of {', '.join(config.hosts['workers'])}; Redis "
            f"{config.hosts['redis'][1]}"
            + (
                f" and its replica {config.hosts['redis_replica'][1]}, "
                f"{len(config.hosts['sentinels'])} sentinels"
                if config.hosts.get("sentinels")
                else ""
            )
            + f"; the fake platform {config.hosts['fake'][1]}"
        )
    print()
    print("| Result | Deliveries | Must be |")
    print("|---|---|---|")
    row("published exactly once", report.counts["published exactly once"])
    for key in ("failed for good", "blocked for good"):
        if report.counts[key]:
            row(key, report.counts[key])
    for reason, n in report.failed_reasons.most_common():
        row(f"&nbsp;&nbsp;{reason}", n)
    row("held for a person", report.counts["held for a person"])
    for reason, n in report.held_reasons.most_common():
        row(f"&nbsp;&nbsp;{reason}", n)
    if report.counts["held for a person"]:
        row("&nbsp;&nbsp;of which the post is on the platform", report.held_on_platform)
    for key in MUST_ROWS:
        row(key, len(report.problems.get(key, [])), "0")
    row("exported log verifies (gateway-verify)", "yes" if report.log_verifies else "NO", "yes")
    print()
    if report.lateness:
        print(
            f"Lateness of first receipt: p50 {_pct(report.lateness, 50):.2f} s, "
            f"p99 {_pct(report.lateness, 99):.2f} s, max {max(report.lateness):.2f} s"
        )
    if report.dst is not None:
        print_dst(report.dst, config)
    done = Counter(e.kind for e in report.events if e.done_at and not e.note.startswith("not"))
    # "no worker process to kill": the pool was still starting, so it hit nothing.
    idle = Counter(e.kind for e in report.events if e.done_at and e.note.startswith("no "))
    print(
        "Faults injected: "
        + ", ".join(
            f"{k} {n}" + (f" ({idle[k]} found nothing to hit)" if idle[k] else "")
            for k, n in sorted(done.items())
        )
    )
    if report.restarts:
        print(
            "Restarted by the watchdog: "
            + ", ".join(f"{k} {n}" for k, n in report.restarts.items())
        )
    kills = Counter(k["step"].split(" ")[0] for k in report.kills if k.get("pid"))
    ordered = sum(1 for e in report.events if e.kind.startswith("kill-") and e.done_at)
    if ordered:
        print(
            "Workers killed at a platform call: "
            + (", ".join(f"{k} {n}" for k, n in sorted(kills.items())) or "none")
            + f" ({ordered - sum(kills.values())} of {ordered} orders not carried out: the fake"
            " restarted first, no such call came, or no caller was found)"
        )
    print(f"Load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if report.recovery:
        print()
        print("| Recovery | n | median s | max s |")
        print("|---|---|---|---|")
        for key, values in sorted(report.recovery.items()):
            print(
                f"| {key} | {len(values)} | {statistics.median(values):.1f} | {max(values):.1f} |"
            )
    for key in MUST_ROWS:
        for problem in report.problems.get(key, [])[:10]:
            print(f"{key}: {problem}")
    for error in report.injector_errors:
        print(f"fault: {error}")
    if not report.log_verifies:
        print(report.verify_output)
    print()


def print_dst(plan: DstPlan, config: Config) -> None:
    change = plan.change
    before = (change - timedelta(seconds=1)).astimezone(LONDON)
    after = change.astimezone(LONDON)
    print(
        f"Clocks change {change:%Y-%m-%d %H:%M} UTC: {before:%H:%M:%S %Z} is followed by "
        f"{after:%H:%M:%S %Z}; the gateway's clock moved {config.clock_offset:+.0f} s"
    )
    if plan.local:
        early = sum(1 for t, _ in plan.local if datetime.fromisoformat(t) < change)
        print(
            f"Posts due from {plan.local[0][0]} to {plan.local[-1][0]} (local time): "
            f"{early} before the change, {len(plan.local) - early} after; given "
            + ", ".join(f"{how} {n}" for how, n in Counter(h for _, h in plan.local).items())
        )
    print("The form's rule that night: " + "; ".join(plan.probes))


MUST_ROWS = (
    "lost",
    "doubled",
    "early",
    "stuck",
    "wrong record",
    "held as missing, but there",
    "log disagrees",
    "due time wrong",
    "local time rule broken",
)
#: A stored due time may differ from the approved one by float rounding, no more.
DUE_TOLERANCE_SECONDS = 0.001


def _all_final(stack: Stack, texts: list[str]) -> tuple[bool, Counter]:
    from sqlalchemy import func, select

    from gateway.extensions import db
    from gateway.models import Delivery, Post

    with stack.app.app_context():
        try:
            rows = db.session.execute(
                select(Delivery.status, func.count())
                .join(Post, Post.id == Delivery.post_id)
                .where(Post.text.in_(texts))
                .group_by(Delivery.status)
            ).all()
        except Exception:  # noqa: BLE001 - a terminated connection: ask again
            db.session.rollback()
            return False, Counter()
        finally:
            db.session.remove()
    counts = Counter({s: n for s, n in rows})
    return all(s in FINAL for s in counts) and sum(counts.values()) > 0, counts


def run_soak(config: Config) -> Report:
    started = time.time()
    report = Report()
    run = uuid.uuid4().hex[:6]
    texts = [
        f"Soak {run} number {i}: gritters are out tonight on the main routes."
        for i in range(config.posts)
    ]
    planned_t0 = None
    if config.dst:
        # Move the clock before anything starts, so that every process reads the same one and
        # the change falls in the middle of the window.
        change = dst_change(config.dst, datetime.now(UTC))
        planned_t0 = time.time() + DST_SETUP_SECONDS + config.posts * MAKE_SECONDS + LEAD_SECONDS
        config.clock_offset = change.timestamp() - config.window / 2 - planned_t0
        report.dst = DstPlan(config.dst, change)
        log(
            f"clocks change at {change:%Y-%m-%d %H:%M} UTC: gateway clock moved "
            f"{config.clock_offset:+.0f} s (GATEWAY_CLOCK_OFFSET_SECONDS)"
        )
    with Stack(config) as stack:
        drain_allowance = LEAD_SECONDS + config.window + config.drain + config.posts * 0.2
        in_hours = not config.emergency and not config.dst and office_hours_cover(drain_allowance)
        emergency = [not in_hours or i % 10 == 9 for i in range(config.posts)]
        log(
            f"making {config.posts} approved posts "
            f"({'one in ten an emergency post' if in_hours else 'all emergency posts'})"
        )
        t_make = time.time()
        # Due times are part of what was approved, so they are set before the posts are made,
        # with an allowance for making them; a post made late only goes out late.
        t0 = t_make + config.posts * MAKE_SECONDS + LEAD_SECONDS
        window = config.window
        if planned_t0 is not None:
            # The clock was moved before the stack started: the window stays where it puts
            # the change in its middle, and only shrinks from the front if the stack was slow.
            change_at = planned_t0 + config.window / 2
            if t0 >= change_at - 1:
                raise RuntimeError(
                    f"the stack took {t0 - planned_t0:.0f} s more than the {DST_SETUP_SECONDS:.0f}"
                    " s allowed to start: no post would fall due before the change"
                )
            if t0 > planned_t0:
                log(f"the stack took {t0 - planned_t0:.0f} s longer than allowed to start")
                window = planned_t0 + config.window - t0
            else:
                t0 = planned_t0
        dues = [t0 + i * window / max(1, config.posts - 1) for i in range(config.posts)]
        # By the gateway's clock (the system's unless --dst moved it).
        gateway_dues = [d + config.clock_offset for d in dues]
        if report.dst is not None:
            gateway_dues, report.dst = plan_dst(config.dst, report.dst.change, gateway_dues)
            report.problems["local time rule broken"] += report.dst.problems
        make_posts(stack, texts, gateway_dues, emergency)
        made = time.time()
        log(f"made in {made - t_make:.1f} s")
        for i, netns in enumerate(stack.worker_hosts()):
            # On several hosts: a scheduler on each worker host (one active, the others
            # standing by: workers/lease.py) and the pool's processes shared among them.
            suffix = "" if i == 0 else f"-{i}"
            share = max(1, config.workers // len(stack.worker_hosts()))
            stack.start(f"scheduler{suffix}", stack.gateway_argv("scheduler"), netns=netns)
            argv = stack.gateway_argv("worker", "--processes", str(share))
            stack.start(f"workers{suffix}", argv, netns=netns)
        events = plan_faults(config)
        report.events = events
        injector = Injector(stack, events, max(t0, time.time()), config.seed, texts)
        injector.thread.start()
        log(f"first due in {t0 - time.time():.1f} s; {len(events)} faults planned")
        deadline = dues[-1] + config.drain
        last_note = 0.0
        while time.time() < deadline:
            time.sleep(2)
            final, counts = _all_final(stack, texts)
            if time.time() - last_note > 15:
                log("statuses " + ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))
                last_note = time.time()
            if final and not injector.thread.is_alive() and time.time() > dues[-1]:
                break
        injector.thread.join(timeout=SECOND_POOL_SECONDS + 5)
        report.injector_errors = injector.errors
        report.restarts = Counter(name for _, name in stack.restarts)
        report.kills = stack.control_kills()
        log("reconciling")
        report.folder = str(stack.tmp)
        reconcile(stack, texts, gateway_dues, report, config.clock_offset)
    report.seconds = time.time() - started
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=300, help="posts, 3 deliveries each")
    parser.add_argument(
        "--faults",
        default="all",
        help=f"all, none, or kind[=events a minute],... from: {', '.join(FAULTS)}",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--window", type=float, help="seconds over which posts fall due")
    parser.add_argument("--drain", type=float, default=300.0, help="seconds after the last due")
    parser.add_argument("--workers", type=int, default=6, help="worker processes in the pool")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="keep the folder with every log")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--emergency",
        action="store_true",
        help="every post an emergency post (otherwise: in office hours one in ten)",
    )
    parser.add_argument(
        "--dst",
        choices=sorted(DST_MONTHS),
        help="move the gateway's clock so that the posts fall due across the next change of "
        "the clocks in that month (01:00 UTC on its last Sunday); every post an emergency post",
    )
    parser.add_argument(
        "--hosts",
        type=Path,
        help="JSON: the network namespace and address of each part (written by "
        "bench/scaleout.py, which makes the hosts; not for use by hand)",
    )
    args = parser.parse_args(argv)
    try:
        faults = parse_faults(args.faults)
    except ValueError as exc:
        parser.error(str(exc))
    window = args.window or max(30.0, args.posts * len(PLATFORMS) / DELIVERIES_PER_SECOND)
    config = Config(
        posts=args.posts,
        faults=faults,
        seed=args.seed,
        window=window,
        drain=args.drain,
        workers=args.workers,
        pg_url=args.pg_url,
        keep=args.keep,
        emergency=args.emergency,
        dst=args.dst,
        hosts=json.loads(args.hosts.read_text()) if args.hosts else None,
    )
    os.chdir(ROOT)
    try:
        report = run_soak(config)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"soak: could not run: {exc}", file=sys.stderr)
        return 2
    print_report(report, config)
    if args.json:
        args.json.write_text(json.dumps(report_json(report, config), indent=1))
    return 0 if report.ok else 1


def report_json(report: Report, config: Config) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "posts": config.posts,
        "deliveries": report.deliveries,
        "seed": config.seed,
        "window": config.window,
        "faults": config.faults,
        "counts": dict(report.counts),
        "held_reasons": dict(report.held_reasons),
        "failed_reasons": dict(report.failed_reasons),
        "held_on_platform": report.held_on_platform,
        "must_be_zero": {key: report.problems.get(key, []) for key in MUST_ROWS},
        "log_verifies": report.log_verifies,
        "verify_output": report.verify_output,
        "events": [vars(e) for e in report.events],
        "injector_errors": report.injector_errors,
        "restarts": dict(report.restarts),
        "kills": report.kills,
        "recovery": dict(report.recovery),
        "lateness": report.lateness,
        "seconds": report.seconds,
        "folder": report.folder if config.keep else "",
        "clock_offset": config.clock_offset,
        "dst": None
        if report.dst is None
        else {
            "month": report.dst.month,
            "change": report.dst.change.isoformat(),
            "local": report.dst.local,
            "probes": report.dst.probes,
        },
    }


if __name__ == "__main__":
    sys.exit(main())

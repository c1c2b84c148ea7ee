"""The fault-injection soak with the gateway spread over several hosts (issue 19, "Scale-out").

Run as root from the repository root (network namespaces need it):

    .venv/bin/python bench/scaleout.py --posts 200 --seed 1

Each "host" is a Linux network namespace made here, with its own address on a private network
that exists only inside these namespaces (a bridge in a namespace of its own; nothing is added
to this machine's own network, and no packet leaves it):

- gwso-db, 10.219.19.10: PostgreSQL's port 5432, forwarded by socat to this machine's
  PostgreSQL through its Unix socket, and a Redis Sentinel;
- gwso-redis1 and gwso-redis2, 10.219.19.11 and .12: Redis (port 6390), the master and its
  replica, and a Sentinel each (port 26379; three in all, quorum 2); the gateway's
  ``REDIS_URL`` is ``redis+sentinel://`` the three;
- gwso-platform, 10.219.19.20: the fake X, Facebook and Instagram (port 8001);
- gwso-proxy, 10.219.19.30: HAProxy (port 8080), round robin over the two web servers, each
  health-checked every second;
- gwso-web1 and gwso-web2, 10.219.19.41 and .42: ``gateway web`` (port 8000);
- gwso-work1 and gwso-work2, 10.219.19.51 and .52: ``gateway worker`` (half the processes
  each) and ``gateway scheduler`` (one active, the other standing by: workers/lease.py);
- gwso-ctl, 10.219.19.5: bench/soak.py itself, which makes the posts, injects the faults and
  reconciles.

Then it runs bench/soak.py in gwso-ctl with ``--hosts`` naming where each part runs, and every
fault that works across hosts: all of ``--faults all`` but the kill orders at a platform call
(the fake finds its caller's process by the connection's port, which it cannot see in another
namespace; workers are still killed at random moments), and ``web-kill``. At the end, or on any
error or Ctrl-C, it stops what it started and deletes every namespace, which removes their
links. ``--keep-hosts`` leaves them for a look (delete with ``--teardown``).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

from soak import EXTRA_FAULTS, FAULTS  # noqa: E402

#: A /24 of the private 10/8 range, used only inside these namespaces.
NETWORK = "10.219.19"
PREFIX = "gwso"
SWITCH = f"{PREFIX}-sw"
BRIDGE = "br0"
HOSTS = {
    "ctl": 5,
    "db": 10,
    "redis1": 11,
    "redis2": 12,
    "platform": 20,
    "proxy": 30,
    "web1": 41,
    "web2": 42,
    "work1": 51,
    "work2": 52,
}
REDIS_PORT, FAKE_PORT, WEB_PORT, PROXY_PORT, PG_PORT = 6390, 8001, 8000, 8080, 5432
SENTINEL_PORT = 26379
PG_SOCKET = "/var/run/postgresql/.s.PGSQL.5432"
#: Kill orders at a platform call need the fake to see its caller's socket (psutil reads the
#: connections of its own namespace only).
NOT_ACROSS_HOSTS = ("kill-before", "kill-during", "kill-after")
#: The whole run stops by itself; this only stops a hung one, then everything is torn down.
RUN_LIMIT_SECONDS = 3600
#: One run at a time owns the namespaces (each run deletes what an earlier one left).
LOCK_FILE = Path("/run/gateway-scaleout.lock")
BUSY = 3


def netns(host: str) -> str:
    return f"{PREFIX}-{host}"


def address(host: str) -> str:
    return f"{NETWORK}.{HOSTS[host]}"


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, capture_output=True, text=True)


def setup() -> None:
    """The switch namespace with a bridge, and each host joined to it by a veth pair."""
    sh("ip", "netns", "add", SWITCH)
    sh("ip", "-n", SWITCH, "link", "add", BRIDGE, "type", "bridge")
    sh("ip", "-n", SWITCH, "link", "set", BRIDGE, "up")
    sh("ip", "-n", SWITCH, "link", "set", "lo", "up")
    for host in HOSTS:
        ns = netns(host)
        sh("ip", "netns", "add", ns)
        # Both ends are made inside the switch namespace, then one is moved to the host, so
        # no interface ever appears in this machine's own namespace.
        sh("ip", "-n", SWITCH, "link", "add", f"v-{host}", "type", "veth", "peer", "eth0")
        sh("ip", "-n", SWITCH, "link", "set", "eth0", "netns", ns)
        sh("ip", "-n", SWITCH, "link", "set", f"v-{host}", "master", BRIDGE, "up")
        sh("ip", "-n", ns, "addr", "add", f"{address(host)}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")


def teardown() -> None:
    for host in HOSTS:
        sh("ip", "netns", "del", netns(host), check=False)
    sh("ip", "netns", "del", SWITCH, check=False)


def start_pg_forward(log: Path) -> subprocess.Popen:
    """PostgreSQL on the db host: socat there listens on its address and hands each
    connection to this machine's PostgreSQL through its Unix socket (a file, so reachable
    from any namespace). PostgreSQL itself stays as it is, on 127.0.0.1."""
    return subprocess.Popen(
        [
            "ip", "netns", "exec", netns("db"), "socat",
            f"TCP-LISTEN:{PG_PORT},bind={address('db')},fork,reuseaddr",
            f"UNIX-CONNECT:{PG_SOCKET}",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def hosts_file(folder: Path) -> Path:
    hosts = {
        "redis": [netns("redis1"), address("redis1")],
        "redis_replica": [netns("redis2"), address("redis2")],
        "sentinels": [[netns(h), address(h)] for h in ("redis1", "redis2", "db")],
        "sentinel_port": SENTINEL_PORT,
        "redis_service": "gateway",
        "redis_port": REDIS_PORT,
        "fake": [netns("platform"), address("platform")],
        "fake_port": FAKE_PORT,
        "proxy": [netns("proxy"), address("proxy")],
        "proxy_port": PROXY_PORT,
        "web": [[netns("web1"), address("web1")], [netns("web2"), address("web2")]],
        "web_port": WEB_PORT,
        "workers": [netns("work1"), netns("work2")],
    }
    path = folder / "hosts.json"
    path.write_text(json.dumps(hosts, indent=1))
    return path


def default_faults() -> str:
    chosen = {k: v for k, v in FAULTS.items() if k not in NOT_ACROSS_HOSTS} | EXTRA_FAULTS
    return ",".join(f"{k}={v:g}" for k, v in chosen.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faults", default=None, help="as bench/soak.py; default: see above")
    parser.add_argument("--workers", type=int, default=6, help="worker processes in all")
    parser.add_argument("--drain", type=float, default=300.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the soak's folder")
    parser.add_argument("--keep-hosts", action="store_true", help="leave the namespaces")
    parser.add_argument("--teardown", action="store_true", help="only delete the namespaces")
    args = parser.parse_args(argv)
    if args.teardown:
        teardown()
        return 0
    if os.geteuid() != 0:
        print("scaleout: network namespaces need root", file=sys.stderr)
        return 2
    for tool in ("ip", "socat", "haproxy", "redis-server"):
        if shutil.which(tool) is None:
            print(f"scaleout: {tool} is not installed (Debian: apt-get install {tool})")
            return 2
    lock = LOCK_FILE.open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("scaleout: another run is using the namespaces", file=sys.stderr)
        return BUSY
    folder = Path(tempfile.mkdtemp(prefix="gw-scaleout-"))
    forward = None
    try:
        teardown()  # what a killed earlier run left
        setup()
        forward = start_pg_forward(folder / "pg-forward.log")
        soak = [
            "ip", "netns", "exec", netns("ctl"), sys.executable, str(BENCH / "soak.py"),
            "--posts", str(args.posts), "--seed", str(args.seed),
            "--faults", args.faults or default_faults(),
            "--workers", str(args.workers), "--drain", str(args.drain),
            "--pg-url", f"postgresql://postgres@{address('db')}:{PG_PORT}/postgres",
            "--hosts", str(hosts_file(folder)),
        ]  # fmt: skip
        if args.json:
            soak += ["--json", str(args.json.resolve())]
        if args.keep:
            soak.append("--keep")
        print(f"hosts: {', '.join(f'{netns(h)} {address(h)}' for h in HOSTS)}", flush=True)
        return subprocess.run(soak, cwd=ROOT, timeout=RUN_LIMIT_SECONDS).returncode
    finally:
        if forward is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(forward.pid, signal.SIGTERM)
            forward.wait(timeout=10)
        if not args.keep_hosts:
            teardown()
        shutil.rmtree(folder, ignore_errors=True)
        lock.close()


if __name__ == "__main__":
    sys.exit(main())

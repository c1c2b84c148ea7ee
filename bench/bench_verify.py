"""Benchmark: gateway-verify on a whole-log export, against sha256sum over the same file.

    .venv/bin/python bench/bench_verify.py [--entries 1000000] [--repeats 3]
    .venv/bin/python bench/bench_verify.py --database [--entries 1000000] [--old]

Builds a demo export of about ``--entries`` entries (gateway.transparency.demo: every post
written, checked, approved and published to two channels, so the auditor rules have real work)
in a temporary folder, then times, in the same run and alternating:

- ``python -m gateway.verify EXPORT`` (the console script's code, as a subprocess, start-up
  included): parse, canonical check, chain, Merkle root, signature, contents and rules;
- ``sha256sum entries.jsonl``: the floor, one pass of a C hash over the same bytes;
- a Python loop that only ``json.loads`` each line, for context: the least work any Python
  verifier of this format does.

It prints entries per second for each and the ratios; issue #19 aims for at least 200,000
entries a second for gateway-verify using every core (its default), with ``--jobs 1`` (one
core) timed beside it in the same run.

With ``--database`` it times ``gateway audit verify``'s whole check instead
(gateway.audit.check.check_database) on PostgreSQL: a throw-away database (BENCH_PG_URL, else
TEST_PG_URL, else postgresql://postgres@127.0.0.1:5432/test) loaded with bench_auditor.py's
1,000,000-entry log, a first checkpoint signed, then, alternating, best of ``--repeats``:

- the check (the column chain, the verifier's pass, checkpoints, rules and the filter index);
- the floor: streaming ``SELECT seq, leaf`` in ``seq`` order through the same server-side
  cursor and hashing each leaf once, the least any check of the stored leaves does;
- with ``--old``, once: the check as it was before it streamed (three passes), loaded from git.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.transparency.demo import DEMO_ORIGIN, DemoLog
from gateway.transparency.export import write_export
from gateway.transparency.parallel import default_jobs as parallel_jobs

#: The demo writes 8.4 entries a post on average (see gateway.transparency.demo).
ENTRIES_PER_POST = 8.4

ROOT = Path(__file__).resolve().parents[1]

PARSE_ONLY = "import json, sys\nfor line in open(sys.argv[1], 'rb'):\n    json.loads(line)\n"


def _timed(command: list[str], cwd: Path = ROOT) -> float:
    start = time.perf_counter()
    # cwd matters: ``python -m`` puts it first on sys.path, ahead of the installed package.
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed: {done.stdout}{done.stderr}")
    return elapsed


#: The commit before gateway audit verify streamed, for ``--old``.
OLD_CHECK = "226b473:gateway/audit/check.py"


def _database(entries: int, repeats: int, old: bool) -> int:
    import hashlib
    import importlib.util

    import psycopg

    sys.path.insert(0, str(ROOT / "bench"))
    from bench_auditor import _admin_url, _app, _db_url, _load
    from sqlalchemy import select

    from gateway.audit.check import SCAN_BATCH, check_database
    from gateway.audit.checkpoints import sign_now
    from gateway.extensions import db
    from gateway.models import AuditEntry

    name = f"gw_bench_verify_{os.getpid()}"
    with psycopg.connect(_admin_url(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = _app(_db_url(name), Path(tmp) / "instance")
            with psycopg.connect(_db_url(name)) as conn:
                size = _load(conn, max(1, round(entries / ENTRIES_PER_POST)))
            with app.app_context():
                started = time.perf_counter()
                sign_now(app)
                db.session.commit()
                print(f"first checkpoint signed in {time.perf_counter() - started:.1f} s")

                def floor() -> None:
                    stmt = (
                        select(AuditEntry.seq, AuditEntry.leaf)
                        .order_by(AuditEntry.seq)
                        .execution_options(yield_per=SCAN_BATCH)
                    )
                    for rows in db.session.execute(stmt).partitions():
                        for _, leaf in rows:
                            hashlib.sha256(leaf)

                def check() -> None:
                    result = check_database()
                    if not result.ok:
                        raise SystemExit(f"the check failed: {result.problems[0]}")

                checks, floors = [], []
                for _ in range(repeats):
                    for fn, times in ((floor, floors), (check, checks)):
                        started = time.perf_counter()
                        fn()
                        times.append(time.perf_counter() - started)
                        db.session.rollback()
                old_time = None
                if old:
                    source = subprocess.run(
                        ["git", "show", OLD_CHECK], cwd=ROOT, capture_output=True, check=True
                    ).stdout
                    spec = importlib.util.spec_from_loader("old_check", loader=None)
                    module = importlib.util.module_from_spec(spec)
                    sys.modules["old_check"] = module  # dataclasses look their module up
                    exec(compile(source, OLD_CHECK, "exec"), module.__dict__)  # noqa: S102
                    started = time.perf_counter()
                    result = module.check_database()
                    old_time = time.perf_counter() - started
                    print(f"old check: ok={result.ok}")
                db.session.remove()
                db.engine.dispose()
    finally:
        with psycopg.connect(_admin_url(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    best, base = min(checks), min(floors)
    load = os.getloadavg()[0]
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
          f"{size:,} entries, best of {repeats}, load average {load:.2f}")  # fmt: skip
    print(f"gateway audit verify : {best:8.2f} s  {size / best:12,.0f} entries/s  "
          f"{best / base:.1f}x the floor")  # fmt: skip
    print(f"floor (read + sha256): {base:8.2f} s  {size / base:12,.0f} entries/s")
    if old_time is not None:
        print(f"old check (3 passes) : {old_time:8.2f} s  {size / old_time:12,.0f} entries/s  "
              f"{old_time / base:.1f}x the floor")  # fmt: skip
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--database", action="store_true", help="time gateway audit verify on PostgreSQL"
    )
    parser.add_argument("--old", action="store_true", help="with --database: also the old check")
    parser.add_argument(
        "--before",
        metavar="GIT_REF",
        help="also time gateway-verify as it was at this commit (e.g. 226b473), alternating",
    )
    args = parser.parse_args()
    if args.database:
        return _database(args.entries, args.repeats, args.old)
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        export = Path(tmp) / "export"
        log = DemoLog(max(1, round(args.entries / ENTRIES_PER_POST)))
        start = time.perf_counter()
        summary = write_export(
            export, log.leaves(), log.content, private_key=Ed25519PrivateKey.generate(),
            origin=DEMO_ORIGIN,
        )  # fmt: skip
        built = time.perf_counter() - start
        entries = summary.entries
        size_mb = (export / "entries.jsonl").stat().st_size / 1e6
        print(
            f"export: {entries:,} entries, entries.jsonl {size_mb:,.0f} MB, built in {built:.1f} s"
        )
        # Every core (the default) and one core, in the same run.
        verify_cmd = [sys.executable, "-m", "gateway.verify", str(export)]
        one_core_cmd = [*verify_cmd, "--jobs", "1"]
        floor_cmd = ["sha256sum", str(export / "entries.jsonl")]
        # Context, not a target: the least any Python verifier does, parse each line once.
        parse_cmd = [sys.executable, "-c", PARSE_ONLY, str(export / "entries.jsonl")]
        before = Path(tmp) / "before"
        if args.before:
            before.mkdir()
            archive = subprocess.run(
                ["git", "archive", args.before, "gateway"],
                cwd=ROOT,
                capture_output=True,
                check=True,
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
        load_at_start = os.getloadavg()[0]
        verify_times, floor_times, parse_times, before_times = [], [], [], []
        one_core_times: list[float] = []
        for _ in range(args.repeats):
            floor_times.append(_timed(floor_cmd))
            parse_times.append(_timed(parse_cmd))
            verify_times.append(_timed(verify_cmd))
            one_core_times.append(_timed(one_core_cmd))
            if args.before:
                # The tree at --before may predate --jobs: run it as it was.
                before_times.append(_timed(verify_cmd, cwd=before))
        verify_best, floor_best = min(verify_times), min(floor_times)
        one_best = min(one_core_times)
        parse_best = min(parse_times)
        print(f"python {platform.python_version()} on {platform.machine()}, "
              f"{os.cpu_count()} CPUs, best of {args.repeats}")  # fmt: skip
        cores = parallel_jobs()
        print(f"gateway-verify : {verify_best:8.2f} s  {entries / verify_best:12,.0f} entries/s"
              f"  ({cores} processes)")  # fmt: skip
        print(f"  --jobs 1     : {one_best:8.2f} s  {entries / one_best:12,.0f} entries/s"
              f"  ({one_best / verify_best:.2f}x the time of every core)")  # fmt: skip
        print(f"sha256sum      : {floor_best:8.2f} s  {entries / floor_best:12,.0f} entries/s")
        print(f"json.loads only: {parse_best:8.2f} s  {entries / parse_best:12,.0f} entries/s")
        if before_times:
            best = min(before_times)
            print(f"before ({args.before}): {best:8.2f} s  {entries / best:12,.0f} entries/s")
        print(
            f"load average   : {load_at_start:.2f} at the start, "
            f"{os.getloadavg()[0]:.2f} at the end"
        )
        ratio = verify_best / floor_best
        print(f"ratio          : gateway-verify takes {ratio:.1f}x as long as sha256sum")
    return 0


if __name__ == "__main__":
    sys.exit(main())

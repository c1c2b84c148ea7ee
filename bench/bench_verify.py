"""Benchmark: gateway-verify on a whole-log export, against sha256sum over the same file.

    .venv/bin/python bench/bench_verify.py [--entries 1000000] [--repeats 3]

Builds a demo export of about ``--entries`` entries (gateway.transparency.demo: every post
written, checked, approved and published to two channels, so the auditor rules have real work)
in a temporary folder, then times, in the same run and alternating:

- ``python -m gateway.verify EXPORT`` (the console script's code, as a subprocess, start-up
  included): parse, canonical check, chain, Merkle root, signature, contents and rules;
- ``sha256sum entries.jsonl``: the floor, one pass of a C hash over the same bytes;
- a Python loop that only ``json.loads`` each line, for context: the least work any Python
  verifier of this format does.

It prints entries per second for both and the ratio; issue #8 aims for at least 200,000
entries a second for gateway-verify on one core.
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

#: The demo writes 8.4 entries a post on average (see gateway.transparency.demo).
ENTRIES_PER_POST = 8.4

ROOT = Path(__file__).resolve().parents[1]

PARSE_ONLY = "import json, sys\nfor line in open(sys.argv[1], 'rb'):\n    json.loads(line)\n"


def _timed(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed: {done.stdout}{done.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
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
        verify_cmd = [sys.executable, "-m", "gateway.verify", str(export)]
        floor_cmd = ["sha256sum", str(export / "entries.jsonl")]
        # Context, not a target: the least any Python verifier does, parse each line once.
        parse_cmd = [sys.executable, "-c", PARSE_ONLY, str(export / "entries.jsonl")]
        verify_times, floor_times, parse_times = [], [], []
        for _ in range(args.repeats):
            floor_times.append(_timed(floor_cmd))
            parse_times.append(_timed(parse_cmd))
            verify_times.append(_timed(verify_cmd))
        verify_best, floor_best = min(verify_times), min(floor_times)
        parse_best = min(parse_times)
        print(f"python {platform.python_version()} on {platform.machine()}, "
              f"{os.cpu_count()} CPUs, best of {args.repeats}")  # fmt: skip
        print(f"gateway-verify : {verify_best:8.2f} s  {entries / verify_best:12,.0f} entries/s")
        print(f"sha256sum      : {floor_best:8.2f} s  {entries / floor_best:12,.0f} entries/s")
        print(f"json.loads only: {parse_best:8.2f} s  {entries / parse_best:12,.0f} entries/s")
        ratio = verify_best / floor_best
        print(f"ratio          : gateway-verify takes {ratio:.1f}x as long as sha256sum")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The soak on several hosts (bench/scaleout.py, issue 19), small: a few posts with workers,
a web server and the scheduler killed, across eight network namespaces behind HAProxy. Runs
only when asked (``GATEWAY_TEST_SCALEOUT=1``: it takes several minutes, so ``./run test`` leaves
it out), as root with ip, socat and haproxy installed (it makes network namespaces); otherwise
skipped. Nothing may be lost, doubled or early, and every namespace must be gone afterwards."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from scaleout import BUSY, PREFIX  # noqa: E402
from soak import MUST_ROWS  # noqa: E402

POSTS = 20
FAULTS = "worker-kill=4,web-kill=2,scheduler-kill=2,redis-host-loss=2"
RUN_TIMEOUT_SECONDS = 480
pytestmark = [
    pytest.mark.timeout(RUN_TIMEOUT_SECONDS + 60),
    pytest.mark.skipif(
        os.environ.get("GATEWAY_TEST_SCALEOUT") != "1",
        reason="a bench run of several minutes: set GATEWAY_TEST_SCALEOUT=1 to include it",
    ),
    pytest.mark.skipif(
        os.geteuid() != 0 or not all(shutil.which(t) for t in ("ip", "socat", "haproxy")),
        reason="needs root (network namespaces), ip, socat and haproxy",
    ),
]


def _namespaces() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(PREFIX + "-")]


def test_several_hosts_lose_and_double_nothing_and_leave_nothing(tmp_path):
    out = tmp_path / "scaleout.json"
    argv = [sys.executable, str(ROOT / "bench" / "scaleout.py"), "--posts", str(POSTS)]
    argv += ["--faults", FAULTS, "--seed", "19", "--drain", "150", "--json", str(out)]
    run = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS
    )
    if run.returncode == BUSY:
        pytest.skip("another scale-out run holds the namespaces")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    report = json.loads(out.read_text())
    problems = {row: report["must_be_zero"][row] for row in MUST_ROWS}
    assert {row: found for row, found in problems.items() if found} == {}
    assert report["log_verifies"]
    assert report["deliveries"] == POSTS * 3
    # The web server killed was started again, and so was the scheduler.
    assert "scheduler" in report["restarts"]
    assert any(name.startswith("web") for name in report["restarts"])
    assert _namespaces() == []

"""The short fault-injection soak (issue 19): bench/soak.py with a few hundred posts and a
subset of its faults, on its own PostgreSQL database, its own redis-server and real gateway
processes. Nothing may be lost, doubled or early, nothing left stuck, and the exported publish
log must verify with gateway-verify.

Emergency posts, so that the test does not depend on the hour it runs at. The soak runs as its
own process (the same code as ``python bench/soak.py``): it starts and kills a dozen processes
and changes its environment, none of which belongs inside pytest's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from soak import MUST_ROWS, QUICK_FAULTS, parse_faults  # noqa: E402

POSTS = 200
SEED = 19
#: The soak stops by itself; this only stops a hung one (it takes about 3 minutes here).
SOAK_TIMEOUT_SECONDS = 540
# Whichever test runs first waits for the soak.
pytestmark = pytest.mark.timeout(SOAK_TIMEOUT_SECONDS + 60)


@pytest.fixture(scope="module")
def soak(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("soak") / "soak.json"
    argv = [sys.executable, str(ROOT / "bench" / "soak.py"), "--posts", str(POSTS)]
    argv += ["--faults", QUICK_FAULTS, "--seed", str(SEED), "--emergency"]
    argv += ["--pg-url", PG_ADMIN_URL, "--json", str(out)]
    run = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=SOAK_TIMEOUT_SECONDS
    )
    assert run.returncode in (0, 1), run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(out.read_text())
    report["stdout"] = run.stdout
    report["returncode"] = run.returncode
    return report


def test_every_planned_fault_was_injected(soak):
    planned = {e["kind"] for e in soak["events"]}
    assert planned == set(parse_faults(QUICK_FAULTS))
    assert soak["injector_errors"] == []
    # The processes killed were started again, and Redis came back empty.
    assert {"redis", "fake", "scheduler"} <= set(soak["restarts"])


@pytest.mark.parametrize("row", MUST_ROWS)
def test_nothing_lost_doubled_early_or_stuck(soak, row):
    assert soak["must_be_zero"][row] == [], soak["stdout"][-4000:]


def test_every_delivery_is_accounted_for(soak):
    counts = soak["counts"]
    assert soak["deliveries"] == POSTS * 3
    assert sum(counts.values()) == soak["deliveries"]
    assert counts["published exactly once"] > 0


def test_the_exported_log_verifies(soak):
    assert soak["log_verifies"], soak["verify_output"]
    assert soak["ok"] and soak["returncode"] == 0


def test_the_soak_catches_an_early_and_doubled_post(tmp_path):
    """The reconciliation is not vacuous: a copy of a post put on the page before its time
    (by someone else, as no gateway fault can be arranged to) is found early and doubled, and
    the soak fails."""
    out = tmp_path / "soak.json"
    argv = [sys.executable, str(ROOT / "bench" / "soak.py"), "--posts", "10", "--window", "20"]
    argv += ["--faults", "planted-early", "--emergency", "--pg-url", PG_ADMIN_URL]
    argv += ["--json", str(out), "--drain", "120"]
    run = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=SOAK_TIMEOUT_SECONDS
    )
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(out.read_text())
    assert len(report["must_be_zero"]["early"]) == 1
    assert len(report["must_be_zero"]["doubled"]) == 1
    assert "facebook" in report["must_be_zero"]["doubled"][0]
    assert report["log_verifies"]

"""The daylight-saving soak (issue 19): bench/soak.py --dst, a few posts due across the next
change of the clocks in Europe/London, with the gateway's clock moved there
(GATEWAY_CLOCK_OFFSET_SECONDS, gateway/clock.py) in every process and the fake platform's moved
alike, workers and the scheduler killed on the way. Nothing may go out early, twice or not at
all, every stored due time must be the instant approved, and the officers' form's rule must
hold that night: in March the skipped hour refused and the times either side mapped to GMT and
BST; in October the repeated hour refused, so posts there come with their UTC offset.

Run as its own process, as tests/reliability/test_soak.py does, and for the same reasons.
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

from soak import DST_PROBES, MUST_ROWS  # noqa: E402

POSTS = 16
FAULTS = "worker-kill=4,kill-after=2,scheduler-kill=2,second-scheduler=2"
#: The soak stops by itself (about 3 minutes here, most of it starting the stack before the
#: moved clock reaches the window); this only stops a hung one.
SOAK_TIMEOUT_SECONDS = 480
pytestmark = pytest.mark.timeout(SOAK_TIMEOUT_SECONDS + 60)


@pytest.fixture(scope="module", params=["march", "october"])
def soak(request, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("soak-dst") / "soak.json"
    argv = [sys.executable, str(ROOT / "bench" / "soak.py"), "--posts", str(POSTS)]
    argv += ["--dst", request.param, "--faults", FAULTS, "--seed", "19", "--drain", "150"]
    argv += ["--pg-url", PG_ADMIN_URL, "--json", str(out)]
    run = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=SOAK_TIMEOUT_SECONDS
    )
    assert run.returncode in (0, 1), run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(out.read_text())
    report["stdout"] = run.stdout
    report["returncode"] = run.returncode
    return report


def test_nothing_lost_doubled_early_or_stuck_across_the_change(soak):
    problems = {row: soak["must_be_zero"][row] for row in MUST_ROWS if soak["must_be_zero"][row]}
    assert problems == {}, soak["stdout"][-4000:]
    assert soak["log_verifies"], soak["verify_output"]
    assert soak["ok"] and soak["returncode"] == 0
    counts = soak["counts"]
    assert counts.get("published exactly once", 0) + counts.get("held for a person", 0) == (
        POSTS * 3
    )


def test_the_posts_fall_due_on_both_sides_of_the_change(soak):
    from datetime import datetime

    change = datetime.fromisoformat(soak["dst"]["change"])
    sides = [datetime.fromisoformat(local) < change for local, _how in soak["dst"]["local"]]
    assert len(sides) == POSTS and any(sides) and not all(sides)
    # The clock was really moved: the publish log's times are that night's.
    assert abs(soak["clock_offset"]) > 3600


def test_the_forms_rule_held_that_night(soak):
    month = soak["dst"]["month"]
    assert len(soak["dst"]["probes"]) == len(DST_PROBES[month])
    hows = {how for _local, how in soak["dst"]["local"]}
    if month == "march":
        # 00:59 GMT is followed by 02:00 BST: every time either side is one a person can type.
        assert hows == {"wall clock (the form)"}
        assert any("01:30: skipped" in probe for probe in soak["dst"]["probes"])
    else:
        # 01:00-01:59 happens twice: the form refuses the bare time, the API takes an offset.
        assert hows == {"with its offset (the API; the form refuses it)"}
        assert any("01:30: repeated" in probe for probe in soak["dst"]["probes"])

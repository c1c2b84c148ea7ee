"""The verifier runs on an auditor's machine: standard library and cryptography only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("flask", "sqlalchemy", "redis", "rq", "psycopg", "werkzeug", "jinja2", "requests")

PROBE = """
import json, sys
import gateway.verify, gateway.transparency.export, gateway.transparency.verifier
import gateway.transparency.demo
loaded = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps(loaded))
"""


def test_importing_the_verifier_loads_no_app_libraries():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out))
    assert not loaded & set(FORBIDDEN), loaded & set(FORBIDDEN)
    assert "cryptography" in loaded
    stdlib = set(sys.stdlib_module_names) | {"gateway", "cryptography", "_cffi_backend"}
    outside = {name for name in loaded if name not in stdlib and not name.startswith("_")}
    assert outside == set(), outside


def test_the_console_module_runs_as_a_subprocess(export_dir):
    done = subprocess.run(
        [sys.executable, "-m", "gateway.verify", str(export_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("OK: the whole export")
    (export_dir / "entries.jsonl").write_bytes(b"\xff\n")
    done = subprocess.run(
        [sys.executable, "-m", "gateway.verify", str(export_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stdout.startswith("FAILED: entry 0: invalid UTF-8 at byte 0")
    assert "Traceback" not in done.stdout + done.stderr

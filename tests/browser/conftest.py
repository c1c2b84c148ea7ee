"""Browser tests: the gateway served over HTTP on loopback, driven by Debian's Chromium through
Playwright's Python package (never ``playwright install``: the browser is the system's)."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.conftest import _counter, _pg_admin, _pg_url

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("GATEWAY_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
#: Flags for a quiet, reproducible headless Chromium in a container (no sandbox: we are root).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LONDON = ZoneInfo("Europe/London")
NOW = datetime(2027, 3, 9, 10, 0, tzinfo=LONDON)
#: axe-core impacts that fail a page (issue 6: "no violation of impact serious or critical").
FAILING_IMPACTS = {"serious", "critical"}


@pytest.fixture
def database_url(pg_template):
    """PostgreSQL only: the browser journey is slow, and PostgreSQL is what councils run; the
    form tests in tests/web cover SQLite."""
    name = f"gw_b_{os.getpid()}_{next(_counter)}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    yield _pg_url(name)
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: ./run test installs Debian's chromium")
    if not AXE.exists():
        pytest.fail("node_modules/axe-core is missing: ./run test runs npm ci")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def screenshots(tmp_path):
    """Where screenshots go: docs/screenshots when GATEWAY_SCREENSHOTS=1 (to refresh the
    README's pictures), else the test's temporary folder, so a test run leaves git clean."""
    if os.environ.get("GATEWAY_SCREENSHOTS") == "1":
        folder = ROOT / "docs" / "screenshots"
    else:
        folder = tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Axe:
    def __init__(self):
        self.source = AXE.read_text()
        self.failures: dict[str, list] = {}

    def check(self, page, name: str) -> list:
        # Runtime.evaluate is not subject to the page's Content-Security-Policy, so the page is
        # checked exactly as served (no bypass_csp).
        page.evaluate(self.source)
        result = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        bad = [v for v in result if v.get("impact") in FAILING_IMPACTS]
        if bad:
            self.failures[name] = [
                {
                    "id": v["id"],
                    "impact": v["impact"],
                    "help": v["help"],
                    "nodes": [n["html"][:200] for n in v["nodes"][:3]],
                }
                for v in bad
            ]
        return bad

    def assert_clean(self):
        assert not self.failures, json.dumps(self.failures, indent=1)


@pytest.fixture
def axe():
    return Axe()

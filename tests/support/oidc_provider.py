"""A real OpenID provider for the tests (issue 16): the npm package ``oidc-provider`` on
loopback, started from tests/oidc/provider.mjs with accounts, clients and spoiled answers the
test controls through a JSON file the provider re-reads at every request."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
from joserfc.jwk import RSAKey

from tests.support.network import free_port

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_JS = ROOT / "tests" / "oidc" / "provider.mjs"
CLIENT_ID = "publishing-gateway"
CLIENT_SECRET = "a-test-client-secret-never-logged-0123456789"
REDIRECT_URI = "https://localhost/sign-in/oidc/callback"
GROUP_OFFICERS = "9a1c0f3e-officers"
GROUP_DUTY = "4b7d2e10-duty"
GROUP_ADMINS = "77e0aa21-admins"
#: An account's password at the test provider.
IDP_PASSWORD = "provider-password"


def default_accounts() -> dict:
    return {
        "alice": {
            "password": IDP_PASSWORD,
            "sub": "sub-alice-0001",
            "email": "alice.jones@harbourside.gov.uk",
            "email_verified": True,
            "name": "Alice Jones",
            "groups": [],
        },
        "bob": {
            "password": IDP_PASSWORD,
            "sub": "sub-bob-0002",
            "email": "bob.smith@harbourside.gov.uk",
            "email_verified": True,
            "name": "Bob Smith",
            "groups": [GROUP_OFFICERS],
        },
    }


class OpenIdProvider:
    """The oidc-provider process, and the state file it re-reads at every request."""

    def __init__(self, folder: Path, redirect_uri: str = REDIRECT_URI) -> None:
        self.folder = folder
        self.redirect_uri = redirect_uri
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.state_path = folder / "state.json"
        self.keys_path = folder / "keys.json"
        provider_key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig"})
        # Another key with the same key id: what a forger who read the JWKS would sign with.
        foreign_key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig"})
        self.keys_path.write_text(
            json.dumps(
                {
                    "provider": provider_key.as_dict(private=True),
                    "foreign": foreign_key.as_dict(private=True),
                }
            )
        )
        self.process: subprocess.Popen | None = None
        self.reset()

    def _write(self, state: dict) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.state_path)  # never half a file for the provider to read

    def state(self) -> dict:
        return json.loads(self.state_path.read_text())

    def reset(self) -> None:
        self._write(
            {
                "clients": [
                    {
                        "client_id": CLIENT_ID,
                        "client_secret": CLIENT_SECRET,
                        "redirect_uris": [self.redirect_uri],
                        "grant_types": ["authorization_code"],
                        "response_types": ["code"],
                    }
                ],
                "accounts": default_accounts(),
                "tamper": None,
            }
        )

    def set_account(self, login: str, **changes) -> None:
        state = self.state()
        state["accounts"].setdefault(login, {"password": IDP_PASSWORD}).update(changes)
        self._write(state)

    def tamper(self, how: str | None) -> None:
        state = self.state()
        state["tamper"] = how
        self._write(state)

    def start(self) -> None:
        node = shutil.which("node")
        if node is None:
            pytest.fail("node is missing: the OpenID provider runs on Node.js")
        if not (ROOT / "node_modules" / "oidc-provider").exists():
            pytest.fail("node_modules/oidc-provider is missing: run npm ci")
        env = {
            "PATH": os.environ.get("PATH", ""),
            "OIDC_PORT": str(self.port),
            "OIDC_STATE": str(self.state_path),
            "OIDC_KEYS": str(self.keys_path),
            "NODE_ENV": "test",
        }
        self.log = open(self.folder / "provider.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [node, str(PROVIDER_JS)], cwd=ROOT, env=env, stdout=self.log, stderr=self.log
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail("the OpenID provider stopped: " + self.log_text())
            try:
                if requests.get(self.issuer + "/.well-known/openid-configuration", timeout=2).ok:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        pytest.fail("the OpenID provider did not start: " + self.log_text())

    def log_text(self) -> str:
        return (self.folder / "provider.log").read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if getattr(self, "log", None):
            self.log.close()

    @contextlib.contextmanager
    def down(self):
        """The provider is not answering inside the block; it is back afterwards."""
        self.stop()
        try:
            yield
        finally:
            self.start()

"""A real OpenID provider on loopback (the npm package ``oidc-provider``, started from
tests/oidc/provider.mjs) and a gateway configured to sign in with it.

The browser's side is split as it is in life: a ``requests`` session talks to the provider
(its login and consent forms, its redirects), the Flask test client is the same browser at the
gateway, and the gateway itself talks to the provider over real HTTP (discovery, the token
endpoint, the JWKS) through Authlib.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from bs4 import BeautifulSoup
from joserfc.jwk import RSAKey
from sqlalchemy import select

from tests.support.network import free_port

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_JS = Path(__file__).with_name("provider.mjs")
CLIENT_ID = "publishing-gateway"
CLIENT_SECRET = "a-test-client-secret-never-logged-0123456789"
REDIRECT_URI = "https://localhost/sign-in/oidc/callback"
PROVIDER_NAME = "Harbourside Council account"
GROUP_OFFICERS = "9a1c0f3e-officers"
GROUP_DUTY = "4b7d2e10-duty"
GROUP_ADMINS = "77e0aa21-admins"
ROLE_GROUPS = {GROUP_OFFICERS: "officer", GROUP_DUTY: ["duty_officer"], GROUP_ADMINS: "admin"}
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


class TestProvider:
    """The oidc-provider process, and the state file it re-reads at every request."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
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
                        "redirect_uris": [REDIRECT_URI],
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


@pytest.fixture(scope="session")
def idp_process(tmp_path_factory):
    provider = TestProvider(tmp_path_factory.mktemp("oidc-provider"))
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def idp(idp_process):
    """The provider, with its accounts as default_accounts() and nothing tampered with."""
    idp_process.reset()
    if idp_process.process is None:
        idp_process.start()
    yield idp_process
    idp_process.reset()


@pytest.fixture
def oidc_env() -> dict[str, str]:
    """The settings a council would set (tests may change them before ``app`` is made)."""
    return {
        "GATEWAY_OIDC_CLIENT_ID": CLIENT_ID,
        "GATEWAY_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "GATEWAY_OIDC_PROVIDER_NAME": PROVIDER_NAME,
        "GATEWAY_OIDC_ROLE_GROUPS": json.dumps(ROLE_GROUPS),
        "GATEWAY_OIDC_TIMEOUT_SECONDS": "5",
    }


@pytest.fixture
def app(idp, oidc_env, database_url, tmp_path, redis_conn, monkeypatch):
    monkeypatch.setenv("GATEWAY_OIDC_ISSUER", idp.issuer)
    for name, value in oidc_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GATEWAY_INSTANCE_PATH", str(tmp_path / "instance"))
    for name in ("DATABASE_URL", "REDIS_URL", "GATEWAY_ENV", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    from gateway.app import create_app
    from tests.conftest import _config

    app = create_app(_config(database_url, tmp_path / "instance"))
    yield app
    with app.app_context():
        from gateway.extensions import db

        db.session.remove()
        db.engine.dispose()


def _form(html: str):
    form = BeautifulSoup(html, "html.parser").find("form")
    assert form is not None, html[:500]
    return form


class SsoBrowser:
    """One person's browser: ``requests`` at the provider, the Flask test client at the
    gateway (the same cookies each side would hold)."""

    def __init__(self, client, provider: TestProvider) -> None:
        self.client = client
        self.provider = provider
        self.at_provider = requests.Session()

    def begin(self, next_path: str | None = None) -> str:
        """Press "Sign in with ..." and return the provider URL the gateway sends us to."""
        url = "/sign-in/oidc" + (f"?next={next_path}" if next_path else "")
        response = self.client.get(url)
        assert response.status_code == 302, response.get_data(as_text=True)[:800]
        return response.headers["Location"]

    def at_idp(self, authorize_url: str, login: str, password: str = IDP_PASSWORD) -> str:
        """Sign in at the provider (login, consent) and return the gateway callback URL it
        redirects the browser to (not yet followed)."""
        url = authorize_url
        for _ in range(12):
            response = self.at_provider.get(url, allow_redirects=False, timeout=10)
            while response.is_redirect:
                url = urljoin(url, response.headers["Location"])
                if url.startswith("https://localhost/"):
                    return url
                response = self.at_provider.get(url, allow_redirects=False, timeout=10)
            assert response.status_code == 200, response.text[:500]
            form = _form(response.text)
            data = {"login": login, "password": password} if form.find("input") else {}
            response = self.at_provider.post(
                urljoin(url, form["action"]), data=data, allow_redirects=False, timeout=10
            )
            assert response.is_redirect, response.text[:500]
            url = urljoin(url, response.headers["Location"])
            if url.startswith("https://localhost/"):
                return url
        raise AssertionError("the provider never sent the browser back to the gateway")

    def callback(self, callback_url: str):
        parts = urlsplit(callback_url)
        return self.client.get(parts.path + "?" + parts.query)

    def sign_in(self, login: str, next_path: str | None = None):
        return self.callback(self.at_idp(self.begin(next_path), login))


@pytest.fixture
def sso(client, idp):
    return SsoBrowser(client, idp)


@pytest.fixture
def another_sso(app, idp):
    """A second person's browser."""
    client = app.test_client()
    client.environ_base["HTTP_REFERER"] = "https://localhost/"
    return SsoBrowser(client, idp)


def entries(app, action: str | None = None):
    """The publish log's entries (action and decoded leaf), oldest first."""
    from gateway.extensions import db
    from gateway.models import AuditEntry

    with app.app_context():
        query = select(AuditEntry).order_by(AuditEntry.seq)
        if action:
            query = query.where(AuditEntry.action == action)
        return [(e.action, json.loads(bytes(e.leaf))) for e in db.session.scalars(query)]

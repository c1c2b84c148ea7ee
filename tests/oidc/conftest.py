"""A real OpenID provider on loopback (the npm package ``oidc-provider``, started from
tests/oidc/provider.mjs) and a gateway configured to sign in with it.

The browser's side is split as it is in life: a ``requests`` session talks to the provider
(its login and consent forms, its redirects), the Flask test client is the same browser at the
gateway, and the gateway itself talks to the provider over real HTTP (discovery, the token
endpoint, the JWKS) through Authlib.
"""

from __future__ import annotations

import json
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from bs4 import BeautifulSoup
from sqlalchemy import select

from tests.support.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    GROUP_ADMINS,
    GROUP_DUTY,
    GROUP_OFFICERS,
    IDP_PASSWORD,
    OpenIdProvider,
    default_accounts,
)

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "GROUP_ADMINS",
    "GROUP_DUTY",
    "GROUP_OFFICERS",
    "IDP_PASSWORD",
    "default_accounts",
]
PROVIDER_NAME = "Harbourside Council account"
ROLE_GROUPS = {GROUP_OFFICERS: "officer", GROUP_DUTY: ["duty_officer"], GROUP_ADMINS: "admin"}


@pytest.fixture(scope="session")
def idp_process(tmp_path_factory):
    provider = OpenIdProvider(tmp_path_factory.mktemp("oidc-provider"))
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

    def __init__(self, client, provider: OpenIdProvider) -> None:
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

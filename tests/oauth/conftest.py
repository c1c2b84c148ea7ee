"""Connect with X against the fake platform over real HTTP: its consent page approved or
cancelled by a requests session (as a browser would), the gateway through its test client."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
import requests
from bs4 import BeautifulSoup
from sqlalchemy import select

from fakeplatform.client import FakePlatformControl
from fakeplatform.server import serve_in_thread
from gateway.credentials import decrypt_credentials
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import AuditEntry, Channel
from gateway.oauth.x import CALLBACK_PATH
from tests.conftest import AuthActions
from tests.publishing.conftest import clock, officers  # noqa: F401 - fixtures, found by name
from tests.web.helpers import get, submit

#: Where the tests' gateway says it is (GATEWAY_PUBLIC_URL): the callback registered at X.
PUBLIC_URL = "https://gateway.test"
CLIENT_ID = "Z2F0ZXdheS10ZXN0LWNsaWVudA"
CLIENT_SECRET = "gateway-test-client-secret-0123456789"  # nosec B105 - the fake's only
COUNCIL_X = "1500000000000000101"
OTHER_X = "1500000000000000202"
#: The fake's registration needs OAuth 1.0a keys too; these accounts never use them.
_UNUSED_OAUTH1 = {
    "consumer_key": "unused-ck",
    "consumer_secret": "unused-cs",
    "access_token": "unused-at",
    "access_token_secret": "unused-ats",
}


@pytest.fixture(scope="session")
def fake_server():
    base_url, stop = serve_in_thread()
    yield base_url
    stop()


class FakeX(FakePlatformControl):
    def register_app(self, *, client_secret: str | None = CLIENT_SECRET) -> None:
        body = {
            "client_id": CLIENT_ID,
            "client_secret": client_secret,
            "redirect_uris": [PUBLIC_URL + CALLBACK_PATH],
        }
        self._send("POST", "/_fake/x/oauth2/apps", json=body)

    def stats(self) -> dict:
        return self._send("GET", "/_fake/x/oauth2/stats")

    def revoke_account(self, account_id: str, kind: str | None = None) -> int:
        body = {"account_id": account_id, **({"kind": kind} if kind else {})}
        return self._send("POST", "/_fake/x/oauth2/revoke", json=body)["revoked"]

    def expire_access_tokens(self, account_id: str) -> int:
        body = {"account_id": account_id, "in_seconds": 0}
        return self._send("POST", "/_fake/x/oauth2/expire", json=body)["expiring"]


@pytest.fixture
def fake_x(app, fake_server):
    control = FakeX(fake_server)
    control.reset()
    control.register_account(
        "x", COUNCIL_X, dict(_UNUSED_OAUTH1), name="Anytown Council", username="anytowncouncil"
    )
    control.register_account(
        "x",
        OTHER_X,
        {**_UNUSED_OAUTH1, "access_token": "unused-at-2"},
        name="Someone Else",
        username="someoneelse",
    )
    control.register_app()
    app.config.update(
        X_CLIENT_ID=CLIENT_ID,
        X_CLIENT_SECRET=CLIENT_SECRET,
        PUBLIC_URL=PUBLIC_URL,
        PLATFORM_ALLOWED_HOSTS=("127.0.0.1",),
    )
    yield control
    control.clear_faults()
    control.close()


@pytest.fixture
def admin(app, client, clock):  # noqa: F811 - the publishing clock fixture
    AuthActions(app, client).sign_in_as(Role.ADMIN)
    return client


class Browser:
    """What the person's browser does at X: open the consent page, pick an account, press a
    button; returns where X sends it back to (the gateway's callback)."""

    def __init__(self) -> None:
        self.session = requests.Session()
        self.pages: list[str] = []

    def decide(self, authorize_url: str, account_id: str, decision: str = "allow") -> str:
        page = self.session.get(authorize_url, timeout=10)
        assert page.status_code == 200, page.text
        self.pages.append(page.text)
        soup = BeautifulSoup(page.text, "html.parser")
        form = soup.find("form")
        request_id = form.find("input", attrs={"name": "request_id"})["value"]
        base = "{0.scheme}://{0.netloc}".format(urlsplit(authorize_url))
        answer = self.session.post(
            base + form["action"],
            data={"request_id": request_id, "account_id": account_id, "decision": decision},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code in (302, 303), answer.text
        return answer.headers["Location"]


def start_connect(admin_client, fake_server: str, display_name: str = "Council on X") -> str:
    """The admin's "Connect with X" form; returns the X authorize address it sends them to."""
    page = get(admin_client, "/admin/channels/connect/x")
    sent = submit(admin_client, page, {"display_name": display_name, "base_url": fake_server})
    assert sent.status == 302, sent.text()
    return sent.response.headers["Location"]


def start_reconnect(admin_client, channel_id: int) -> str:
    page = get(admin_client, f"/admin/channels/{channel_id}")
    sent = submit(admin_client, page, action=f"/admin/channels/{channel_id}/connect/x")
    assert sent.status == 302, sent.text()
    return sent.response.headers["Location"]


def come_back(admin_client, location: str):
    """Follow X's redirect to the gateway's callback (the test client serves PUBLIC_URL)."""
    assert location.startswith(PUBLIC_URL + CALLBACK_PATH), location
    return admin_client.get(location[len(PUBLIC_URL) :])


def connect(admin_client, fake_server: str, account_id: str = COUNCIL_X, **kwargs) -> int:
    """The whole flow, approved; returns the new channel's id."""
    location = Browser().decide(start_connect(admin_client, fake_server, **kwargs), account_id)
    answer = come_back(admin_client, location)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return int(re.search(r"/admin/channels/(\d+)$", answer.headers["Location"]).group(1))


def stored(app, channel_id: int) -> dict[str, str]:
    with app.app_context():
        channel = db.session.get(Channel, channel_id)
        return decrypt_credentials(channel.id, channel.credentials_encrypted)


def audit(app, action: str | None = None) -> list[dict]:
    with app.app_context():
        query = select(AuditEntry).order_by(AuditEntry.seq)
        if action:
            query = query.where(AuditEntry.action == action)
        return [json.loads(bytes(r.leaf)) for r in db.session.scalars(query)]


def audit_text(app) -> str:
    with app.app_context():
        return "\n".join(bytes(r.leaf).decode() for r in db.session.scalars(select(AuditEntry)))

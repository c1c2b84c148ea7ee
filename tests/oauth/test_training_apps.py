"""Training (`gateway up`): the fake started with --demo accepts the demo X and Facebook apps
with callbacks on the gateway's address, so a trainee's "Connect with X" and "Connect with
Facebook" work against it with the demo accounts (issue 15)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from fakeplatform.app import create_app as create_fake
from fakeplatform.demo import (
    DEMO_ACCOUNTS,
    DEMO_FACEBOOK_APP,
    DEMO_FACEBOOK_PERSON,
    DEMO_X_APP,
    register_demo_apps,
)
from fakeplatform.server import serve_in_thread
from fakeplatform.state import FakeState, account_from_json
from tests.oauth.conftest import PUBLIC_URL, Browser, come_back, start_connect, stored


@pytest.fixture
def demo_fake(app):
    state = FakeState()
    for entry in DEMO_ACCOUNTS:
        state.add_account(account_from_json(entry))
    register_demo_apps(state, PUBLIC_URL)
    base_url, stop = serve_in_thread(app=create_fake(state))
    app.config.update(
        X_CLIENT_ID=DEMO_X_APP["client_id"],
        X_CLIENT_SECRET=DEMO_X_APP["client_secret"],
        FACEBOOK_APP_ID=DEMO_FACEBOOK_APP["app_id"],
        FACEBOOK_APP_SECRET=DEMO_FACEBOOK_APP["app_secret"],
        PUBLIC_URL=PUBLIC_URL,
        PLATFORM_ALLOWED_HOSTS=("127.0.0.1",),
    )
    yield base_url
    stop()


def test_a_trainee_connects_the_demo_x_account_with_the_demo_app(app, admin, demo_fake):
    x_account = next(a for a in DEMO_ACCOUNTS if a["platform"] == "x")["account_id"]
    location = Browser().decide(start_connect(admin, demo_fake), x_account)
    answer = come_back(admin, location)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    channel_id = int(urlsplit(answer.headers["Location"]).path.rsplit("/", 1)[1])
    assert stored(app, channel_id)["auth"] == "oauth2"


def test_the_demo_person_runs_the_demo_page_and_its_instagram():
    pages = {a["account_id"] for a in DEMO_ACCOUNTS if a["platform"] == "facebook"}
    instagram = {a["account_id"] for a in DEMO_ACCOUNTS if a["platform"] == "instagram"}
    assert set(DEMO_FACEBOOK_PERSON["pages"]) == pages
    assert set(DEMO_FACEBOOK_PERSON["instagram"].values()) == instagram


def test_the_fakeplatform_command_takes_the_gateway_address():
    from gateway.cli.fakeplatform import fakeplatform

    result = CliRunner().invoke(fakeplatform, ["--help"])
    assert result.exit_code == 0 and "--gateway-url" in result.output

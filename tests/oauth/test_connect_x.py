"""Connect with X (issue 15): OAuth 2.0 with PKCE against the fake, every refusal stores
nothing, reconnecting keeps the channel and refuses another account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import requests
from sqlalchemy import func, select

from gateway.extensions import db
from gateway.models import Channel
from gateway.oauth.x import Grant
from tests.oauth.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    COUNCIL_X,
    OTHER_X,
    PUBLIC_URL,
    Browser,
    audit,
    come_back,
    connect,
    start_connect,
    start_reconnect,
    stored,
)
from tests.web.helpers import Page, get


def _channels(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Channel))


def _refusal(response) -> str:
    page = Page(response)
    assert page.status == 400, page.text()[:300]
    page.check_shape()
    return page.soup.select_one("#connect-problem").get_text(" ", strip=True)


def test_the_page_shows_the_callback_to_register_and_the_button_asks_x_with_pkce(
    app, admin, fake_x, fake_server
):
    page = get(admin, "/admin/channels/connect/x")
    assert page.soup.select_one("#redirect-uri").get_text() == (
        PUBLIC_URL + "/admin/channels/connect/x/callback"
    )
    url = start_connect(admin, fake_server)
    assert url.startswith(fake_server + "/i/oauth2/authorize?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["scope"].split() == [
        "tweet.write",
        "tweet.read",
        "users.read",
        "media.write",
        "offline.access",
    ]
    assert query["state"] and CLIENT_SECRET not in url


def test_the_admin_connects_a_new_channel_and_its_tokens_are_stored_encrypted(
    app, admin, fake_x, fake_server
):
    channel_id = connect(admin, fake_server)
    with app.app_context():
        channel = db.session.get(Channel, channel_id)
        assert channel.external_account_id == COUNCIL_X
        assert channel.display_name == "Council on X"
        assert channel.auth_method == "oauth2"
        assert channel.token_scopes.split() == [
            "tweet.write",
            "tweet.read",
            "users.read",
            "media.write",
            "offline.access",
        ]
        left = channel.token_expires_at - datetime.now(UTC)
        assert timedelta(hours=1, minutes=59) < left <= timedelta(hours=2)
        blob = bytes(channel.credentials_encrypted)
    creds = stored(app, channel_id)
    assert creds["auth"] == "oauth2" and creds["access_token"] and creds["refresh_token"]
    assert creds["access_token"].encode() not in blob
    entry = audit(app, "channel.connected")[-1]
    assert COUNCIL_X in str(entry) and "tweet.write" in str(entry)
    page = get(admin, f"/admin/channels/{channel_id}")
    text = page.text()
    assert "Connected with X (OAuth 2.0)" in text and "offline.access" in text
    assert creds["access_token"] not in page.html and creds["refresh_token"] not in page.html
    # The channel works: "Test the connection" asks X who it is with the new token.
    tested = admin.post(
        f"/admin/channels/{channel_id}/test",
        data={"csrf_token": page.soup.select_one("input[name=csrf_token]")["value"]},
    )
    assert tested.status_code == 302


def test_cancel_at_x_stores_nothing_and_says_so(app, admin, fake_x, fake_server):
    location = Browser().decide(start_connect(admin, fake_server), COUNCIL_X, decision="cancel")
    assert "error=access_denied" in location
    message = _refusal(come_back(admin, location))
    assert "cancelled" in message and "Nothing was changed" in message
    assert _channels(app) == 0
    assert fake_x.stats()["live_access_tokens"] == 0


def test_a_state_that_was_never_issued_is_refused(app, admin, fake_x, fake_server):
    location = Browser().decide(start_connect(admin, fake_server), COUNCIL_X)
    forged = location.replace("state=", "state=forged")
    message = _refusal(come_back(admin, forged))
    assert "does not match a connection started here" in message
    assert _channels(app) == 0


def test_a_callback_in_another_admins_session_is_refused(app, admin, fake_x, fake_server, client):
    from tests.conftest import AuthActions

    location = Browser().decide(start_connect(admin, fake_server), COUNCIL_X)
    other = app.test_client()
    other.environ_base["HTTP_REFERER"] = "https://localhost/"
    from gateway.domain.roles import Role

    AuthActions(app, other).sign_in_as(Role.ADMIN)
    message = _refusal(come_back(other, location))
    assert "another session" in message
    assert _channels(app) == 0
    # ...and the state is spent: the right session cannot use it afterwards either.
    assert "already used" in _refusal(come_back(admin, location))


def test_a_replayed_callback_is_refused_and_changes_nothing(app, admin, fake_x, fake_server):
    location = Browser().decide(start_connect(admin, fake_server), COUNCIL_X)
    first = come_back(admin, location)
    assert first.status_code == 302
    channel_id = int(first.headers["Location"].rsplit("/", 1)[1])
    before = stored(app, channel_id)
    message = _refusal(come_back(admin, location))
    assert "already used" in message
    assert stored(app, channel_id) == before and _channels(app) == 1


def test_the_fake_refuses_a_code_used_twice_or_a_wrong_verifier_as_x_does(
    app, admin, fake_x, fake_server
):
    """The token endpoint itself, below the gateway's own state check."""
    import base64
    import hashlib
    import secrets
    from urllib.parse import parse_qs, urlencode, urlsplit

    verifier = secrets.token_urlsafe(64)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    redirect_uri = PUBLIC_URL + "/admin/channels/connect/x/callback"
    query = urlencode(
        {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": redirect_uri,
            "scope": "tweet.read users.read offline.access",
            "state": "s1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )

    def code() -> str:
        location = Browser().decide(f"{fake_server}/i/oauth2/authorize?{query}", COUNCIL_X)
        return parse_qs(urlsplit(location).query)["code"][0]

    def exchange(the_code: str, the_verifier: str) -> requests.Response:
        return requests.post(
            f"{fake_server}/2/oauth2/token",
            data={
                "code": the_code,
                "grant_type": "authorization_code",
                "client_id": CLIENT_ID,
                "redirect_uri": redirect_uri,
                "code_verifier": the_verifier,
            },
            auth=(CLIENT_ID, CLIENT_SECRET),
            timeout=10,
        )

    wrong = exchange(code(), "not-the-verifier")
    assert wrong.status_code == 400
    assert wrong.json()["error_description"] == (
        "Value passed for the code verifier did not match the code challenge."
    )
    good_code = code()
    first = exchange(good_code, verifier)
    assert first.status_code == 200 and first.json()["expires_in"] == 7200
    again = exchange(good_code, verifier)
    assert again.status_code == 400
    assert again.json() == {
        "error": "invalid_request",
        "error_description": "Value passed for the authorization code was invalid.",
    }
    # The code seen twice revokes what it gave (RFC 6749 section 4.1.2).
    me = requests.get(
        f"{fake_server}/2/users/me",
        headers={"Authorization": f"Bearer {first.json()['access_token']}"},
        timeout=10,
    )
    assert me.status_code == 401 and me.json()["title"] == "Unauthorized"
    no_secret = requests.post(
        f"{fake_server}/2/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": "x", "client_id": CLIENT_ID},
        timeout=10,
    )
    assert no_secret.status_code == 401 and no_secret.json()["error"] == "unauthorized_client"


def test_reconnecting_keeps_the_channel_and_replaces_its_tokens(app, admin, fake_x, fake_server):
    channel_id = connect(admin, fake_server)
    before = stored(app, channel_id)
    location = Browser().decide(start_reconnect(admin, channel_id), COUNCIL_X)
    answer = come_back(admin, location)
    assert answer.status_code == 302
    after = stored(app, channel_id)
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] and after["refresh_token"] != before["refresh_token"]
    assert _channels(app) == 1
    entry = audit(app, "channel.reconnected")[-1]
    assert "tweet.write" in str(entry) and after["access_token"] not in str(entry)


def test_a_grant_for_another_account_is_refused_and_nothing_changes(
    app, admin, fake_x, fake_server
):
    channel_id = connect(admin, fake_server)
    before = stored(app, channel_id)
    with app.app_context():
        version = db.session.get(Channel, channel_id).token_version
    location = Browser().decide(start_reconnect(admin, channel_id), OTHER_X)
    message = _refusal(come_back(admin, location))
    assert "@someoneelse" in message and "not this channel's account" in message
    assert stored(app, channel_id) == before
    with app.app_context():
        assert db.session.get(Channel, channel_id).token_version == version
    assert audit(app, "channel.reconnect_refused")
    # The unwanted grant was given back to X: only the channel's own tokens are live.
    assert fake_x.stats()["live_access_tokens"] == 1


def test_a_grant_without_a_refresh_token_keeps_the_one_stored():
    grant = Grant(
        account_id="1",
        username="u",
        name="U",
        scopes="tweet.read",
        expires_at=datetime.now(UTC),
        access_token="new-access",
        refresh_token="",
    )
    kept = grant.credentials({"refresh_token": "old-refresh", "access_token": "old"})
    assert kept["refresh_token"] == "old-refresh" and kept["access_token"] == "new-access"


def test_disconnecting_gives_the_tokens_back_and_holds_the_channel(app, admin, fake_x, fake_server):
    channel_id = connect(admin, fake_server)
    page = get(admin, f"/admin/channels/{channel_id}")
    from tests.web.helpers import submit

    done = submit(admin, page, action=f"/admin/channels/{channel_id}/disconnect/x")
    assert done.status == 302
    with app.app_context():
        channel = db.session.get(Channel, channel_id)
        assert channel.credentials_encrypted is None and channel.needs_reauthorisation
    assert fake_x.stats()["live_access_tokens"] == 0
    assert fake_x.stats()["live_refresh_tokens"] == 0
    assert audit(app, "channel.disconnected")

"""Connect with Facebook (issue 15): Facebook Login with the fake's granular choices (some
Pages ticked, some not, an Instagram account without its Page, a Page the person cannot post
to), only what can publish offered, the Page's own token stored, and a grant revoked at
Facebook found by the daily check."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from gateway.extensions import db
from gateway.models import Channel, Delivery
from gateway.oauth import health
from gateway.oauth.facebook import CALLBACK_PATH
from gateway.publishing import attempt
from tests.oauth.conftest import PUBLIC_URL, audit, audit_text, stored
from tests.publishing.conftest import approved_post
from tests.web.helpers import Page, get, submit

APP_ID = "1234567890123456"
APP_SECRET = "fb-app-secret-for-the-fake-0123456789"  # nosec B105 - the fake's only
PERSON = "10220000000000001"
PAGE_A, PAGE_B, PAGE_C = "104000000000101", "104000000000202", "104000000000303"
IG_A, IG_B = "17841400000000101", "17841400000000202"


@pytest.fixture
def fake_fb(app, fake_server):
    control = requests.Session()

    def send(path, body):
        answer = control.post(fake_server + path, json=body, timeout=10)
        assert answer.status_code in (200, 201), answer.text

    control.post(fake_server + "/_fake/reset", timeout=10)
    for platform, account, name in (
        ("facebook", PAGE_A, "Anytown Council"),
        ("facebook", PAGE_B, "Anytown Libraries"),
        ("facebook", PAGE_C, "Anytown Museum"),
        ("instagram", IG_A, "anytowncouncil"),
        ("instagram", IG_B, "anytownlibraries"),
    ):
        send(
            "/_fake/accounts",
            {
                "platform": platform,
                "account_id": account,
                "name": name,
                "username": name,
                "credentials": {"access_token": f"unused-{account}"},
            },
        )
    send(
        "/_fake/facebook/apps",
        {"app_id": APP_ID, "app_secret": APP_SECRET, "redirect_uris": [PUBLIC_URL + CALLBACK_PATH]},
    )
    send(
        "/_fake/facebook/people",
        {
            "user_id": PERSON,
            "name": "Sam Comms",
            "pages": {
                PAGE_A: ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
                PAGE_B: ["CREATE_CONTENT", "MODERATE"],
                PAGE_C: ["MODERATE", "ANALYZE"],
            },
            "instagram": {PAGE_A: IG_A, PAGE_B: IG_B},
        },
    )
    app.config.update(
        FACEBOOK_APP_ID=APP_ID,
        FACEBOOK_APP_SECRET=APP_SECRET,
        PUBLIC_URL=PUBLIC_URL,
        PLATFORM_ALLOWED_HOSTS=("127.0.0.1",),
    )
    yield send
    control.close()


def _start(admin, fake_server) -> str:
    page = get(admin, "/admin/channels/connect/facebook")
    assert page.soup.select_one("#redirect-uri").get_text() == PUBLIC_URL + CALLBACK_PATH
    sent = submit(admin, page, {"base_url": fake_server})
    assert sent.status == 302, sent.text()
    url = sent.response.headers["Location"]
    assert url.startswith(fake_server + "/v23.0/dialog/oauth?")
    assert "code_challenge=" in url and "code_challenge_method=S256" in url
    return url


def _at_facebook(url, *, pages=(), instagram=(), decision="allow") -> str:
    browser = requests.Session()
    dialog = browser.get(url, timeout=10)
    assert dialog.status_code == 200, dialog.text
    form = BeautifulSoup(dialog.text, "html.parser").find("form")
    base = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    answer = browser.post(
        base + form["action"],
        data={
            "request_id": form.find("input", attrs={"name": "request_id"})["value"],
            "user_id": PERSON,
            "page": list(pages),
            "instagram": list(instagram),
            "decision": decision,
        },
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code in (302, 303), answer.text
    return answer.headers["Location"]


def _back(admin, location):
    assert location.startswith(PUBLIC_URL + CALLBACK_PATH), location
    return admin.get(location[len(PUBLIC_URL) :])


def _channels(app) -> dict[tuple[str, str], int]:
    with app.app_context():
        return {
            (c.platform, c.external_account_id): c.id for c in db.session.scalars(select(Channel))
        }


def _choose(admin, fake_server, **ticked) -> Page:
    answer = _back(admin, _at_facebook(_start(admin, fake_server), **ticked))
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return get(admin, urlsplit(answer.headers["Location"]).path)


def test_only_ticked_pages_with_create_content_are_offered_and_get_their_page_token(
    app, admin, fake_fb, fake_server, officers, clock
):
    choose = _choose(admin, fake_server, pages=(PAGE_A, PAGE_C), instagram=(IG_A, IG_B))
    soup = choose.soup
    boxes = {b["value"]: b for b in soup.select("input[name=account]")}
    assert set(boxes) == {
        f"facebook:{PAGE_A}",
        f"instagram:{IG_A}",
        f"facebook:{PAGE_B}",
        f"instagram:{IG_B}",
        f"facebook:{PAGE_C}",
    }
    assert not boxes[f"facebook:{PAGE_A}"].has_attr("disabled")
    assert not boxes[f"instagram:{IG_A}"].has_attr("disabled")
    for key in (f"facebook:{PAGE_B}", f"instagram:{IG_B}", f"facebook:{PAGE_C}"):
        assert boxes[key].has_attr("disabled"), key
    why = {w["data-why"]: w.get_text(" ", strip=True) for w in soup.select("[data-why]")}
    assert "Not chosen in Facebook's dialog" in why[f"facebook:{PAGE_B}"]
    assert "Its Facebook Page, Anytown Libraries, was not chosen" in why[f"instagram:{IG_B}"]
    assert "cannot create content" in why[f"facebook:{PAGE_C}"]
    assert "MODERATE, ANALYZE" in why[f"facebook:{PAGE_C}"]

    done = submit(admin, choose, {"account": [f"facebook:{PAGE_A}", f"instagram:{IG_A}"]})
    assert done.status == 302, done.text()
    channels = _channels(app)
    assert set(channels) == {("facebook", PAGE_A), ("instagram", IG_A)}
    page_token = stored(app, channels[("facebook", PAGE_A)])["access_token"]
    assert page_token.startswith("EAAPage")  # the Page's own token, not the user's
    assert stored(app, channels[("instagram", IG_A)])["access_token"] == page_token
    assert page_token not in audit_text(app) and page_token not in choose.html
    assert len(audit(app, "channel.connected")) == 2

    # The Page publishes with its token, and the Instagram account answers the daily check.
    post_id = approved_post(app, officers, [channels[("facebook", PAGE_A)]], text="Bins: Monday.")
    clock.shift(timedelta(seconds=2))
    with app.app_context():
        delivery_id = db.session.scalar(select(Delivery.id).where(Delivery.post_id == post_id))
        assert attempt.publish(delivery_id) == "published"
        assert health.check_channel(channels[("instagram", IG_A)]) == "ok"
        db.session.remove()
    posts = requests.get(f"{fake_server}/_fake/posts?platform=facebook", timeout=10).json()
    assert [(p["account_id"], p["text"]) for p in posts["posts"]] == [(PAGE_A, "Bins: Monday.")]


def test_a_disabled_choice_cannot_be_posted_past_the_page(app, admin, fake_fb, fake_server):
    choose = _choose(admin, fake_server, pages=(PAGE_A,), instagram=())
    token = choose.soup.select_one("input[name=csrf_token]")["value"]
    path = urlsplit(choose.response.request.url).path
    answer = admin.post(path, data={"csrf_token": token, "account": f"facebook:{PAGE_B}"})
    assert answer.status_code == 400
    assert "You chose no Page" in answer.get_data(as_text=True)
    assert _channels(app) == {}


def test_cancel_at_facebook_stores_nothing(app, admin, fake_fb, fake_server):
    location = _at_facebook(_start(admin, fake_server), decision="cancel")
    assert "error_reason=user_denied" in location
    answer = _back(admin, location)
    assert answer.status_code == 400
    assert "cancelled" in answer.get_data(as_text=True)
    assert _channels(app) == {}


def test_a_grant_revoked_at_facebook_is_found_and_reconnecting_keeps_the_channel(
    app, admin, fake_fb, fake_server
):
    choose = _choose(admin, fake_server, pages=(PAGE_A,), instagram=())
    submit(admin, choose, {"account": [f"facebook:{PAGE_A}"]})
    channel_id = _channels(app)[("facebook", PAGE_A)]
    fake_fb("/_fake/facebook/revoke", {"user_id": PERSON, "subcode": 460})
    with app.app_context():
        assert health.check_channel(channel_id) == "needs reconnecting"
        channel = db.session.get(Channel, channel_id)
        assert channel.needs_reauthorisation
        assert "changed their password" in channel.health_problem
        db.session.remove()
    again = _choose(admin, fake_server, pages=(PAGE_A,), instagram=())
    assert "reconnects" in again.text()
    submit(admin, again, {"account": [f"facebook:{PAGE_A}"]})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Channel)) == 1
        assert not db.session.get(Channel, channel_id).needs_reauthorisation
        assert health.check_channel(channel_id) == "ok"
    assert audit(app, "channel.reconnected")


def test_no_facebook_token_reaches_a_log_line_a_page_or_the_publish_log(
    app, admin, fake_fb, fake_server, caplog
):
    """Every token the fake issues (user tokens, short and long-lived, and Page tokens) starts
    with EAA, as Meta's do: none may appear anywhere the gateway writes or shows."""
    import logging
    import re

    caplog.set_level(logging.DEBUG)
    choose = _choose(admin, fake_server, pages=(PAGE_A,), instagram=(IG_A,))
    submit(admin, choose, {"account": [f"facebook:{PAGE_A}", f"instagram:{IG_A}"]})
    pages = [choose.html, get(admin, "/admin/channels").html]
    for channel_id in _channels(app).values():
        pages.append(get(admin, f"/admin/channels/{channel_id}").html)
    everything = "\n".join([caplog.text, audit_text(app), *pages])
    assert "oauth/access_token" in caplog.text  # the capture saw the token requests
    assert re.findall(r"EAA[A-Za-z0-9_-]{16,}", everything) == []


def _refusal(answer) -> str:
    assert answer.status_code == 400, answer.get_data(as_text=True)[:300]
    return BeautifulSoup(answer.get_data(as_text=True), "html.parser").main.get_text(" ")


def test_a_forged_state_a_replayed_callback_and_another_session_are_refused(
    app, admin, fake_fb, fake_server
):
    """Each a clear message and nothing stored (issue 15's Tests: a state mismatch, a replayed
    code): the gateway's own state check, before Facebook is asked for a token."""
    from gateway.domain.roles import Role
    from tests.conftest import AuthActions

    location = _at_facebook(_start(admin, fake_server), pages=(PAGE_A,))
    forged = _refusal(_back(admin, location.replace("state=", "state=forged")))
    assert "does not match a connection started here" in forged

    other = app.test_client()
    other.environ_base["HTTP_REFERER"] = "https://localhost/"
    AuthActions(app, other).sign_in_as(Role.ADMIN)
    location = _at_facebook(_start(admin, fake_server), pages=(PAGE_A,))
    assert "another session" in _refusal(_back(other, location))
    assert "already used" in _refusal(_back(admin, location))  # and the state is spent

    location = _at_facebook(_start(admin, fake_server), pages=(PAGE_A,))
    first = _back(admin, location)
    assert first.status_code == 302
    assert "already used" in _refusal(_back(admin, location))
    assert _channels(app) == {}  # nothing is a channel until the admin chooses
    # The choice itself is taken once: a second submission changes nothing.
    choose = get(admin, urlsplit(first.headers["Location"]).path)
    assert submit(admin, choose, {"account": [f"facebook:{PAGE_A}"]}).status == 302
    again = submit(admin, choose, {"account": [f"facebook:{PAGE_A}"]})
    assert again.status == 400 and "already made" in again.text()
    assert len(audit(app, "channel.connected")) == 1


def test_the_fake_refuses_a_code_used_twice_as_graph_does(fake_fb, fake_server):
    location = _at_facebook(_start_without_gateway(fake_server), pages=(PAGE_A,))
    code = dict(parse_qsl(urlsplit(location).query))["code"]
    params = {
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "redirect_uri": PUBLIC_URL + CALLBACK_PATH,
        "code": code,
    }
    first = requests.get(fake_server + "/v23.0/oauth/access_token", params=params, timeout=10)
    assert first.status_code == 200, first.text
    second = requests.get(fake_server + "/v23.0/oauth/access_token", params=params, timeout=10)
    error = second.json()["error"]
    assert (error["code"], error["error_subcode"]) == (100, 36009)


def _start_without_gateway(fake_server) -> str:
    query = {
        "client_id": APP_ID,
        "redirect_uri": PUBLIC_URL + CALLBACK_PATH,
        "state": "a-state",
        "response_type": "code",
        "scope": "pages_show_list,pages_manage_posts",
    }
    return f"{fake_server}/v23.0/dialog/oauth?{urlencode(query)}"

"""Graph's debug_token as a Facebook or Instagram channel's token health (issue 15): a token
entered by hand is described (its kind, expiry, who granted it, its permissions) and shown on
the channel's page; a user token where the Page's own is needed (postiz-app PR #1881) is
refused at entry and, found by the daily check, makes the channel "needs reconnecting" before
any post is attempted."""

# ruff: noqa: F811 - fake_fb is a fixture imported from test_connect_facebook, used by name

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests
from sqlalchemy import select

from gateway.extensions import db
from gateway.models import Channel, Delivery
from gateway.oauth import graph_token, health
from gateway.publishing import attempt
from tests.oauth.conftest import audit, audit_text, stored
from tests.oauth.test_connect_facebook import (  # noqa: F401 - fake_fb is a fixture
    APP_ID,
    APP_SECRET,
    IG_A,
    PAGE_A,
    PERSON,
    _channels,
    _choose,
    fake_fb,
)
from tests.publishing.conftest import approved_post, deliveries
from tests.support.channels import ChannelSpec, add_channels
from tests.web.helpers import get, submit

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# What the answer means: pure --------------------------------------------------------------------
def test_the_documented_answer_is_read_and_a_user_token_cannot_publish_to_a_page():
    # The example of "Access Tokens: Debugging and Error Handling" (developers.facebook.com).
    data = {
        "app_id": "138483919580948",
        "type": "USER",
        "application": "Social Cafe",
        "data_access_expires_at": 1576687825,
        "expires_at": 1570820400,
        "is_valid": True,
        "scopes": ["pages_show_list", "public_profile"],
        "granular_scopes": [{"scope": "pages_show_list", "target_ids": ["1", "2"]}],
        "user_id": "10215241773831025",
    }
    info = graph_token.read(data)
    assert info.type == "USER" and info.user_id == "10215241773831025"
    assert info.expires_at == datetime(2019, 10, 11, 19, 0, tzinfo=UTC)
    assert info.data_access_expires_at == datetime.fromtimestamp(1576687825, UTC)
    assert info.scopes == ("pages_show_list", "public_profile")
    before_expiry = datetime(2019, 10, 1, tzinfo=UTC)
    why = graph_token.problem(info, "facebook", "1", before_expiry)
    assert why is not None and "user token, not the Page's own token" in why
    assert "expired" in graph_token.problem(info, "facebook", "1", NOW)


def test_a_page_token_that_never_expires_with_its_permissions_can_publish():
    page = {
        "type": "PAGE",
        "expires_at": 0,
        "is_valid": True,
        "profile_id": "104",
        "user_id": "102",
        "scopes": ["pages_manage_posts", "instagram_basic", "instagram_content_publish"],
    }
    info = graph_token.read(page)
    assert info.expires_at is None and info.profile_id == "104"
    assert graph_token.problem(info, "facebook", "104", NOW) is None
    assert graph_token.problem(info, "instagram", "17841", NOW) is None
    assert "another Page's (id 104)" in graph_token.problem(info, "facebook", "999", NOW)
    bare = graph_token.read({**page, "scopes": ["pages_show_list"]})
    assert graph_token.problem(bare, "facebook", "104", NOW) == (
        "the token was not granted pages_manage_posts"
    )
    assert "instagram_basic, instagram_content_publish" in graph_token.problem(
        bare, "instagram", "17841", NOW
    )


def test_a_token_graph_cannot_read_is_not_valid_with_graphs_reason():
    info = graph_token.read(
        {
            "error": {"code": 190, "subcode": 460, "message": "The session was invalidated"},
            "is_valid": False,
            "scopes": [],
        }
    )
    assert not info.is_valid
    assert graph_token.problem(info, "facebook", "1", NOW) == (
        "Facebook says the token is no longer valid: The session was invalidated (subcode 460)"
    )


# Against the fake, through facebook-sdk -------------------------------------------------------
def _mint(fake_server, kind: str, **extra) -> str:
    answer = requests.post(
        fake_server + "/_fake/facebook/tokens",
        json={"app_id": APP_ID, "user_id": PERSON, "type": kind, **extra},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["access_token"]


def test_the_fakes_debug_token_answers_in_graphs_shape(fake_fb, fake_server):
    token = _mint(fake_server, "PAGE", page_id=PAGE_A)
    answer = requests.get(
        fake_server + "/v23.0/debug_token",
        params={"input_token": token, "access_token": f"{APP_ID}|{APP_SECRET}"},
        timeout=10,
    ).json()["data"]
    assert set(answer) >= {
        "app_id",
        "type",
        "application",
        "data_access_expires_at",
        "expires_at",
        "is_valid",
        "issued_at",
        "scopes",
        "granular_scopes",
        "user_id",
        "profile_id",
    }
    assert (answer["type"], answer["expires_at"], answer["profile_id"]) == ("PAGE", 0, PAGE_A)
    garbage = requests.get(
        fake_server + "/v23.0/debug_token",
        params={"input_token": "not-a-token", "access_token": f"{APP_ID}|{APP_SECRET}"},
        timeout=10,
    ).json()["data"]
    assert garbage["is_valid"] is False and garbage["error"]["code"] == 190
    wrong_app = requests.get(
        fake_server + "/v23.0/debug_token",
        params={"input_token": token, "access_token": f"{APP_ID}|wrong-secret"},
        timeout=10,
    )
    assert wrong_app.status_code == 400 and wrong_app.json()["error"]["code"] == 190


def _add_by_hand(admin, fake_server, platform: str, account: str, token: str):
    return submit(
        admin,
        get(admin, "/admin/channels/new"),
        {
            "platform": platform,
            "display_name": f"Anytown on {platform}",
            "external_account_id": account,
            "base_url": fake_server,
            "access_token": token,
        },
    )


def test_a_user_token_entered_by_hand_for_a_page_is_refused_and_nothing_is_stored(
    app, admin, fake_fb, fake_server
):
    user_token = _mint(fake_server, "USER")
    refused = _add_by_hand(admin, fake_server, "facebook", PAGE_A, user_token)
    assert refused.status == 400
    error = refused.field_error("access_token")
    assert "user token, not the Page's own token" in error
    assert user_token not in refused.html
    assert _channels(app) == {}


def test_a_page_token_entered_by_hand_is_described_on_its_page_and_reminded_before_expiry(
    app, admin, fake_fb, fake_server, inbox
):
    from tests.oauth.conftest import PUBLIC_URL

    app.config["PUBLIC_URL"] = PUBLIC_URL
    token = _mint(fake_server, "PAGE", page_id=PAGE_A, expires_in=5 * 24 * 3600)
    added = _add_by_hand(admin, fake_server, "facebook", PAGE_A, token)
    assert added.status == 302, added.text()
    channel_id = _channels(app)[("facebook", PAGE_A)]
    with app.app_context():
        channel = db.session.get(Channel, channel_id)
        assert channel.token_type == "PAGE" and channel.token_user_id == PERSON
        assert channel.token_expires_at is not None and channel.data_access_expires_at
        assert "pages_manage_posts" in channel.token_scopes.split()
    page = get(admin, f"/admin/channels/{channel_id}")
    health_list = page.soup.select_one("#token-health").get_text(" ", strip=True)
    assert "The Page’s own token" in health_list
    assert f"the person with id {PERSON}" in health_list
    assert "pages_manage_posts" in health_list
    assert token not in page.html and token not in audit_text(app)
    # Its expiry, read from debug_token, is known: the admins are told within 7 days of it.
    with app.app_context():
        assert health.send_expiry_reminders() == 1
    assert any("must be reconnected within 7 days" in m["Subject"] for _, m in inbox.messages)


def test_the_daily_check_finds_a_user_token_where_the_pages_is_needed_before_any_post(
    app, fake_fb, fake_server, officers, clock
):
    """The postiz-app #1881 failure: a channel holding the person's token instead of the
    Page's answers GET /me, so only debug_token says it cannot publish."""
    app.config["PLATFORM_ALLOWED_HOSTS"] = ("127.0.0.1",)
    user_token = _mint(fake_server, "USER", expires_in=60 * 24 * 3600)
    (channel_id,) = add_channels(
        app,
        fake_server,
        [ChannelSpec("facebook", "Anytown Page", PAGE_A, {"access_token": user_token})],
    ).values()
    post_id = approved_post(
        app, officers, [channel_id], text="The leisure centre reopens.", due_in=timedelta(0)
    )
    with app.app_context():
        assert health.check_channel(channel_id) == "needs reconnecting"
        channel = db.session.get(Channel, channel_id)
        assert channel.needs_reauthorisation and channel.token_type == "USER"
        assert "not the Page's own token" in channel.health_problem
        assert channel.token_user_id == PERSON
        db.session.remove()
    (entry,) = audit(app, "channel.needs_reauthorisation")
    assert "user token" in entry["payload"]["reason"]
    clock.shift(timedelta(seconds=2))
    with app.app_context():
        delivery_id = db.session.scalar(select(Delivery.id).where(Delivery.post_id == post_id))
        assert attempt.publish(delivery_id) == "held: channel"
        db.session.remove()
    assert deliveries(app, post_id)[0][1] == "held"
    posts = requests.get(f"{fake_server}/_fake/posts?platform=facebook", timeout=10).json()
    assert posts["posts"] == []


def test_a_connected_page_and_its_instagram_account_are_described_at_connection(
    app, admin, fake_fb, fake_server
):
    choose = _choose(admin, fake_server, pages=(PAGE_A,), instagram=(IG_A,))
    submit(admin, choose, {"account": [f"facebook:{PAGE_A}", f"instagram:{IG_A}"]})
    channels = _channels(app)
    with app.app_context():
        for key in (("facebook", PAGE_A), ("instagram", IG_A)):
            channel = db.session.get(Channel, channels[key])
            assert channel.token_type == "PAGE" and channel.token_user_id == PERSON, key
            assert channel.token_expires_at is None  # a Page token from a long-lived one
            assert health.check_channel(channel.id) == "ok"
    assert stored(app, channels[("facebook", PAGE_A)])["access_token"].startswith("EAAPage")


def test_without_the_meta_app_the_page_says_the_token_is_not_described_yet(app, admin, fake_server):
    app.config.update(FACEBOOK_APP_ID=None, FACEBOOK_APP_SECRET=None)
    (channel_id,) = add_channels(
        app, fake_server, [ChannelSpec("facebook", "Page", "1", {"access_token": "t" * 30})]
    ).values()
    page = get(admin, f"/admin/channels/{channel_id}")
    assert "Not described yet" in page.soup.select_one("#token-health").get_text()

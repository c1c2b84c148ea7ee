"""Token health (issue 15): the daily check finds a grant revoked at X at once, tells the admins
and the authors of waiting posts once, nothing is attempted against the channel, and
reconnecting lets its waiting post go out."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from gateway.extensions import db
from gateway.models import Channel, Delivery
from gateway.oauth import health
from gateway.publishing import attempt
from tests.oauth.conftest import (
    COUNCIL_X,
    PUBLIC_URL,
    Browser,
    audit,
    come_back,
    connect,
    start_reconnect,
)
from tests.publishing.conftest import approved_post, deliveries
from tests.web.helpers import get
from workers.worker import build_worker


def _check(app) -> dict[str, int]:
    with app.app_context():
        try:
            return health.check_due_channels()
        finally:
            db.session.remove()


def _reconnect_emails(inbox) -> list:
    return [m for _, m in inbox.messages if "needs reconnecting" in m["Subject"]]


def _due_for_its_daily_check(app, channel_id: int) -> None:
    with app.app_context():
        channel = db.session.get(Channel, channel_id)
        channel.health_checked_at -= health.CHECK_EVERY + timedelta(minutes=1)
        db.session.commit()


def _channel(app, channel_id: int) -> Channel:
    with app.app_context():
        channel = db.session.get(Channel, channel_id)
        db.session.expunge(channel)
        return channel


def test_a_grant_revoked_at_x_is_found_by_one_check_told_once_and_restored_by_reconnecting(
    app, inbox, admin, fake_x, fake_server, officers, clock
):
    app.config["PUBLIC_URL"] = PUBLIC_URL  # the callback X knows (the inbox fixture moved it)
    channel_id = connect(admin, fake_server)
    post_id = approved_post(
        app,
        officers,
        [channel_id],
        text="Swimming lessons resume in April.",
        due_in=timedelta(minutes=5),
    )
    assert fake_x.revoke_account(COUNCIL_X) == 2
    _due_for_its_daily_check(app, channel_id)

    assert _check(app) == {"needs reconnecting": 1}
    channel = _channel(app, channel_id)
    # X's 401 to the access token was met with one refresh (as a publish does), which X
    # refused too: that is what the channel's problem says.
    assert channel.needs_reauthorisation
    assert channel.health_problem.startswith("X refused the refresh token")
    told = _reconnect_emails(inbox)
    recipients = sorted(m["To"] for m in told)
    # One message each: the admin, and the author of the waiting post.
    assert len(recipients) == 2 and "author@council.example" in recipients, recipients
    assert any(r.startswith("admin-") for r in recipients), recipients
    body = told[0].get_content()
    assert f"/admin/channels/{channel_id}" in body and f"/posts/{post_id}" in body
    (entry,) = audit(app, "channel.needs_reauthorisation")
    assert entry["payload"]["external_account_id"] == COUNCIL_X

    # The next check leaves it alone, and a second finding tells nobody again.
    assert _check(app) == {}
    with app.app_context():
        assert not health.mark_needs_reconnecting(channel_id, "found again")
        db.session.commit()
    assert len(_reconnect_emails(inbox)) == 2
    page = get(admin, "/")
    assert page.soup.select_one(f"[data-reconnect='{channel_id}']") is not None
    assert "1 post is waiting for it" in page.text()

    # At its time nothing is sent: the delivery is held without a request to X.
    clock.shift(timedelta(minutes=6))
    with app.app_context():
        delivery_id = db.session.scalar(select(Delivery.id).where(Delivery.post_id == post_id))
        assert attempt.publish(delivery_id) == "held: channel"
    assert fake_x.posts("x", COUNCIL_X) == []
    assert fake_x.stats()["refreshes"] == 0

    # Reconnecting restores the channel and the held post goes out.
    location = Browser().decide(start_reconnect(admin, channel_id), COUNCIL_X)
    assert come_back(admin, location).status_code == 302
    assert not _channel(app, channel_id).needs_reauthorisation
    assert deliveries(app, post_id)[0][1] == "scheduled"
    build_worker(app).work(burst=True)
    assert deliveries(app, post_id)[0][1] == "published"
    assert [p["text"] for p in fake_x.posts("x", COUNCIL_X)] == [
        "Swimming lessons resume in April."
    ]
    assert len(_reconnect_emails(inbox)) == 2  # still only the first finding's


def test_a_channel_added_by_hand_is_first_checked_a_day_later(app, clock):
    from tests.support.channels import ChannelSpec, add_channels

    (channel_id,) = add_channels(
        app, "http://127.0.0.1:9", [ChannelSpec("facebook", "Page", "1", {"access_token": "t"})]
    ).values()
    with app.app_context():
        assert not health.health_sweep(app)
    clock.shift(health.CHECK_EVERY + timedelta(minutes=1))
    with app.app_context():
        assert list(health._due(health.utcnow())) == [channel_id]


def test_the_sweep_queues_one_check_a_day_and_a_working_channel_stays_working(
    app, admin, fake_x, fake_server, clock
):
    channel_id = connect(admin, fake_server)
    # Connecting counts as a check: X has just said whose the token is.
    with app.app_context():
        assert not health.health_sweep(app)
    clock.shift(timedelta(hours=24, minutes=1))  # a day on: due, and the token long expired
    with app.app_context():
        assert health.health_sweep(app)
        assert not health.health_sweep(app)  # the job is queued: not twice
    build_worker(app).work(burst=True)
    channel = _channel(app, channel_id)
    assert not channel.needs_reauthorisation and channel.health_problem is None
    assert channel.health_checked_at is not None
    assert fake_x.stats()["refreshes"] == 1  # the check renewed the expired token first
    with app.app_context():
        assert not health.health_sweep(app)  # checked: nothing due until tomorrow


def test_a_channel_missing_a_scope_needs_reconnecting(app, admin, fake_x, fake_server, clock):
    channel_id = connect(admin, fake_server)
    with app.app_context():
        channel = db.session.get(Channel, channel_id)
        channel.token_scopes = "tweet.read users.read offline.access"
        db.session.commit()
    _due_for_its_daily_check(app, channel_id)
    assert _check(app) == {"needs reconnecting": 1}
    problem = _channel(app, channel_id).health_problem
    assert problem == "the platform did not grant tweet.write, media.write"


def _expiry_emails(inbox) -> list:
    return [m for _, m in inbox.messages if "must be reconnected within" in m["Subject"]]


def _remind(app) -> int:
    with app.app_context():
        try:
            return health.send_expiry_reminders()
        finally:
            db.session.remove()


def test_admins_are_told_7_days_and_1_day_before_a_known_expiry_once_each(app, inbox, auth, clock):
    from gateway.domain.roles import Role
    from tests.support.channels import ChannelSpec, add_channels

    auth.create_user(Role.ADMIN)
    channels = add_channels(
        app,
        "http://127.0.0.1:9",
        [
            ChannelSpec("facebook", "Harbourside Page", "1", {"access_token": "t"}),
            ChannelSpec("x", "Council on X", "2", {"access_token": "a", "refresh_token": "r"}),
        ],
    )
    page_id, x_id = channels.values()
    with app.app_context():
        now = health.utcnow()
        page = db.session.get(Channel, page_id)
        page.token_expires_at = now + timedelta(days=10)  # a token entered with its expiry
        x = db.session.get(Channel, x_id)
        x.auth_method = "oauth2"  # renews itself with its refresh token: never reminded
        x.token_expires_at = now + timedelta(hours=1)
        db.session.commit()

    assert _remind(app) == 0 and _expiry_emails(inbox) == []  # ten days away: nothing yet
    with app.app_context():
        assert not health.reminders_due(health.utcnow())
    clock.shift(timedelta(days=3, hours=1))  # under 7 days left
    with app.app_context():
        assert health.reminders_due(health.utcnow())
        assert health.health_sweep(app)  # the sweep queues the job for the reminder alone
    assert _remind(app) == 1
    assert _remind(app) == 0  # once
    (week,) = _expiry_emails(inbox)
    assert week["Subject"] == "Harbourside Page must be reconnected within 7 days"
    assert f"/admin/channels/{page_id}" in week.get_content()
    assert "cannot renew itself" in week.get_content()
    clock.shift(timedelta(days=6, hours=1))  # under a day left
    assert _remind(app) == 1 and _remind(app) == 0
    assert [m["Subject"] for m in _expiry_emails(inbox)] == [
        "Harbourside Page must be reconnected within 7 days",
        "Harbourside Page must be reconnected within 1 day",
    ]
    entries = audit(app, "channel.token_expiry_reminder")
    assert [e["payload"]["before"] for e in entries] == ["7 days", "1 day"]
    assert {(e["object"]["type"], e["object"]["id"]) for e in entries} == {
        ("channel", str(page_id))
    }
    assert "t" not in {v for e in entries for v in e["payload"].values()}

    # Reconnected with a new expiry: its reminders come again, for the new date.
    with app.app_context():
        db.session.get(Channel, page_id).token_expires_at = health.utcnow() + timedelta(days=5)
        db.session.commit()
    assert _remind(app) == 1
    assert len(_expiry_emails(inbox)) == 3


def test_admins_are_told_before_the_apps_access_to_a_pages_data_ends(app, inbox, auth, clock):
    """A Page token that never expires still stops when Graph's data_access_expires_at passes
    (90 days after the person who granted it last used the app): that is reminded too, and
    the earlier of the two ends is the one named."""
    from gateway.domain.roles import Role
    from tests.support.channels import ChannelSpec, add_channels

    auth.create_user(Role.ADMIN)
    (page_id,) = add_channels(
        app,
        "http://127.0.0.1:9",
        [ChannelSpec("facebook", "Harbourside Page", "1", {"access_token": "t"})],
    ).values()
    with app.app_context():
        now = health.utcnow()
        page = db.session.get(Channel, page_id)
        page.token_expires_at = None  # a Page token: never expires by itself
        page.data_access_expires_at = now + timedelta(days=10)
        db.session.commit()

    assert _remind(app) == 0
    clock.shift(timedelta(days=3, hours=1))
    with app.app_context():
        assert health.reminders_due(health.utcnow())
    assert _remind(app) == 1 and _remind(app) == 0
    (week,) = _expiry_emails(inbox)
    assert week["Subject"] == "Harbourside Page must be reconnected within 7 days"
    body = week.get_content()
    assert "access to the data of Harbourside Page" in body and "90 days" in body
    assert f"/admin/channels/{page_id}" in body
    (entry,) = audit(app, "channel.token_expiry_reminder")
    assert entry["payload"]["what"] == "data_access"
    # A token that ends sooner than the data access is the one named.
    with app.app_context():
        db.session.get(Channel, page_id).token_expires_at = health.utcnow() + timedelta(hours=20)
        db.session.commit()
    assert _remind(app) == 1
    latest = _expiry_emails(inbox)[-1]
    assert latest["Subject"] == "Harbourside Page must be reconnected within 1 day"
    assert "The connection of Harbourside Page" in latest.get_content()
    assert audit(app, "channel.token_expiry_reminder")[-1]["payload"]["what"] == "token"


def test_a_waiting_post_past_its_grace_period_when_reconnected_is_held_not_sent(
    app, admin, fake_x, fake_server, officers, clock
):
    """Reconnecting releases the posts held for it; one whose time is now past the grace
    period (GATEWAY_PUBLISH_GRACE_MINUTES) is held as missed for a person, never sent late."""
    app.config["PUBLISH_GRACE_MINUTES"] = 10  # within the admin's 30 idle minutes
    channel_id = connect(admin, fake_server)
    on_time = approved_post(
        app, officers, [channel_id], text="Market today.", due_in=timedelta(minutes=5)
    )
    assert fake_x.revoke_account(COUNCIL_X) == 2
    _due_for_its_daily_check(app, channel_id)
    assert _check(app) == {"needs reconnecting": 1}
    clock.shift(timedelta(minutes=6))
    with app.app_context():
        delivery_id = db.session.scalar(select(Delivery.id).where(Delivery.post_id == on_time))
        assert attempt.publish(delivery_id) == "held: channel"
    # Reconnected long after the post's time.
    grace = timedelta(minutes=app.config["PUBLISH_GRACE_MINUTES"])
    clock.shift(grace + timedelta(minutes=1))
    location = Browser().decide(start_reconnect(admin, channel_id), COUNCIL_X)
    assert come_back(admin, location).status_code == 302
    assert deliveries(app, on_time)[0][1] == "scheduled"  # released, as every held-for-it post
    build_worker(app).work(burst=True)
    assert deliveries(app, on_time)[0][1] == "held"
    with app.app_context():
        reason = db.session.get(Delivery, delivery_id).held_reason
    assert "grace period" in reason
    assert fake_x.posts("x", COUNCIL_X) == []

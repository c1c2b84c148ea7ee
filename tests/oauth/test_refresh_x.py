"""An X channel connected by OAuth 2.0 publishes, refreshes its two-hour token before it
expires (exactly once however many workers want it), and a revoked grant holds the channel
(issue 15). Tokens never appear in a log line, a page or an audit entry."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import select

from gateway.extensions import db
from gateway.models import Channel, Delivery
from gateway.publishing import attempt
from tests.oauth.conftest import COUNCIL_X, audit, audit_text, connect, stored
from tests.publishing.conftest import approved_post, deliveries
from tests.web.helpers import get

TWO_HOURS = timedelta(hours=2, seconds=5)


def _delivery_ids(app, post_ids: list[int]) -> list[int]:
    with app.app_context():
        return db.session.scalars(
            select(Delivery.id).where(Delivery.post_id.in_(post_ids)).order_by(Delivery.id)
        ).all()


def _publish(app, delivery_id: int) -> str:
    with app.app_context():
        try:
            return attempt.publish(delivery_id)
        finally:
            db.session.remove()


def test_a_connected_channel_publishes_with_its_token_and_refreshes_it_when_it_expires(
    app, admin, fake_x, fake_server, officers, clock
):
    channel_id = connect(admin, fake_server)
    first = approved_post(app, officers, [channel_id], text="Libraries open late on Thursday.")
    clock.shift(timedelta(seconds=2))
    (delivery_id,) = _delivery_ids(app, [first])
    assert _publish(app, delivery_id) == "published"
    assert fake_x.stats()["refreshes"] == 0
    before = stored(app, channel_id)

    clock.shift(TWO_HOURS)  # the access token has expired at X
    second = approved_post(app, officers, [channel_id], text="The tip is closed on Sunday.")
    clock.shift(timedelta(seconds=2))
    (delivery_id,) = _delivery_ids(app, [second])
    assert _publish(app, delivery_id) == "published"
    after = stored(app, channel_id)
    assert fake_x.stats()["refreshes"] == 1
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]  # rotated
    texts = [p["text"] for p in fake_x.posts("x", COUNCIL_X)]
    assert sorted(texts) == ["Libraries open late on Thursday.", "The tip is closed on Sunday."]
    assert audit(app, "channel.token_refreshed")


def test_twelve_workers_across_the_expiry_refresh_once_and_publish_each_post_once(
    app, admin, fake_x, fake_server, officers, clock
):
    channel_id = connect(admin, fake_server)
    posts = [
        approved_post(
            app,
            officers,
            [channel_id],
            text=f"Notice {n}: road closed at noon.",
            due_in=TWO_HOURS,
        )
        for n in range(12)
    ]
    clock.shift(TWO_HOURS + timedelta(seconds=2))  # due, and the token has expired at X
    ids = _delivery_ids(app, posts)
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(ids))

    def worker(delivery_id: int) -> None:
        try:
            barrier.wait()
            results.append(_publish(app, delivery_id))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and results == ["published"] * 12, (errors, results)
    stats = fake_x.stats()
    assert stats["refreshes"] == 1 and stats["refused_refreshes"] == 0, stats
    texts = sorted(p["text"] for p in fake_x.posts("x", COUNCIL_X))
    assert texts == sorted(f"Notice {n}: road closed at noon." for n in range(12))
    outcomes = [e["payload"] for e in audit(app, "delivery.outcome")]
    assert [o["outcome"] for o in outcomes] == ["published"] * 12
    # No 401 (or any other error) reached an outcome: every attempt used a live token.
    assert [(o["error_class"], o["message"]) for o in outcomes] == [(None, None)] * 12
    with app.app_context():
        assert not db.session.get(Channel, channel_id).needs_reauthorisation


def test_a_grant_revoked_at_x_holds_the_posts_and_marks_the_channel(
    app, admin, fake_x, fake_server, officers, clock
):
    channel_id = connect(admin, fake_server)
    assert fake_x.revoke_account(COUNCIL_X) == 2  # the access and the refresh token
    clock.shift(TWO_HOURS)
    post = approved_post(app, officers, [channel_id], text="Parking is free this weekend.")
    clock.shift(timedelta(seconds=2))
    (delivery_id,) = _delivery_ids(app, [post])
    assert _publish(app, delivery_id) == "held"
    assert deliveries(app, post)[0][1] == "held"
    with app.app_context():
        assert db.session.get(Channel, channel_id).needs_reauthorisation
    assert fake_x.posts("x", COUNCIL_X) == []
    refused = audit(app, "channel.token_refresh_failed")
    assert refused and refused[-1]["payload"]["external_account_id"] == COUNCIL_X


def test_tokens_never_appear_in_logs_pages_or_the_publish_log(
    app, admin, fake_x, fake_server, officers, clock, caplog
):
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    pages: list[str] = []
    channel_id = connect(admin, fake_server)
    seen += [stored(app, channel_id)["access_token"], stored(app, channel_id)["refresh_token"]]
    clock.shift(TWO_HOURS)
    post = approved_post(app, officers, [channel_id], text="Council tax bills are on the way.")
    clock.shift(timedelta(seconds=2))
    (delivery_id,) = _delivery_ids(app, [post])
    assert _publish(app, delivery_id) == "published"
    seen += [stored(app, channel_id)["access_token"], stored(app, channel_id)["refresh_token"]]
    # Signed in again: two hours is past the session's idle limit.
    from gateway.domain.roles import Role
    from tests.conftest import AuthActions

    admin = app.test_client()
    admin.environ_base["HTTP_REFERER"] = "https://localhost/"
    AuthActions(app, admin).sign_in_as(Role.ADMIN)
    for url in ("/admin/channels", f"/admin/channels/{channel_id}", "/admin/channels/connect/x"):
        pages.append(get(admin, url).html)
    pages.append(get(admin, f"/posts/{post}").html)
    logged = caplog.text
    everything = "\n".join([logged, audit_text(app), *pages])
    assert len(set(seen)) == 4 and all(len(t) > 20 for t in seen)
    leaked = [t[:6] + "..." for t in seen if t in everything]
    assert leaked == [], leaked
    assert "oauth2/token" in logged or caplog.records  # the capture was really on


# A 401 at publish time: X refused a token the gateway thought had time left ------------------
def _one_post(app, officers, channel_id: int, clock, text: str) -> tuple[int, int]:
    post = approved_post(app, officers, [channel_id], text=text)
    clock.shift(timedelta(seconds=2))
    (delivery_id,) = _delivery_ids(app, [post])
    return post, delivery_id


def test_an_access_token_refused_at_x_is_refreshed_once_and_the_post_goes_out_once(
    app, admin, fake_x, fake_server, officers, clock
):
    channel_id = connect(admin, fake_server)
    before = stored(app, channel_id)
    # Expired at X long before the two hours the gateway was told: X answers 401.
    assert fake_x.expire_access_tokens(COUNCIL_X) == 1
    post, delivery_id = _one_post(app, officers, channel_id, clock, "Road gritting tonight.")
    assert _publish(app, delivery_id) == "published"
    assert [p["text"] for p in fake_x.posts("x", COUNCIL_X)] == ["Road gritting tonight."]
    assert fake_x.stats()["refreshes"] == 1
    after = stored(app, channel_id)
    assert after["access_token"] != before["access_token"]
    (refreshed,) = audit(app, "channel.token_refreshed")
    assert refreshed["payload"]["why"] == "X refused the access token (401)"
    (outcome,) = [e["payload"] for e in audit(app, "delivery.outcome")]
    assert (outcome["outcome"], outcome["error_class"]) == ("published", None)

    # Revoked at X (the refresh token still good): the same, once.
    assert fake_x.revoke_account(COUNCIL_X, kind="access") >= 1
    post, delivery_id = _one_post(app, officers, channel_id, clock, "Bins are a day late.")
    assert _publish(app, delivery_id) == "published"
    assert sorted(p["text"] for p in fake_x.posts("x", COUNCIL_X)) == [
        "Bins are a day late.",
        "Road gritting tonight.",
    ]
    assert fake_x.stats()["refreshes"] == 2
    with app.app_context():
        assert not db.session.get(Channel, channel_id).needs_reauthorisation


def test_workers_refused_together_refresh_once_and_use_the_token_the_first_stored(
    app, admin, fake_x, fake_server, officers, clock
):
    channel_id = connect(admin, fake_server)
    posts = [
        approved_post(
            app,
            officers,
            [channel_id],
            text=f"Notice {n}: the ferry is delayed.",
            due_in=timedelta(minutes=1),
        )
        for n in range(4)
    ]
    clock.shift(timedelta(minutes=1, seconds=2))
    assert fake_x.expire_access_tokens(COUNCIL_X) == 1
    ids = _delivery_ids(app, posts)
    results: list[str] = []
    barrier = threading.Barrier(len(ids))

    def worker(delivery_id: int) -> None:
        barrier.wait()
        results.append(_publish(app, delivery_id))

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["published"] * 4, results
    stats = fake_x.stats()
    assert stats["refreshes"] == 1 and stats["refused_refreshes"] == 0, stats
    texts = sorted(p["text"] for p in fake_x.posts("x", COUNCIL_X))
    assert texts == sorted(f"Notice {n}: the ferry is delayed." for n in range(4))


def test_a_401_whose_refresh_is_refused_too_holds_the_post_and_marks_the_channel_once(
    app, inbox, admin, fake_x, fake_server, officers, clock
):
    from tests.oauth.conftest import PUBLIC_URL

    app.config["PUBLIC_URL"] = PUBLIC_URL
    channel_id = connect(admin, fake_server)
    later = approved_post(
        app, officers, [channel_id], text="Second notice.", due_in=timedelta(minutes=5)
    )
    assert fake_x.revoke_account(COUNCIL_X) == 2  # the access and the refresh token
    post, delivery_id = _one_post(app, officers, channel_id, clock, "Polling cards are out.")
    assert _publish(app, delivery_id) == "held"
    assert fake_x.posts("x", COUNCIL_X) == []
    stats = fake_x.stats()
    assert stats["refreshes"] == 0 and stats["refused_refreshes"] == 1, stats
    with app.app_context():
        channel = db.session.get(Channel, channel_id)
        assert channel.needs_reauthorisation
        delivery = db.session.get(Delivery, delivery_id)
        assert delivery.status == "held"
        assert delivery.held_reason.startswith("The channel needs to be reconnected")
        assert "refresh token" in delivery.held_reason
    assert len(audit(app, "channel.needs_reauthorisation")) == 1
    assert len(audit(app, "channel.token_refresh_failed")) == 1
    told = [m for _, m in inbox.messages if "needs reconnecting" in m["Subject"]]
    assert len(told) == len({m["To"] for m in told}) >= 1  # once each
    # Nothing more is attempted: the next post to it is held without a call to X.
    clock.shift(timedelta(minutes=5))
    (delivery_id,) = _delivery_ids(app, [later])
    assert _publish(app, delivery_id) == "held: channel"
    assert fake_x.stats()["refused_refreshes"] == 1
    assert fake_x.posts("x", COUNCIL_X) == []


def _daily_check(app, channel_id: int) -> str:
    from gateway.oauth import health

    with app.app_context():
        try:
            return health.check_channel(channel_id)
        finally:
            db.session.remove()


def test_the_daily_check_refreshes_a_token_refused_at_x_instead_of_marking_the_channel(
    app, admin, fake_x, fake_server, clock
):
    """The daily check's cheap read meets X's 401 to a token the gateway thought had time
    left: it refreshes once, as a publish does, and the channel stays fine; only a refused
    refresh token marks it."""
    channel_id = connect(admin, fake_server)
    before = stored(app, channel_id)
    assert fake_x.expire_access_tokens(COUNCIL_X) == 1
    assert _daily_check(app, channel_id) == "ok"
    assert fake_x.stats()["refreshes"] == 1
    assert stored(app, channel_id)["access_token"] != before["access_token"]
    (refreshed,) = audit(app, "channel.token_refreshed")
    assert refreshed["payload"]["why"] == "X refused the access token (401)"
    with app.app_context():
        channel = db.session.get(Channel, channel_id)
        assert not channel.needs_reauthorisation and channel.health_problem is None

    assert fake_x.revoke_account(COUNCIL_X) >= 2  # every access and refresh token
    assert _daily_check(app, channel_id) == "needs reconnecting"
    assert fake_x.stats()["refused_refreshes"] == 1
    with app.app_context():
        assert db.session.get(Channel, channel_id).needs_reauthorisation

"""Welsh and English posts go out together, or neither does (issue 18, gateway.publishing.pairs).

Against the fake platform over real HTTP, a burst worker on a real Redis, on SQLite and
PostgreSQL: each layout (one bilingual post, two posts on one channel, each language on its own
channel) publishes both languages; one language refused by the platform, blocked at publish
time, held, or on a channel that cannot take it holds the other; a partner already sent at the
same moment is on the record and the other is held for a person, never failed quietly.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from gateway.extensions import db
from gateway.models import AuditEntry, Channel, Delivery, Election, Post, PostContent
from gateway.posts import service
from tests.platforms.accounts import PAGE_ID, X_ACCOUNT, X_CREDENTIALS
from tests.publishing.conftest import user
from tests.support.channels import ChannelSpec, add_channels
from workers.worker import build_worker

WELSH = "Bydd biniau'n cael eu casglu ddydd Mercher yr wythnos hon."
ENGLISH = "Bins will be collected on Wednesday this week."
#: Together longer than X's 280 (weighted): two posts on one X channel, each within it.
LONG_WELSH = (
    "Bydd y llyfrgell ganolog ar gau ddydd Llun a dydd Mawrth er mwyn gosod silffoedd newydd, "
    "a bydd y llyfrgell symudol yn ymweld â'r sgwâr rhwng deg a phedwar o'r gloch."
)
LONG_ENGLISH = (
    "The central library will be closed on Monday and Tuesday while new shelves are fitted, "
    "and the mobile library will visit the square between ten and four o'clock on both days."
)
#: The Welsh page of a council with separate Welsh and English accounts.
PAGE_ID_CY = "104000000000002"
PAGE_TOKEN_CY = "EAAPageTokenCymraegSecret789"


@pytest.fixture
def bilingual(app):
    app.config["BILINGUAL"] = "cy-en"
    app.config["BILINGUAL_LAYOUT"] = "combined"


@pytest.fixture
def pages(app, fake, fake_server, channels):
    """A Welsh page and an English page (channels' language "cy" and "en"); the English one
    was added first, the Welsh one's post is still made first."""
    fake.register_account("facebook", PAGE_ID_CY, {"access_token": PAGE_TOKEN_CY}, name="Cyngor")
    token = {"access_token": PAGE_TOKEN_CY}
    spec = ChannelSpec("facebook", "Cyngor ar Facebook", PAGE_ID_CY, token)
    welsh, english = add_channels(app, fake_server, [spec])["facebook"], channels["facebook"]
    with app.app_context():
        db.session.get(Channel, welsh).language = "cy"
        db.session.get(Channel, english).language = "en"
        db.session.commit()
    return {"cy": welsh, "en": english}


#: The Welsh X account, beside the English one (X_ACCOUNT).
X_ACCOUNT_CY = "1500000000000000002"
X_CREDENTIALS_CY = {
    **X_CREDENTIALS,
    "access_token": f"{X_ACCOUNT_CY}-at-cymraeg-token",
    "access_token_secret": "ats-cymraeg-secret-token",
}


@pytest.fixture
def x_accounts(app, fake, fake_server, channels):
    """A Welsh and an English X account: X refuses a post for good with a 400."""
    fake.register_account("x", X_ACCOUNT_CY, X_CREDENTIALS_CY, name="Cyngor", username="cyngor")
    spec = ChannelSpec("x", "Cyngor ar X", X_ACCOUNT_CY, X_CREDENTIALS_CY)
    welsh, english = add_channels(app, fake_server, [spec])["x"], channels["x"]
    with app.app_context():
        db.session.get(Channel, welsh).language = "cy"
        db.session.get(Channel, english).language = "en"
        db.session.commit()
    return {"cy": welsh, "en": english}


def approved(app, officers, channel_ids, *, welsh=WELSH, english=ENGLISH) -> int:
    with app.app_context():
        post = service.create_draft(
            user(officers.author),
            text=english,
            text_cy=welsh,
            channel_ids=channel_ids,
            scheduled_at=datetime.now(UTC) + timedelta(seconds=1),
        )
        # Again just before submit's check (the draft's guardrails can take over a second).
        post.scheduled_at = datetime.now(UTC) + timedelta(seconds=1)
        service.submit(post, user(officers.author))
        db.session.commit()
        service.approve(post, user(officers.approver))
        db.session.commit()
        return post.id


def rows(app, post_id) -> list[dict]:
    with app.app_context():
        found = db.session.scalars(
            select(Delivery).where(Delivery.post_id == post_id).order_by(Delivery.id)
        ).all()
        return [
            {
                "id": d.id,
                "language": d.language,
                "channel": d.channel.display_name,
                "status": d.status,
                "held_with_id": d.held_with_id,
                "held_reason": d.held_reason,
                "last_error": d.last_error,
            }
            for d in found
        ]


def run_worker(app):
    build_worker(app).work(burst=True)


class Logged:
    """One publish-log entry as its leaf holds it."""

    def __init__(self, row: AuditEntry) -> None:
        leaf = json.loads(bytes(row.leaf))
        self.object_id = row.object_id
        self.content_sha256 = row.content_sha256
        self.payload = leaf["payload"]


def entries(app, action) -> list[Logged]:
    with app.app_context():
        found = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        ).all()
        return [Logged(row) for row in found]


# Published together, in each layout


def test_one_bilingual_post_where_the_limit_allows_welsh_first(
    app, bilingual, clock, fake, channels, officers
):
    post_id = approved(app, officers, [channels["x"]])
    assert [r["language"] for r in rows(app, post_id)] == ["cy+en"]
    run_worker(app)
    [tweet] = fake.posts("x")
    assert tweet["text"] == f"{WELSH}\n\n{ENGLISH}"
    assert [r["status"] for r in rows(app, post_id)] == ["published"]
    with app.app_context():
        assert db.session.get(Post, post_id).status == "published"


def test_english_first_when_the_council_chooses_it(app, bilingual, clock, fake, channels, officers):
    app.config["BILINGUAL"] = "en-cy"
    post_id = approved(app, officers, [channels["x"]])
    run_worker(app)
    [tweet] = fake.posts("x")
    assert tweet["text"] == f"{ENGLISH}\n\n{WELSH}"
    assert [r["language"] for r in rows(app, post_id)] == ["en+cy"]


def test_too_long_for_one_post_two_posts_go_out_on_the_same_channel(
    app, bilingual, clock, fake, channels, officers
):
    post_id = approved(
        app, officers, [channels["x"], channels["facebook"]], welsh=LONG_WELSH, english=LONG_ENGLISH
    )
    # X cannot take both in one post; Facebook can.
    assert [(r["channel"], r["language"]) for r in rows(app, post_id)] == [
        ("Council on X", "cy"),
        ("Council on X", "en"),
        ("Council Facebook Page", "cy+en"),
    ]
    run_worker(app)
    assert sorted(t["text"] for t in fake.posts("x")) == sorted([LONG_WELSH, LONG_ENGLISH])
    [page_post] = fake.posts("facebook")
    assert page_post["text"] == f"{LONG_WELSH}\n\n{LONG_ENGLISH}"
    assert {r["status"] for r in rows(app, post_id)} == {"published"}


def test_the_separate_layout_always_makes_two_posts(
    app, bilingual, clock, fake, channels, officers
):
    app.config["BILINGUAL_LAYOUT"] = "separate"
    post_id = approved(app, officers, [channels["x"]])
    run_worker(app)
    assert sorted(t["text"] for t in fake.posts("x")) == sorted([WELSH, ENGLISH])
    assert [(r["language"], r["status"]) for r in rows(app, post_id)] == [
        ("cy", "published"),
        ("en", "published"),
    ]


def test_each_language_goes_to_its_own_channel(app, bilingual, clock, fake, pages, officers):
    post_id = approved(app, officers, [pages["cy"], pages["en"]])
    run_worker(app)
    [welsh] = fake.posts("facebook", account_id=PAGE_ID_CY)
    [english] = fake.posts("facebook", account_id=PAGE_ID)
    assert welsh["text"] == WELSH and english["text"] == ENGLISH
    assert [(r["language"], r["status"]) for r in rows(app, post_id)] == [
        ("cy", "published"),
        ("en", "published"),
    ]


# One language stopped holds the other


def test_the_welsh_post_refused_by_the_platform_holds_the_english_one(
    app, bilingual, clock, fake, channels, officers
):
    app.config["BILINGUAL_LAYOUT"] = "separate"
    # The first post X is sent is refused for good (a 400 is never retried): the Welsh one.
    fake.inject_fault("error", platform="x", method="POST", status=400, times=1)
    post_id = approved(app, officers, [channels["x"]])
    run_worker(app)
    assert fake.posts("x") == []  # never out in English only
    welsh, english = rows(app, post_id)
    assert welsh["status"] == "failed" and welsh["language"] == "cy"
    assert english["status"] == "held"
    assert english["held_with_id"] == welsh["id"]
    assert english["held_reason"].startswith(
        "Held with its Welsh post on Council on X, which was refused by the platform ("
    )
    assert "a post never goes out in one language only" in english["held_reason"]
    [held] = [e for e in entries(app, "delivery.held") if e.object_id == str(english["id"])]
    assert held.payload["held_with_id"] == welsh["id"]
    with app.app_context():
        # Waiting for a person, on the dashboard's "Held for a person".
        assert db.session.get(Post, post_id).status == "publishing"


def test_the_english_post_refused_after_the_welsh_went_out_is_held_on_the_record(
    app, bilingual, clock, fake, x_accounts, officers
):
    fake.inject_fault("error", account_id=X_ACCOUNT, method="POST", status=400, times=None)
    post_id = approved(app, officers, [x_accounts["cy"], x_accounts["en"]])
    run_worker(app)
    # The Welsh post went out first and is never deleted; the English one is held, not failed.
    assert [p["text"] for p in fake.posts("x")] == [WELSH]
    welsh, english = rows(app, post_id)
    assert welsh["status"] == "published"
    assert english["status"] == "held"
    assert english["held_reason"].startswith("Refused by the platform: ")
    assert (
        "Its Welsh post on Cyngor ar X was already published at the same moment"
        in (english["held_reason"])
    )
    [alone] = entries(app, "delivery.partner_published_alone")
    assert alone.payload["delivery_id"] == welsh["id"]
    assert alone.payload["partner_id"] == english["id"]
    assert alone.payload["language"] == "cy" and alone.payload["partner_language"] == "en"
    [outcome] = [
        e
        for e in entries(app, "delivery.outcome")
        if e.object_id == str(english["id"]) and e.payload["outcome"] == "failed"
    ]
    assert outcome.payload["language"] == "en"


def test_the_welsh_account_refusing_holds_the_english_account(
    app, bilingual, clock, fake, x_accounts, officers
):
    fake.inject_fault("error", account_id=X_ACCOUNT_CY, method="POST", status=400, times=None)
    post_id = approved(app, officers, [x_accounts["cy"], x_accounts["en"]])
    run_worker(app)
    assert fake.posts("x") == []
    welsh, english = rows(app, post_id)
    assert welsh["status"] == "failed" and welsh["channel"] == "Cyngor ar X"
    assert english["status"] == "held" and english["held_with_id"] == welsh["id"]


def test_one_language_blocked_at_publish_time_holds_the_other(
    app, bilingual, clock, fake, channels, officers
):
    from gateway.models import RegisterPerson

    app.config["BILINGUAL_LAYOUT"] = "separate"
    with app.app_context():
        db.session.add(
            RegisterPerson(name="Margaret Okafor", party="Plaid Cymru", role="councillor", ward="")
        )
        db.session.commit()
    # Only the Welsh text names the councillor.
    post_id = approved(
        app,
        officers,
        [channels["x"]],
        welsh="Agorodd y Cynghorydd Okafor y parc chwarae newydd heddiw.",
        english="The new play park opened today.",
    )
    with app.app_context():
        # An election announced after the approval: a councillor named in the period.
        db.session.add(Election(kind="local", polling_day=date(2027, 4, 1)))
        db.session.commit()
    run_worker(app)
    assert fake.posts() == []
    welsh, english = rows(app, post_id)
    assert welsh["status"] == "blocked"
    assert "Blocked at publish time" in welsh["last_error"]
    assert english["status"] == "held" and english["held_with_id"] == welsh["id"]
    assert "which was blocked at publish time (Blocked at publish time" in english["held_reason"]


def test_an_unknown_outcome_for_the_welsh_post_holds_the_english_one(
    app, bilingual, clock, fake, channels, officers
):
    app.config["BILINGUAL_LAYOUT"] = "separate"
    # The connection drops on the first post: X may or may not have it; the look-up finds
    # nothing, so the Welsh one is held for a person, never sent again blindly.
    fake.inject_fault("drop", platform="x", method="POST", times=1)
    post_id = approved(app, officers, [channels["x"]])
    run_worker(app)
    assert fake.posts("x") == []
    welsh, english = rows(app, post_id)
    assert welsh["status"] == "held" and welsh["held_reason"].startswith("Outcome unknown")
    assert english["status"] == "held" and english["held_with_id"] == welsh["id"]
    assert "which is held for a person (Outcome unknown" in english["held_reason"]


def test_a_languages_channel_that_cannot_take_it_holds_both_before_either_is_sent(
    app, bilingual, clock, fake, pages, officers
):
    post_id = approved(app, officers, [pages["cy"], pages["en"]])
    with app.app_context():
        db.session.get(Channel, pages["en"]).needs_reauthorisation = True
        db.session.commit()
    run_worker(app)
    assert fake.posts() == []
    welsh, english = rows(app, post_id)
    # The Welsh one was claimed first: its English partner's channel could not take it.
    assert welsh["status"] == "held" and welsh["held_with_id"] == english["id"]
    assert "cannot go out now: its channel needs to be reconnected" in welsh["held_reason"]
    assert english["status"] == "held"


def test_an_emergency_post_follows_the_same_rule(app, bilingual, fake, x_accounts, officers):
    from gateway import users
    from gateway.audit import Actor
    from gateway.posts import emergency
    from tests.conftest import TEST_PASSWORD
    from tests.publishing.test_emergency import NIGHT

    fake.inject_fault("error", account_id=X_ACCOUNT_CY, method="POST", status=400, times=None)
    with time_machine.travel(NIGHT, tick=True), app.app_context():
        duty = users.create_user(
            "duty@council.example", ["duty_officer"], TEST_PASSWORD, actor=Actor.system()
        )
        post = emergency.send(
            duty,
            text="Flood warning: the river road is closed tonight.",
            text_cy="Rhybudd llifogydd: mae ffordd yr afon ar gau heno.",
            channel_ids=[x_accounts["cy"], x_accounts["en"]],
            category="flooding",
        )
        assert post.emergency_release == "at_once"
        post_id = post.id
        db.session.commit()
    with time_machine.travel(NIGHT, tick=True):
        run_worker(app)
    assert fake.posts() == []
    welsh, english = rows(app, post_id)
    assert welsh["status"] == "failed"
    assert english["status"] == "held" and english["held_with_id"] == welsh["id"]


# The log and the approval


def test_the_log_records_both_texts_and_which_one_each_attempt_sent(
    app, bilingual, clock, fake, channels, officers
):
    app.config["BILINGUAL_LAYOUT"] = "separate"
    post_id = approved(app, officers, [channels["x"]])
    run_worker(app)
    attempts = entries(app, "delivery.attempt")
    assert sorted(a.payload["language"] for a in attempts) == ["cy", "en"]
    with app.app_context():
        for attempt in attempts:
            stored = db.session.get(PostContent, attempt.content_sha256)
            content = json.loads(stored.content)
            assert content["text_cy"] == WELSH and content["text"] == ENGLISH
        assert db.session.get(Post, post_id).status == "published"
    outcomes = entries(app, "delivery.outcome")
    assert sorted(o.payload["language"] for o in outcomes) == ["cy", "en"]


@pytest.mark.parametrize("field", ["text", "text_cy"])
def test_an_edit_to_either_text_after_approval_stops_both(
    app, bilingual, clock, fake, channels, officers, field
):
    from sqlalchemy import text

    app.config["BILINGUAL_LAYOUT"] = "separate"
    post_id = approved(app, officers, [channels["x"]])
    with app.app_context():
        # Changed behind the approval's back, in one language.
        db.session.execute(
            text(f"UPDATE posts SET {field} = 'Pleidleisiwch dros Lafur' WHERE id = :id"),  # noqa: S608
            {"id": post_id},
        )
        db.session.commit()
    run_worker(app)
    assert fake.posts() == []
    first, second = rows(app, post_id)
    assert first["status"] == "blocked" and "changed after it was approved" in first["last_error"]
    assert second["status"] == "held" and second["held_with_id"] == first["id"]


def test_a_person_lets_the_held_language_go_out_alone_and_it_does(
    app, bilingual, clock, fake, x_accounts, officers
):
    from gateway.posts import held

    fake.inject_fault("error", account_id=X_ACCOUNT_CY, method="POST", status=400, times=None)
    post_id = approved(app, officers, [x_accounts["cy"], x_accounts["en"]])
    run_worker(app)
    welsh, english = rows(app, post_id)
    assert (welsh["status"], english["status"]) == ("failed", "held")
    with app.app_context():
        post = db.session.get(Post, post_id)
        held.publish_alone(post, english["id"], user(officers.approver), "Welsh account locked.")
        db.session.commit()
    run_worker(app)
    # Not held with its failed partner again: out on the English account only, as decided.
    [tweet] = fake.posts("x")
    assert tweet["text"] == ENGLISH and tweet["account_id"] == X_ACCOUNT
    welsh, english = rows(app, post_id)
    assert (welsh["status"], english["status"]) == ("failed", "published")
    with app.app_context():
        assert db.session.get(Post, post_id).status == "partly_published"


def test_the_emergency_form_takes_both_texts_and_both_go_out(
    app, bilingual, client, auth, fake, channels
):
    from gateway.domain.roles import Role
    from tests.conftest import csrf_token_from
    from tests.publishing.test_emergency import NIGHT

    welsh = "Rhybudd llifogydd: mae'r afon yn codi. Osgowch ffordd y cei heno."
    english = "Flood warning: the river is rising. Avoid the quayside road tonight."
    with time_machine.travel(NIGHT, tick=True):
        auth.sign_in_as(Role.DUTY_OFFICER)
        page = client.get("/emergency")
        html = page.get_data(as_text=True)
        assert 'id="text_cy"' in html and 'lang="cy"' in html
        # Welsh first, as the council chose.
        assert html.index('id="text_cy"') < html.index('id="text"')
        fields = {
            "category": "flooding",
            "text": english,
            "channels": [channels["x"]],
            "csrf_token": csrf_token_from(html),
            "action": "publish",
        }
        missing = client.post("/emergency", data=fields)
        assert missing.status_code == 400
        assert "Enter the Welsh text of the post" in missing.get_data(as_text=True)
        sent = client.post("/emergency", data={**fields, "text_cy": welsh})
        assert sent.status_code == 302, sent.get_data(as_text=True)
        build_worker(app).work(burst=True)
    [tweet] = fake.posts("x")
    assert tweet["text"] == f"{welsh}\n\n{english}"
    with app.app_context():
        post = db.session.scalar(select(Post))
        assert post.text_cy == welsh and post.emergency_category == "flooding"


# Each channel's own layout (issue 18: "a setting per installation (and per channel ...)")


def _channel_layout(app, channel_id, layout):
    with app.app_context():
        db.session.get(Channel, channel_id).bilingual_layout = layout
        db.session.commit()


def test_a_channels_own_layout_decides_its_form(app, bilingual, clock, fake, channels, officers):
    # The gateway says one bilingual post, Welsh first; the Facebook Page has chosen two posts
    # and the X account one post with English first.
    _channel_layout(app, channels["facebook"], "separate")
    _channel_layout(app, channels["x"], "en-cy")
    post_id = approved(app, officers, [channels["x"], channels["facebook"]])
    assert [(r["channel"], r["language"]) for r in rows(app, post_id)] == [
        ("Council on X", "en+cy"),
        ("Council Facebook Page", "cy"),
        ("Council Facebook Page", "en"),
    ]
    run_worker(app)
    [tweet] = fake.posts("x")
    assert tweet["text"] == f"{ENGLISH}\n\n{WELSH}"
    assert sorted(p["text"] for p in fake.posts("facebook")) == sorted([WELSH, ENGLISH])
    assert {r["status"] for r in rows(app, post_id)} == {"published"}


def test_a_channel_may_take_one_post_where_the_gateway_says_two(
    app, bilingual, clock, fake, channels, officers
):
    app.config["BILINGUAL_LAYOUT"] = "separate"
    _channel_layout(app, channels["facebook"], "cy-en")
    post_id = approved(app, officers, [channels["x"], channels["facebook"]])
    run_worker(app)
    assert sorted(t["text"] for t in fake.posts("x")) == sorted([WELSH, ENGLISH])
    [page_post] = fake.posts("facebook")
    assert page_post["text"] == f"{WELSH}\n\n{ENGLISH}"
    assert {r["status"] for r in rows(app, post_id)} == {"published"}


# A Mastodon instance's own limits (issue 21) decide one post or two, read from the instance

MASTODON_ACCOUNT = "109876543210987654"
MASTODON_TOKEN = "mastodon-bilingual-token-0123456789"  # noqa: S105 - the fake's test account
#: 602 characters with the blank line between them: over a stock instance's 500.
WELSH_300 = ("Bydd y llyfrgell ar gau ddydd Llun er mwyn gosod silffoedd newydd. " * 5)[:300]
ENGLISH_300 = ("The library will be closed on Monday while new shelves are fitted. " * 5)[:300]


@pytest.fixture
def mastodon(app, fake, fake_server, channels):
    """A Mastodon channel on the fake's Mastodon API, its limits read from the instance as
    "Test the connection" reads them (gateway.admin.channels)."""
    import requests

    from gateway.platforms import ChannelConfig
    from gateway.platforms.mastodon import MastodonPublisher

    fake.register_account(
        "mastodon", MASTODON_ACCOUNT, {"access_token": MASTODON_TOKEN}, name="Cyngor"
    )
    token = {"access_token": MASTODON_TOKEN}
    spec = ChannelSpec("mastodon", "Cyngor ar Mastodon", MASTODON_ACCOUNT, token)
    channel_id = add_channels(app, fake_server, [spec])["mastodon"]

    def instance(**limits: int) -> None:
        requests.delete(f"{fake_server}/_fake/mastodon/instance", timeout=10)
        if limits:
            requests.post(
                f"{fake_server}/_fake/mastodon/instance", json=limits, timeout=10
            ).raise_for_status()
        config = ChannelConfig("mastodon", MASTODON_ACCOUNT, token, fake_server)
        host = fake_server.split("://", 1)[1].split(":")[0]
        with MastodonPublisher(config, allowed_hosts=(host,)) as publisher:
            read = publisher.limits()
        with app.app_context():
            db.session.get(Channel, channel_id).platform_limits = json.dumps(read, sort_keys=True)
            db.session.commit()

    yield channel_id, instance
    requests.delete(f"{fake_server}/_fake/mastodon/instance", timeout=10)


def test_an_instance_with_room_takes_one_bilingual_post(
    app, bilingual, clock, fake, mastodon, officers
):
    channel_id, instance = mastodon
    instance(max_characters=1000)
    post_id = approved(app, officers, [channel_id], welsh=WELSH_300, english=ENGLISH_300)
    assert [r["language"] for r in rows(app, post_id)] == ["cy+en"]
    run_worker(app)
    [toot] = fake.posts("mastodon")
    assert toot["text"] == f"{WELSH_300}\n\n{ENGLISH_300}"
    assert [r["status"] for r in rows(app, post_id)] == ["published"]


def test_a_stock_instance_gets_two_posts_at_the_same_moment(
    app, bilingual, clock, fake, mastodon, officers
):
    channel_id, instance = mastodon
    instance()  # a stock instance: 500 characters
    post_id = approved(app, officers, [channel_id], welsh=WELSH_300, english=ENGLISH_300)
    assert [r["language"] for r in rows(app, post_id)] == ["cy", "en"]
    run_worker(app)
    assert sorted(t["text"] for t in fake.posts("mastodon")) == sorted([WELSH_300, ENGLISH_300])
    assert [r["status"] for r in rows(app, post_id)] == ["published", "published"]


def test_an_instance_tighter_than_stock_gets_two_posts(
    app, bilingual, clock, fake, mastodon, officers
):
    # 90 + 2 + 90 characters: one post on a stock instance, but this one allows 150.
    channel_id, instance = mastodon
    instance(max_characters=150)
    welsh, english = WELSH_300[:90], ENGLISH_300[:90]
    post_id = approved(app, officers, [channel_id], welsh=welsh, english=english)
    assert [r["language"] for r in rows(app, post_id)] == ["cy", "en"]
    run_worker(app)
    assert sorted(t["text"] for t in fake.posts("mastodon")) == sorted([welsh, english])

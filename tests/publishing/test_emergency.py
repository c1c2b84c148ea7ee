"""Emergency out-of-hours posts (issue 7), through the real form and the real worker."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

import pytest
import time_machine
from bs4 import BeautifulSoup
from rq import Queue
from sqlalchemy import select

from gateway.domain.roles import Role
from gateway.events import post_event
from gateway.extensions import db
from gateway.models import AuditEntry, Election, EmergencyReview, Post, RegisterPerson
from gateway.queue import EMERGENCY_QUEUE, redis_connection
from tests.conftest import AuthActions, csrf_token_from
from tests.publishing.conftest import LONDON
from workers.worker import build_worker

#: 3am on a Wednesday: well outside office hours.
NIGHT = datetime(2027, 3, 10, 3, 0, tzinfo=LONDON)


@pytest.fixture
def night():
    with time_machine.travel(NIGHT, tick=True) as traveller:
        yield traveller


def _post_form(client, data, action="publish"):
    page = client.get("/emergency")
    assert page.status_code == 200
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(
        "/emergency", data={**data, "csrf_token": token, "action": action}, follow_redirects=False
    )


def _flood(channels, **extra):
    return {
        "category": "flooding",
        "text": "Flood warning: the river is rising at Saltmarsh. Avoid the quayside road tonight.",
        "channels": [channels["x"], channels["facebook"]],
        **extra,
    }


def test_a_duty_officer_posts_at_3am_and_it_reaches_the_platform(
    app, client, auth, night, fake, channels
):
    auth.sign_in_as(Role.DUTY_OFFICER)
    events = []

    def listen(sender, **kw):
        events.append(kw)

    # Its own listener only: clearing every receiver would also unplug the email subscribers.
    post_event.connect(listen)
    try:
        response = _post_form(client, _flood(channels))
        assert response.status_code == 302, response.get_data(as_text=True)
        assert Queue(EMERGENCY_QUEUE, connection=redis_connection(app)).count == 2
        build_worker(app).work(burst=True)
    finally:
        post_event.disconnect(listen)
    assert len(fake.posts("x")) == 1 and len(fake.posts("facebook")) == 1
    with app.app_context():
        post = db.session.scalar(select(Post))
        assert post.status == "published" and post.emergency_category == "flooding"
        actions = db.session.scalars(select(AuditEntry.action)).all()
        assert "emergency.published" in actions
    assert any(e["event"] == "emergency" for e in events)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Flood warning" in page
    # The category in the form's words, not its stored key.
    emergency = BeautifulSoup(page, "html.parser").find("dt", string=re.compile("Emergency"))
    assert emergency.find_next_sibling("dd").get_text(strip=True) == "Flooding"


def test_the_form_has_every_enabled_channel_chosen(client, auth, channels):
    auth.sign_in_as(Role.DUTY_OFFICER)
    page = client.get("/emergency").get_data(as_text=True)
    for channel_id in channels.values():
        assert f'value="{channel_id}" checked' in page or f'checked value="{channel_id}"' in page


@pytest.mark.parametrize("role", [Role.OFFICER, Role.ADMIN, Role.AUDITOR])
def test_only_a_duty_officer_can_post_as_an_emergency(client, auth, role, channels):
    auth.sign_in_as(role)
    assert client.get("/emergency").status_code == 403


def test_a_personal_phone_number_is_blocked_at_once(app, client, auth, night, fake, channels):
    auth.sign_in_as(Role.DUTY_OFFICER)
    data = _flood(channels, text="Dog found on Station Road. Call Sam on 07700 900123 to collect.")
    data["category"] = "stray_animal"
    response = _post_form(client, data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and "07700 900123" in page
    build_worker(app).work(burst=True)
    assert fake.posts() == []
    with app.app_context():
        assert db.session.scalar(select(Post)) is None


def test_the_category_is_required(app, client, auth, night, channels):
    auth.sign_in_as(Role.DUTY_OFFICER)
    data = _flood(channels)
    del data["category"]
    response = _post_form(client, data)
    assert response.status_code == 400
    assert "Choose what kind of emergency" in response.get_data(as_text=True)


def test_a_pre_election_period_lets_a_flood_warning_through_but_not_a_councillor(
    app, client, auth, night, fake, channels
):
    with app.app_context():
        db.session.add(Election(kind="local", polling_day=date(2027, 4, 1)))
        db.session.add(
            RegisterPerson(name="Gareth Hughes", party="Green Party", role="councillor", ward="Old")
        )
        db.session.commit()
    auth.sign_in_as(Role.DUTY_OFFICER)
    ok = _post_form(client, _flood(channels))
    assert ok.status_code == 302
    named = _flood(
        channels,
        text="Flooding on the quayside. Councillor Gareth Hughes is on site helping residents.",
    )
    refused = _post_form(client, named)
    assert refused.status_code == 400
    build_worker(app).work(burst=True)
    texts = [p["text"] for p in fake.posts("x")]
    assert len(texts) == 1 and texts[0].startswith("Flood warning")


def test_the_hourly_limit_stops_a_flood_of_posts(app, client, auth, night, channels):
    app.config["EMERGENCY_POSTS_PER_HOUR"] = 2
    auth.sign_in_as(Role.DUTY_OFFICER)
    codes = [
        _post_form(
            client, _flood(channels, text=f"Road closed at junction {n} tonight.")
        ).status_code
        for n in range(3)
    ]
    assert codes == [302, 302, 400]


def test_reviews_by_another_officer_not_the_author(app, client, auth, night, channels):
    author_id, _ = auth.sign_in_as(Role.DUTY_OFFICER, Role.OFFICER)
    assert _post_form(client, _flood(channels)).status_code == 302
    with app.app_context():
        post_id = db.session.scalar(select(Post.id))
    page = client.get("/emergency/reviews").get_data(as_text=True)
    assert "another officer must review it" in page
    token = csrf_token_from(page)
    refused = client.post(
        f"/emergency/reviews/{post_id}", data={"csrf_token": token, "outcome": "reviewed"}
    )
    assert refused.status_code == 400
    assert "other than its author" in refused.get_data(as_text=True)

    reviewer_client = app.test_client()
    reviewer_client.environ_base["HTTP_REFERER"] = "https://localhost/"
    reviewer = AuthActions(app, reviewer_client)
    reviewer.sign_in_as(Role.OFFICER)
    page = reviewer_client.get("/emergency/reviews").get_data(as_text=True)
    token = csrf_token_from(page)
    no_note = reviewer_client.post(
        f"/emergency/reviews/{post_id}", data={"csrf_token": token, "outcome": "concern"}
    )
    assert no_note.status_code == 400
    done = reviewer_client.post(
        f"/emergency/reviews/{post_id}",
        data={"csrf_token": token, "outcome": "concern", "note": "Posted the wrong road name."},
    )
    assert done.status_code == 302
    with app.app_context():
        review = db.session.scalar(select(EmergencyReview))
        assert review.outcome == "concern" and review.reviewer_id != author_id
        assert "emergency.reviewed" in db.session.scalars(select(AuditEntry.action)).all()


def test_an_unreviewed_emergency_post_is_overdue_after_the_next_working_day(
    app, client, auth, night, channels
):
    from gateway.posts.emergency import awaiting_review

    auth.sign_in_as(Role.DUTY_OFFICER)
    assert _post_form(client, _flood(channels)).status_code == 302
    with app.app_context():
        [(post, due, overdue)] = awaiting_review()
        assert due == date(2027, 3, 11) and not overdue
        [(_, _, overdue)] = awaiting_review(today=date(2027, 3, 12))
        assert overdue
    night.shift(timedelta(days=2))
    auth.sign_in_as(Role.OFFICER)  # the night's session has long timed out
    assert "Overdue" in client.get("/emergency/reviews").get_data(as_text=True)


def test_a_channel_that_cannot_take_it_is_left_out_and_the_others_get_it_at_once(
    app, client, auth, night, fake, channels
):
    # Issue 22: the form ticks every channel, Instagram included; a flood warning with no
    # image used to be refused whole. Instagram is left out, with why; X and Facebook get it.
    from gateway.models import Delivery

    auth.sign_in_as(Role.DUTY_OFFICER)
    data = _flood(channels)
    data["channels"] = [channels["x"], channels["facebook"], channels["instagram"]]
    checked = _post_form(client, data, action="check")
    assert checked.status_code == 200
    soup = BeautifulSoup(checked.get_data(as_text=True), "html.parser")
    box = soup.find("input", attrs={"name": "channels", "value": str(channels["instagram"])})
    note = soup.find(id=box["aria-describedby"]).get_text(" ", strip=True)
    assert "Left out" in note and "Instagram posts need an image" in note
    assert soup.select_one("#text-error") is None  # the note is on the channel, not the text

    response = _post_form(client, data)
    assert response.status_code == 302, response.get_data(as_text=True)
    build_worker(app).work(burst=True)
    assert len(fake.posts("x")) == 1 and len(fake.posts("facebook")) == 1
    assert fake.posts("instagram") == []
    with app.app_context():
        post = db.session.scalar(select(Post))
        assert post.status == "published"
        by_platform = {d.channel.platform: d for d in db.session.scalars(select(Delivery))}
        skipped = by_platform["instagram"]
        assert skipped.status == "skipped" and "need an image" in skipped.last_error
        assert {by_platform["x"].status, by_platform["facebook"].status} == {"published"}
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "delivery.skipped"))
        payload = json.loads(bytes(entry.leaf))["payload"]
        assert payload["delivery_id"] == skipped.id and "need an image" in payload["reason"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Skipped" in page and "Left out: Instagram posts need an image" in page


def test_when_no_channel_can_take_it_it_is_refused_with_the_reasons(
    app, client, auth, night, fake, channels
):
    auth.sign_in_as(Role.DUTY_OFFICER)
    data = _flood(channels)
    data["channels"] = [channels["instagram"]]
    response = _post_form(client, data)
    assert response.status_code == 400
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    channels_error = soup.select_one("#channels-error").get_text(" ", strip=True)
    assert "None of the chosen channels can take this post" in channels_error
    assert "Council Instagram: Instagram posts need an image" in channels_error
    assert soup.select_one("#text-error") is None
    build_worker(app).work(burst=True)
    assert fake.posts() == []
    with app.app_context():
        assert db.session.scalar(select(Post)) is None


def test_a_post_whose_content_is_stopped_is_refused_everywhere(
    app, client, auth, night, fake, channels
):
    # Only a channel's own limits leave it out: personal data stops the post on every channel.
    auth.sign_in_as(Role.DUTY_OFFICER)
    data = _flood(channels, text="Dog found on Station Road. Call Sam on 07700 900123 to collect.")
    data["channels"] = [channels["x"], channels["instagram"]]
    response = _post_form(client, data)
    assert response.status_code == 400
    assert "07700 900123" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Post)) is None

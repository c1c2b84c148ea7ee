"""Told at once (issue 7): the communications team's leads get an email when an emergency post
goes out, through the real form, a real worker, the fake platform and a real SMTP server."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest
import time_machine
from sqlalchemy import select

from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import Post
from tests.conftest import csrf_token_from
from tests.publishing.conftest import LONDON, deliveries
from tests.support.network import free_port
from tests.support.smtp import LEADS
from workers.worker import build_worker

#: 3am on a Wednesday: well outside office hours.
NIGHT = datetime(2027, 3, 10, 3, 0, tzinfo=LONDON)
FLOOD = "Flood warning: the river is rising at Saltmarsh. Avoid the quayside road tonight."


@pytest.fixture
def night():
    with time_machine.travel(NIGHT, tick=True) as traveller:
        yield traveller


def _post_emergency(client, channels, text=FLOOD, category="flooding"):
    page = client.get("/emergency")
    assert page.status_code == 200
    return client.post(
        "/emergency",
        data={
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
            "category": category,
            "text": text,
            "channels": [channels["x"], channels["facebook"]],
            "action": "publish",
        },
    )


def test_the_leads_are_told_at_once_and_the_post_still_goes_out(
    app, client, auth, night, fake, channels, inbox
):
    _, officer = auth.sign_in_as(Role.DUTY_OFFICER)
    response = _post_emergency(client, channels)
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        post_id = db.session.scalar(select(Post.id))
    # Nothing is sent while the officer's page is being made: a slow mail server must not hold
    # it. The email goes once the server has sent the page and closes the response, as a WSGI
    # server does (the test client leaves that to the test).
    assert inbox.messages == []
    response.close()

    # Told before any worker has run: at once, not when the queue gets round to it.
    for lead in LEADS:
        [email] = inbox.to(lead)
        assert email["To"] == lead  # one message each: leads do not see each other's address
        assert email["Subject"] == f"Emergency post going out now: Flooding: {FLOOD[:49]}…"
        body = email.get_content()
        assert officer in body and "03:00 on Wednesday 10 March 2027" in body
        assert FLOOD in body and "Council on X, Council Facebook Page" in body
        assert f"/posts/{post_id}" in body and "/emergency/reviews" in body
    assert inbox.to(officer) == []  # the duty officer is not a lead here
    assert len(inbox.messages) == len(LEADS)

    build_worker(app).work(burst=True)
    assert [r[1] for r in deliveries(app, post_id)] == ["published", "published"]
    assert len(fake.posts("x")) == 1
    assert len(inbox.messages) == len(LEADS)  # a published post sends nothing more


def test_a_refused_emergency_post_tells_nobody(app, client, auth, night, channels, inbox):
    auth.sign_in_as(Role.DUTY_OFFICER)
    response = _post_emergency(
        client,
        channels,
        text="Dog found on Station Road. Call Sam on 07700 900123 to collect.",
        category="stray_animal",
    )
    assert response.status_code == 400
    assert inbox.messages == []


def test_the_leads_hear_when_an_emergency_post_then_fails(
    app, client, auth, night, fake, channels, inbox
):
    _, officer = auth.sign_in_as(Role.DUTY_OFFICER)
    fake.inject_fault(
        "error", platform="x", status=400, times=1, path_contains="/2/tweets", method="POST"
    )
    response = _post_emergency(client, channels)
    assert response.status_code == 302
    response.close()
    build_worker(app).work(burst=True)
    for address in (officer, *LEADS):
        failed = [m for m in inbox.to(address) if m["Subject"].startswith("Your post did not")]
        assert len(failed) == 1, address
        assert "Council on X:" in failed[0].get_content()


def test_a_mail_server_that_is_down_never_fails_the_emergency_post(
    app, client, auth, night, fake, channels, caplog
):
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), EMERGENCY_NOTIFY_EMAILS=LEADS
    )  # nothing listens
    auth.sign_in_as(Role.DUTY_OFFICER)
    with caplog.at_level(logging.WARNING, logger="gateway.notifications.mail"):
        response = _post_emergency(client, channels)
        assert response.status_code == 302
        response.close()
    assert "could not send" in caplog.text
    build_worker(app).work(burst=True)
    assert len(fake.posts("x")) == 1 and len(fake.posts("facebook")) == 1


def test_with_no_leads_set_the_post_goes_out_and_the_gap_is_logged(
    app, client, auth, night, fake, channels, inbox, caplog
):
    app.config["EMERGENCY_NOTIFY_EMAILS"] = ()
    auth.sign_in_as(Role.DUTY_OFFICER)
    with caplog.at_level(logging.WARNING, logger="gateway.notifications.subscribers"):
        response = _post_emergency(client, channels)
        assert response.status_code == 302
        response.close()
    assert "GATEWAY_EMERGENCY_NOTIFY_EMAILS is not set" in caplog.text
    assert inbox.messages == []

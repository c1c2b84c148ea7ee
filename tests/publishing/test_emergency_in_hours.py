"""Emergency posts in office hours (issue 20, finding 4): a duty officer published a
Christmas-market promotion at noon on a Wednesday as "event safety". In office hours an
emergency post now goes to a fast-track approval by another officer, unless an admin chose
"publish at once"; out of hours it goes out at once as before. Through the real forms, a real
burst worker, the fake platform and a real SMTP server.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from rq import Queue
from sqlalchemy import select

from gateway.domain import emergency as rules
from gateway.domain.guardrails import OfficeHours
from gateway.domain.roles import Role
from gateway.domain.statuses import PostStatus
from gateway.extensions import db
from gateway.models import AuditEntry, Delivery, PolicySetting, Post, User
from gateway.posts import service
from gateway.queue import EMERGENCY_QUEUE, redis_connection
from tests.conftest import AuthActions
from tests.publishing.conftest import LONDON, deliveries
from tests.support.smtp import LEADS
from tests.web.helpers import get, post_unoffered, submit
from workers.worker import build_worker

#: Noon on Wednesday 10 March 2027 in London: office hours, not a bank holiday.
NOON = datetime(2027, 3, 10, 12, 0, tzinfo=LONDON)
#: 3am the same day: well outside office hours.
NIGHT = datetime(2027, 3, 10, 3, 0, tzinfo=LONDON)
FLOOD = "Flood warning: the river is rising at Saltmarsh. Avoid the quayside road today."
FAST_TRACK_SUBJECT = "Emergency: fast-track approval needed now"


@pytest.fixture
def noon():
    with time_machine.travel(NOON, tick=True) as traveller:
        yield traveller


@pytest.fixture
def night():
    with time_machine.travel(NIGHT, tick=True) as traveller:
        yield traveller


def _signed_in(app, *roles: Role):
    """Another person in a browser of their own: (client, user id, email)."""
    client = app.test_client()
    client.environ_base["HTTP_REFERER"] = "https://localhost/"
    auth = AuthActions(app, client)
    user_id, email = auth.sign_in_as(*roles)
    return client, user_id, email


def _post_emergency(client, channels, text=FLOOD):
    page = get(client, "/emergency")
    return submit(
        client,
        page,
        {
            "category": "flooding",
            "text": text,
            "channels": [str(channels["x"]), str(channels["facebook"])],
        },
        button=("action", "publish"),
    ).response


def _the_post(app) -> Post:
    with app.app_context():
        post = db.session.scalar(select(Post).where(Post.emergency_category.is_not(None)))
        db.session.expunge_all()
        return post


def _actions(app, post_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEntry.action).where(AuditEntry.object_id == str(post_id))
            )
        )


def _inactive_officer(app) -> str:
    auth = AuthActions(app, app.test_client())
    user_id, email = auth.create_user(Role.OFFICER)
    with app.app_context():
        db.session.get(User, user_id).active = False
        db.session.commit()
    return email


def _queue_ids(client) -> list[int]:
    page = get(client, "/approvals")
    return [int(row["id"].removeprefix("queue-")) for row in page.soup.select("tr[id^=queue-]")]


def test_in_office_hours_an_emergency_post_waits_for_another_officers_fast_track_approval(
    app, client, auth, noon, fake, channels, inbox
):
    approver, _, approver_email = _signed_in(app, Role.OFFICER)
    other, _, other_email = _signed_in(app, Role.OFFICER, Role.MONITORING_OFFICER)
    asleep = _inactive_officer(app)
    # An ordinary post from another officer was waiting first, due sooner.
    with app.app_context():
        author = db.session.scalar(select(User).where(User.email == other_email))
        ordinary = service.create_draft(
            author,
            text="Bin collections on Monday will take place as normal.",
            channel_ids=[channels["x"]],
            scheduled_at=NOON + timedelta(hours=1),
        )
        service.submit(ordinary, author)
        db.session.commit()
        ordinary_id = ordinary.id
    # The duty officer is an officer too: only the two-person rule stops them approving it.
    _, duty_email = auth.sign_in_as(Role.DUTY_OFFICER, Role.OFFICER)
    form = get(client, "/emergency")
    assert "another officer must approve it first" in form.text()
    assert form.soup.select_one("button[value=publish]").get_text(strip=True) == (
        "Send for fast-track approval"
    )

    response = _post_emergency(client, channels)
    assert response.status_code == 302, response.get_data(as_text=True)
    post = _the_post(app)
    assert response.headers["Location"].endswith(f"/emergency/{post.id}/fast-track")
    response.close()  # the WSGI server closes it once sent: the emails go then
    assert post.status == PostStatus.AWAITING_APPROVAL.value
    assert post.emergency_release == "fast_track"
    actions = _actions(app, post.id)
    assert "emergency.fast_track" in actions and "emergency.published" not in actions

    # Nothing is queued, and a worker publishes nothing.
    assert Queue(EMERGENCY_QUEUE, connection=redis_connection(app)).count == 0
    build_worker(app).work(burst=True)
    assert fake.posts() == []
    assert {d[1] for d in deliveries(app, post.id)} == {"pending"}

    # Every available approver is told at once; not the author, not an inactive officer.
    for address in (approver_email, other_email):
        [email] = [m for m in inbox.to(address) if m["Subject"].startswith(FAST_TRACK_SUBJECT)]
        body = email.get_content()
        assert FLOOD in body and f"/posts/{post.id}" in body and duty_email in body
    assert not [m for m in inbox.to(duty_email) if FAST_TRACK_SUBJECT in m["Subject"]]
    assert inbox.to(asleep) == []
    for lead in LEADS:  # the leads hear of every emergency post, this one too
        [email] = inbox.to(lead)
        assert email["Subject"].startswith("Emergency post awaiting fast-track approval")

    # The duty officer's page says it waits and who was alerted.
    page = get(client, f"/emergency/{post.id}/fast-track")
    assert "awaits fast-track approval" in page.soup.h1.get_text()
    alerted = page.soup.select_one("#alerted").get_text(" ")
    assert approver_email in alerted and other_email in alerted
    assert duty_email not in alerted and asleep not in alerted

    # First in another officer's queue, clearly marked, with the page cache on and off.
    for cache in ("on", "off"):
        if cache == "off":
            app.extensions["gateway.page_cache"] = None
        assert _queue_ids(other) == [post.id], cache  # their own ordinary post is not theirs
        assert _queue_ids(approver) == [post.id, ordinary_id], cache
        row = get(approver, "/approvals").soup.select_one(f"#queue-{post.id}")
        assert "Emergency: fast-track" in row.get_text(" ")

    # Its author cannot approve it.
    page = get(client, f"/posts/{post.id}")
    refused = post_unoffered(client, page, f"/posts/{post.id}/approve")
    assert refused.status == 400
    assert "cannot approve your own post" in refused.text()
    assert _the_post(app).status == PostStatus.AWAITING_APPROVAL.value

    # Another officer's approval sends it out at once, on the emergency queue.
    page = get(approver, f"/posts/{post.id}")
    assert "Emergency: fast-track" in page.text()
    approved = submit(approver, page, action=f"/posts/{post.id}/approve")
    assert approved.status == 302
    assert Queue(EMERGENCY_QUEUE, connection=redis_connection(app)).count == 2
    build_worker(app).work(burst=True)
    assert [d[1] for d in deliveries(app, post.id)] == ["published", "published"]
    assert [p["text"] for p in fake.posts("x")] == [FLOOD]
    assert _the_post(app).status == PostStatus.PUBLISHED.value
    # The ordinary post is still waiting: only the emergency one jumped the queue.
    assert _queue_ids(other) == []
    # A second officer approved it before it went out: no review the next working day.
    assert "no emergency posts waiting" in get(approver, "/emergency/reviews").text()


def test_an_admins_setting_lets_emergency_posts_in_office_hours_publish_at_once(
    app, client, auth, noon, fake, channels, inbox
):
    admin, admin_id, _ = _signed_in(app, Role.ADMIN)
    page = get(admin, "/admin/emergency-posts")
    # The default: fast-track approval.
    assert page.soup.select_one("input[name=in_hours][checked]")["value"] == "fast_track"
    saved = submit(admin, page, {"in_hours": "at_once"})
    assert saved.status == 302
    with app.app_context():
        row = db.session.get(PolicySetting, "emergency_in_hours")
        assert (row.value, row.changed_by_id) == ("at_once", admin_id)
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "setting.changed"))
        assert entry.actor_id == admin_id
    page = get(admin, "/admin/emergency-posts")
    assert page.soup.select_one("input[name=in_hours][checked]")["value"] == "at_once"

    auth.sign_in_as(Role.DUTY_OFFICER)
    response = _post_emergency(client, channels)
    assert response.status_code == 302
    post = _the_post(app)
    assert response.headers["Location"].endswith(f"/posts/{post.id}")
    response.close()
    assert post.emergency_release == "at_once_in_hours"
    build_worker(app).work(burst=True)
    assert [d[1] for d in deliveries(app, post.id)] == ["published", "published"]
    assert "emergency.published" in _actions(app, post.id)
    for lead in LEADS:
        [email] = inbox.to(lead)
        assert email["Subject"].startswith("Emergency post going out now")


@pytest.mark.parametrize("role", [Role.OFFICER, Role.DUTY_OFFICER, Role.AUDITOR])
def test_only_an_admin_can_change_how_emergency_posts_are_sent(app, client, auth, role):
    auth.sign_in_as(role)
    assert client.get("/admin/emergency-posts").status_code == 403


def test_out_of_hours_an_emergency_post_still_goes_out_at_once(
    app, client, auth, night, fake, channels
):
    auth.sign_in_as(Role.DUTY_OFFICER)
    form = get(client, "/emergency")
    assert form.soup.select_one("button[value=publish]").get_text(strip=True) == "Post now"
    response = _post_emergency(client, channels)
    assert response.status_code == 302
    post = _the_post(app)
    assert post.emergency_release == "at_once" and post.status == PostStatus.APPROVED.value
    build_worker(app).work(burst=True)
    assert [d[1] for d in deliveries(app, post.id)] == ["published", "published"]


def test_a_post_made_just_before_nine_still_goes_out_when_its_delivery_runs_after(
    app, client, auth, fake, channels
):
    with time_machine.travel(datetime(2027, 3, 10, 8, 55, tzinfo=LONDON), tick=True) as clock:
        auth.sign_in_as(Role.DUTY_OFFICER)
        assert _post_emergency(client, channels).status_code == 302
        clock.move_to(datetime(2027, 3, 10, 9, 5, tzinfo=LONDON))  # a late worker, in hours
        build_worker(app).work(burst=True)
    post = _the_post(app)
    assert post.emergency_release == "at_once"
    assert [d[1] for d in deliveries(app, post.id)] == ["published", "published"]


@pytest.mark.parametrize(
    ("release", "expected"),
    [
        ("fast_track", "blocked"),  # never approved: made approved by hand, or by a bug
        ("at_once", "blocked"),  # says "out of hours" but was made at noon
        (None, "blocked"),
        ("at_once_in_hours", "published"),  # sent under the admin's setting
    ],
)
def test_the_publish_job_lets_only_a_post_sent_at_once_skip_the_approval_check(
    app, noon, fake, channels, officers, release, expected
):
    """The worker's own rule (gateway.publishing.attempt): an emergency post made in office
    hours needs a current approval unless it was sent under the admin's setting."""
    with app.app_context():
        author = db.session.get(User, officers.author)
        post = service.create_draft(
            author,
            text=FLOOD,
            channel_ids=[channels["x"]],
            scheduled_at=None,
            emergency_category="flooding",
        )
        post.emergency_release = release
        post.status = PostStatus.APPROVED.value  # no approval, as publish_now once did
        service.schedule_deliveries(post, author)
        db.session.commit()
        post_id = post.id
    build_worker(app).work(burst=True)
    [(_, status, _, _)] = deliveries(app, post_id)
    assert status == expected
    assert len(fake.posts("x")) == (1 if expected == "published" else 0)
    if expected == "blocked":
        with app.app_context():
            reason = db.session.scalar(select(Delivery.last_error))
            assert reason == "It has no current approval."


def test_with_no_notify_list_the_admins_are_told_of_every_emergency_post(
    app, client, auth, night, fake, channels, inbox
):
    app.config["EMERGENCY_NOTIFY_EMAILS"] = ()
    admin_id, admin_email = auth.create_user(Role.ADMIN)
    _, retired_admin = auth.create_user(Role.ADMIN)
    with app.app_context():
        db.session.scalar(select(User).where(User.email == retired_admin)).active = False
        db.session.commit()
    _, duty_email = auth.sign_in_as(Role.DUTY_OFFICER)
    response = _post_emergency(client, channels)
    assert response.status_code == 302
    response.close()
    [email] = inbox.to(admin_email)
    assert email["Subject"].startswith("Emergency post going out now: Flooding")
    assert duty_email in email.get_content()
    assert inbox.to(retired_admin) == []
    assert all(inbox.to(lead) == [] for lead in LEADS)


# --- The rule itself, pure (gateway.domain.emergency) ------------------------------------

HOURS = OfficeHours("ENG")


@pytest.mark.parametrize(
    ("at", "setting", "release"),
    [
        (NOON, rules.IN_HOURS_FAST_TRACK, rules.Release.FAST_TRACK),
        (NOON, rules.IN_HOURS_AT_ONCE, rules.Release.AT_ONCE_IN_HOURS),
        (NIGHT, rules.IN_HOURS_FAST_TRACK, rules.Release.AT_ONCE),
        (NIGHT, rules.IN_HOURS_AT_ONCE, rules.Release.AT_ONCE),
        # Christmas Day 2027 is a Saturday; Monday 27 December is its bank holiday.
        (datetime(2027, 12, 27, 12, 0, tzinfo=LONDON), rules.IN_HOURS_FAST_TRACK, "at_once"),
        (datetime(2027, 3, 12, 16, 45, tzinfo=LONDON), rules.IN_HOURS_FAST_TRACK, "at_once"),
    ],
)
def test_how_an_emergency_post_is_sent(at, setting, release):
    assert rules.release_for(at, HOURS, setting) == release


def test_which_emergency_posts_need_an_approval():
    assert rules.needs_approval("fast_track", NIGHT, HOURS)
    assert rules.needs_approval(None, NIGHT, HOURS)
    assert rules.needs_approval("at_once", NOON, HOURS)
    assert not rules.needs_approval("at_once", NIGHT, HOURS)
    assert not rules.needs_approval("at_once_in_hours", NOON, HOURS)

"""The schedule and the channels' health through the API (issue 17): what the schedule pages
and the dashboard show, from the same functions, and never a credential."""

from __future__ import annotations

from datetime import date

from gateway.extensions import db
from gateway.models import Channel, ClosureDay
from gateway.models.base import utcnow
from tests.api.conftest import CLEAN_TEXT, new_post
from tests.web.conftest import PAGE_TOKEN, X_CREDENTIALS

WEEK = {"date_from": "2027-03-08", "date_to": "2027-03-14"}


def _day(body, day: str) -> dict:
    return next(d for d in body["days"] if d["date"] == day)


def test_the_schedule_lists_each_days_deliveries_as_the_page_does(app, api, people, channels):
    both = new_post(api, people, channel_ids=[channels["x"], channels["facebook"]]).get_json()
    other = new_post(
        api, people, text="Library opening hours change next week.", channel_ids=[channels["x"]]
    ).get_json()
    cancelled = new_post(api, people, text="Cancelled post.", channel_ids=[channels["x"]])
    api.post(f"/api/v1/posts/{cancelled.get_json()['id']}/cancel", headers=people.headers("a"))
    with app.app_context():
        db.session.add(ClosureDay(day=date(2027, 3, 12), reason="Staff training"))
        db.session.commit()

    answer = api.get("/api/v1/schedule", query_string=WEEK, headers=people.headers("auditor"))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert [d["date"] for d in body["days"]][0] == "2027-03-08" and len(body["days"]) == 7
    wednesday = _day(body, "2027-03-10")
    assert wednesday["total"] == 3 and not wednesday["closed"]
    assert sorted((e["post_id"], e["channel_id"]) for e in wednesday["entries"]) == sorted(
        [
            (both["id"], channels["x"]),
            (both["id"], channels["facebook"]),
            (other["id"], channels["x"]),
        ]
    )
    assert wednesday["entries"][0]["text"] == CLEAN_TEXT[:60]
    friday = _day(body, "2027-03-12")
    assert friday["closed"] and friday["closure"] == "Staff training"
    assert _day(body, "2027-03-13")["closed"]  # a Saturday
    # The week page shows the same posts.
    page = people.signed_in("a").get("/schedule?start=2027-03-08").get_data(as_text=True)
    assert "Library opening hours" in page and "Cancelled post" not in page

    only_facebook = api.get(
        "/api/v1/schedule",
        query_string={**WEEK, "channel_id": channels["facebook"]},
        headers=people.headers("a"),
    ).get_json()
    assert [
        (e["post_id"], e["channel_id"]) for e in _day(only_facebook, "2027-03-10")["entries"]
    ] == [(both["id"], channels["facebook"])]


def test_the_schedule_marks_bank_holidays_and_refuses_wrong_ranges(app, api, people, clock):
    easter = api.get(
        "/api/v1/schedule",
        query_string={"date_from": "2027-03-22", "date_to": "2027-03-29"},
        headers=people.headers("a"),
    ).get_json()
    assert _day(easter, "2027-03-26")["bank_holiday"]  # Good Friday
    assert _day(easter, "2027-03-29")["bank_holiday"]  # Easter Monday
    default = api.get("/api/v1/schedule", headers=people.headers("a")).get_json()
    assert default["date_from"] == "2027-03-08" and default["date_to"] == "2027-03-14"
    for query in (
        {"date_from": "2027-03-10", "date_to": "2027-03-09"},
        {"date_from": "2027-01-01", "date_to": "2027-06-30"},
        {"date_from": "9999-12-31"},
        {"date_from": "not a date"},
    ):
        refused = api.get("/api/v1/schedule", query_string=query, headers=people.headers("a"))
        assert refused.status_code == 422, query
        assert refused.get_json()["errors"][0]["parameter"] in ("date_from", "date_to")
    assert api.get("/api/v1/schedule").status_code == 401


def test_channels_health_says_what_needs_reconnecting_and_no_secret(app, api, people, channels):
    expires = utcnow().replace(microsecond=0)
    with app.app_context():
        facebook = db.session.get(Channel, channels["facebook"])
        facebook.needs_reauthorisation = True
        facebook.health_problem = "Facebook refused the Page token"
        x = db.session.get(Channel, channels["x"])
        x.auth_method, x.token_expires_at = "oauth2", expires
        db.session.commit()
    officer = api.get("/api/v1/channels", headers=people.headers("a"))
    assert officer.status_code == 200
    by_id = {c["id"]: c for c in officer.get_json()["items"]}
    assert by_id[channels["x"]]["status"] == "working"
    assert by_id[channels["x"]]["connected_with"] == "oauth2"
    assert by_id[channels["x"]]["token_expires_at"].startswith(expires.strftime("%Y-%m-%dT%H:%M"))
    assert by_id[channels["facebook"]]["status"] == "needs_reconnecting"
    assert by_id[channels["facebook"]]["needs_reconnecting"] is True
    assert by_id[channels["facebook"]]["problem"] is None  # the reason is for admins
    assert by_id[channels["instagram"]]["status"] == "disabled"
    admin = api.get(f"/api/v1/channels/{channels['facebook']}", headers=people.headers("admin"))
    assert admin.get_json()["problem"] == "Facebook refused the Page token"
    for answer in (officer, admin):
        text = answer.get_data(as_text=True)
        for secret in (PAGE_TOKEN, *X_CREDENTIALS.values()):
            assert secret not in text
        assert "credentials" not in text
    assert api.get("/api/v1/channels/999999", headers=people.headers("a")).status_code == 404
    # The dashboard says the same.
    dashboard = people.signed_in("a").get("/").get_data(as_text=True)
    assert "Council Facebook Page" in dashboard

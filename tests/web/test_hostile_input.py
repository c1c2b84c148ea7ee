"""Input no form would send is a 400 (or a 404 for an id), never a 500 (issue #20): ids larger
than any column holds, impossible dates, a deeply nested JSON body."""

from __future__ import annotations

import pytest

from tests.web.helpers import get, submit

BIG = "9" * 50
IDS_PAST_ANY_COLUMN = [BIG, str(2**31), str(2**63), "9" * 5000]

#: (who, URL with {id}) for every <int:...> route a GET reaches.
ID_ROUTES = [
    ("a", "/posts/{id}"),
    ("a", "/posts/{id}/edit"),
    ("a", "/posts/1/images/{id}"),
    ("a", "/posts/{id}/images/1"),
    ("auditor", "/audit/posts/{id}"),
    ("admin", "/admin/channels/{id}"),
    ("admin", "/admin/elections/{id}"),
    ("admin", "/admin/users/{id}"),
]


@pytest.mark.parametrize("who,route", ID_ROUTES)
def test_an_id_past_what_any_column_holds_is_not_found(app, people, who, route):
    for value in IDS_PAST_ANY_COLUMN:
        response = people[who].get(route.format(id=value))
        assert response.status_code == 404, (route, value[:60], response.status_code)


def test_a_publish_log_entry_past_bigint_is_not_found(app, people):
    auditor = people["auditor"]
    assert auditor.get(f"/audit/entries/{2**63}").status_code == 404
    assert auditor.get(f"/audit/entries/{BIG}").status_code == 404
    assert auditor.get(f"/audit/entries/{2**40}").status_code == 404  # in range, no such entry


def test_ids_past_any_column_in_a_posted_form_are_not_a_500(app, people, channels):
    for url in (f"/posts/{BIG}/submit", f"/posts/{BIG}/approve", f"/admin/users/{BIG}"):
        who = "admin" if url.startswith("/admin") else "a"
        assert people[who].post(url).status_code in (400, 404), url


@pytest.mark.parametrize(
    "query",
    [
        "date_from=1&date_from=1&date_from=99999",
        "date_from=0&date_from=1&date_from=2027",
        "date_from=1&date_from=13&date_from=2027",
        "date_to=31&date_to=12&date_to=9999",
        "date_from=1&date_from=1&date_from=1000",
        f"post={BIG}",
        f"before={BIG}",
        f"after={2**63}",
    ],
)
def test_the_auditors_filter_refuses_impossible_values(app, people, query):
    response = people["auditor"].get(f"/audit/?{query}")
    assert response.status_code in (200, 400), (query, response.status_code)


@pytest.mark.parametrize(
    "url",
    [
        "/schedule?start=99999-01-01",
        "/schedule?start=9999-12-31",
        "/schedule?start=0001-01-01",
        "/schedule?start=2027-13-01",
        "/schedule?start=2027-02-30",
        "/schedule/month?month=9999-12",
        "/schedule/month?month=0001-01",
        "/schedule/month?month=2027-13",
        "/schedule/month?month=99999-01",
        f"/approvals?page={BIG}",
        "/approvals?page=-5",
    ],
)
def test_schedule_and_queue_parameters_out_of_range_are_not_a_500(app, people, url):
    response = people["a"].get(url)
    assert response.status_code in (200, 400), (url, response.status_code)


@pytest.mark.parametrize(
    "date_parts",
    [
        ["1", "1", "99999"],
        ["1", "13", "2027"],
        ["0", "3", "2027"],
        ["31", "12", "9999"],
        ["29", "2", "2027"],
    ],
)
def test_an_impossible_date_in_the_post_form_is_a_400_beside_the_field(
    app, people, channels, date_parts
):
    page = get(people["a"], "/posts/new")
    refused = submit(
        people["a"],
        page,
        {
            "text": "Bins are collected on Wednesday.",
            "channels": [str(channels["x"])],
            "publish_date": date_parts,
            "publish_time": "11:30pm",
        },
        button=("action", "save"),
    )
    assert refused.status == 400
    assert refused.field_error("publish_date").startswith("Error:")


def test_a_deeply_nested_json_body_is_not_a_500(app, people, channels):
    body = "[" * 10_000 + "]" * 10_000
    for url in ("/posts/new", "/emergency/", "/admin/channels/new", "/sign-in"):
        response = people["a"].post(url, data=body, content_type="application/json")
        assert response.status_code in (400, 403, 404, 405, 413), (url, response.status_code)


def test_a_tampered_version_field_is_a_400(app, people, channels):
    page = get(people["a"], "/posts/new")
    refused = submit(
        people["a"],
        page,
        {
            "text": "Bins are collected on Wednesday.",
            "channels": [str(channels["x"])],
            "expected_version": "not-a-number",
        },
        button=("action", "save"),
    )
    assert refused.status == 400

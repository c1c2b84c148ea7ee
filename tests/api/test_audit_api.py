"""The publish log through the API (issue 17): the auditors' page's filters and query
(gateway.audit.query), for auditors and monitoring officers only, newest first by cursor."""

from __future__ import annotations

from tests.api.conftest import new_post


def _entries(api, people, key="auditor", **query):
    response = api.get("/api/v1/audit/entries", query_string=query, headers=people.headers(key))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_an_auditor_reads_the_log_with_the_pages_filters(app, api, people, channels):
    first = new_post(api, people, channel_ids=[channels["x"]]).get_json()["id"]
    second = new_post(api, people, channel_ids=[channels["x"]]).get_json()["id"]
    api.post(f"/api/v1/posts/{second}/submit", headers=people.headers("a"))
    created = _entries(api, people, action="post.created")["items"]
    assert [e["object"]["id"] for e in created] == [str(second), str(first)]
    assert all(e["actor"]["id"] == people.ids["a"] for e in created)
    assert all(len(e["entry_hash"]) == 64 for e in created)
    about_second = _entries(api, people, post_id=second)["items"]
    assert {e["action"] for e in about_second} >= {
        "post.created",
        "post.submitted",
        "guardrails.verdict",
    }
    assert all(
        e["action"] != "post.created" or e["object"]["id"] == str(second) for e in about_second
    )
    by_officer = _entries(api, people, officer_id=people.ids["a"], action="post.submitted")
    assert len(by_officer["items"]) == 1
    none = _entries(api, people, date_from="2027-03-10")  # tomorrow: nothing yet
    assert none["items"] == [] and none["next_cursor"] is None


def test_the_log_pages_by_cursor(app, api, people, channels):
    for _ in range(3):
        new_post(api, people, channel_ids=[channels["x"]])
    everything = _entries(api, people, limit=50)["items"]
    seqs, cursor = [], None
    while True:
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = _entries(api, people, **query)
        seqs += [e["seq"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seqs == [e["seq"] for e in everything] == sorted(seqs, reverse=True)


def test_only_auditors_and_monitoring_officers_read_it(api, people):
    assert _entries(api, people, key="mo")["items"] is not None
    for key in ("a", "duty", "admin"):
        response = api.get("/api/v1/audit/entries", headers=people.headers(key))
        assert response.status_code == 403, key


def test_wrong_filters_are_422_naming_the_parameter(api, people):
    for query, parameter in (
        ({"date_from": "2027-03-10", "date_to": "2027-03-01"}, "date_to"),
        ({"action": "Not An Action"}, "action"),
        ({"outcome": "exploded"}, "outcome"),
        ({"cursor": "-1"}, "cursor"),
    ):
        response = api.get(
            "/api/v1/audit/entries", query_string=query, headers=people.headers("auditor")
        )
        assert response.status_code == 422, query
        assert response.get_json()["errors"][0]["parameter"] == parameter

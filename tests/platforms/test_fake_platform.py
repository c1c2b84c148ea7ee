"""The fake platform itself, over plain HTTP: answer shapes, checks, faults and controls."""

from __future__ import annotations

import json
import time

import pytest
import requests
from click.testing import CliRunner
from requests_oauthlib import OAuth1

from fakeplatform.demo import DEMO_ACCOUNTS
from fakeplatform.images import sniff_image_type, tiny_jpeg
from gateway.cli.fakeplatform import accounts_from, fakeplatform, load_accounts
from tests.platforms.accounts import JPEG, PAGE_ID, PAGE_TOKEN, X_ACCOUNT, X_CREDENTIALS


def x_auth() -> OAuth1:
    return OAuth1(
        X_CREDENTIALS["consumer_key"],
        client_secret=X_CREDENTIALS["consumer_secret"],
        resource_owner_key=X_CREDENTIALS["access_token"],
        resource_owner_secret=X_CREDENTIALS["access_token_secret"],
    )


def test_signed_request_to_the_fake_itself_is_accepted(fake):
    answer = requests.get(f"{fake.base_url}/2/users/me", auth=x_auth(), timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"data": {"id": X_ACCOUNT, "name": "Council", "username": "council"}}
    for header in ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"):
        assert answer.headers[header].isdigit()


def test_unsigned_x_request_gets_problem_json_401(fake):
    answer = requests.post(f"{fake.base_url}/2/tweets", json={"text": "hi"}, timeout=5)
    assert answer.status_code == 401
    assert answer.json() == {
        "title": "Unauthorized",
        "detail": "Unauthorized",
        "type": "about:blank",
        "status": 401,
    }


def test_replayed_oauth_nonce_is_refused(fake):
    session = requests.Session()
    prepared = requests.Request("GET", f"{fake.base_url}/2/users/me", auth=x_auth()).prepare()
    try:
        assert session.send(prepared, timeout=5).status_code == 200
        assert session.send(prepared, timeout=5).status_code == 401
    finally:
        session.close()


def test_max_results_outside_the_documented_range_is_invalid(fake):
    answer = requests.get(
        f"{fake.base_url}/2/users/{X_ACCOUNT}/tweets",
        params={"max_results": 500},
        auth=x_auth(),
        timeout=5,
    )
    assert answer.status_code == 400
    assert answer.json()["type"] == "https://api.twitter.com/2/problems/invalid-request"


def test_header_fault_rate_limit_has_the_reset_headers(fake):
    before = time.time()
    answer = requests.get(
        f"{fake.base_url}/2/users/me",
        auth=x_auth(),
        headers={"X-Fake-Fault": "rate_limit; reset_in=30"},
        timeout=5,
    )
    assert answer.status_code == 429
    assert answer.headers["x-rate-limit-remaining"] == "0"
    assert before + 29 <= int(answer.headers["x-rate-limit-reset"]) <= time.time() + 31


def test_malformed_fault_header_is_a_400(fake):
    answer = requests.get(
        f"{fake.base_url}/2/users/me", auth=x_auth(), headers={"X-Fake-Fault": "explode"}, timeout=5
    )
    assert answer.status_code == 400


def test_graph_error_body_and_usage_header(fake):
    answer = requests.get(f"{fake.base_url}/v23.0/me", params={"access_token": "nope"}, timeout=5)
    error = answer.json()["error"]
    assert answer.status_code == 400
    assert error["type"] == "OAuthException"
    assert error["code"] == 190
    assert error["fbtrace_id"]
    assert set(json.loads(answer.headers["x-app-usage"])) == {
        "call_count",
        "total_cputime",
        "total_time",
    }


def test_graph_accepts_the_token_in_an_authorization_header(fake):
    answer = requests.get(
        f"{fake.base_url}/v23.0/me", headers={"Authorization": f"Bearer {PAGE_TOKEN}"}, timeout=5
    )
    assert answer.json() == {"id": PAGE_ID, "name": "Anytown Council"}


def test_header_drop_closes_without_an_answer_and_records_nothing(fake):
    with pytest.raises(requests.ConnectionError):
        requests.post(
            f"{fake.base_url}/v23.0/{PAGE_ID}/feed",
            data={"message": "never", "access_token": PAGE_TOKEN},
            headers={"X-Fake-Fault": "drop"},
            timeout=5,
        )
    assert fake.posts() == []


def test_header_lost_answer_records_the_post_then_closes(fake):
    with pytest.raises(requests.ConnectionError):
        requests.post(
            f"{fake.base_url}/v23.0/{PAGE_ID}/feed",
            data={"message": "recorded", "access_token": PAGE_TOKEN},
            headers={"X-Fake-Fault": "lost_answer"},
            timeout=5,
        )
    assert [p["text"] for p in fake.posts()] == ["recorded"]


def test_fault_times_counts_down(fake):
    fake.inject_fault("error", account_id=PAGE_ID, status=500, times=2)
    statuses = [
        requests.get(
            f"{fake.base_url}/v23.0/me", params={"access_token": PAGE_TOKEN}, timeout=5
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [500, 500, 200]


def test_persistent_latency_fault_until_cleared(fake):
    fake.inject_fault("latency", latency_ms=1, times=None)
    assert len(requests.get(f"{fake.base_url}/_fake/faults", timeout=5).json()["faults"]) == 1
    requests.get(f"{fake.base_url}/v23.0/me", params={"access_token": PAGE_TOKEN}, timeout=5)
    assert len(requests.get(f"{fake.base_url}/_fake/faults", timeout=5).json()["faults"]) == 1
    fake.clear_faults()
    assert requests.get(f"{fake.base_url}/_fake/faults", timeout=5).json()["faults"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "explode"},
        {"kind": "error", "status": "five hundred"},
        {"kind": "drop", "colour": "red"},
        {"kind": "error_after"},  # Graph only: says which platform
        {"kind": "error_after", "platform": "x"},
    ],
)
def test_bad_fault_registrations_are_refused(fake, body):
    answer = requests.post(f"{fake.base_url}/_fake/faults", json=body, timeout=5)
    assert answer.status_code == 400


def test_account_registration_needs_the_platforms_credentials(fake):
    answer = requests.post(
        f"{fake.base_url}/_fake/accounts",
        json={"platform": "x", "account_id": "9", "credentials": {"access_token": "t"}},
        timeout=5,
    )
    assert answer.status_code == 400
    assert "consumer_key" in answer.json()["error"]


def test_accepted_images_can_be_downloaded_and_reset_clears(fake):
    requests.post(
        f"{fake.base_url}/v23.0/{PAGE_ID}/photos",
        data={"message": "pic", "access_token": PAGE_TOKEN, "alt_text_custom": "alt"},
        files={"source": ("a.jpg", JPEG, "image/jpeg")},
        timeout=5,
    ).raise_for_status()
    (post,) = fake.posts("facebook", PAGE_ID)
    image = requests.get(post["media"][0]["url"], timeout=5)
    assert image.content == JPEG
    assert image.headers["Content-Type"] == "image/jpeg"

    fake.reset(keep_accounts=True)
    assert fake.posts() == []
    assert requests.get(f"{fake.base_url}/v23.0/me", params={"access_token": PAGE_TOKEN}).ok


def test_tiny_jpeg_is_a_jpeg_and_shades_differ():
    assert sniff_image_type(tiny_jpeg()) == "image/jpeg"
    assert tiny_jpeg(1) != tiny_jpeg(2)
    assert tiny_jpeg(5).endswith(b"\xff\xd9")
    with pytest.raises(ValueError):
        tiny_jpeg(9)


def test_cli_accounts_file_is_checked(tmp_path):
    good = tmp_path / "accounts.json"
    good.write_text(
        json.dumps(
            [{"platform": "facebook", "account_id": "1", "credentials": {"access_token": "t"}}]
        )
    )
    (account,) = load_accounts(good)
    assert (account.platform, account.account_id, account.name) == ("facebook", "1", "1")

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"platform": "myspace", "account_id": "1", "credentials": {}}]))
    result = CliRunner().invoke(fakeplatform, ["--accounts", str(bad), "--port", "0"])
    assert result.exit_code == 2
    assert "platform must be one of" in result.output


def test_oauth_timestamp_far_off_is_refused(fake):
    stale = OAuth1(
        X_CREDENTIALS["consumer_key"],
        client_secret=X_CREDENTIALS["consumer_secret"],
        resource_owner_key=X_CREDENTIALS["access_token"],
        resource_owner_secret=X_CREDENTIALS["access_token_secret"],
        timestamp=str(int(time.time()) - 3600),
    )
    assert requests.get(f"{fake.base_url}/2/users/me", auth=stale, timeout=5).status_code == 401


def test_bearer_user_token_is_accepted_when_registered(fake):
    fake.register_account(
        "x", "77", {**X_CREDENTIALS, "access_token": "77-x", "bearer_token": "oauth2-user-token"}
    )
    answer = requests.get(
        f"{fake.base_url}/2/users/me",
        headers={"Authorization": "Bearer oauth2-user-token"},
        timeout=5,
    )
    assert answer.json()["data"]["id"] == "77"


def test_demo_accounts_are_valid_registrations():
    accounts = accounts_from(list(DEMO_ACCOUNTS))
    assert sorted(a.platform for a in accounts) == [
        "bluesky",
        "facebook",
        "instagram",
        "mastodon",
        "x",
    ]


def test_posts_record_arrival_before_injected_latency(fake):
    fake.inject_fault("latency", account_id=PAGE_ID, latency_ms=50)
    requests.post(
        f"{fake.base_url}/v23.0/{PAGE_ID}/feed",
        data={"message": "slow", "access_token": PAGE_TOKEN},
        timeout=5,
    ).raise_for_status()
    (post,) = fake.posts()
    # Arrival is stamped before the injected sleep, creation after it.
    assert post["received_at"] + 0.04 <= post["created_at"]


def test_people_can_see_what_was_published(fake):
    requests.post(
        f"{fake.base_url}/v23.0/{PAGE_ID}/photos",
        data={"message": "<b>Fun day</b>", "access_token": PAGE_TOKEN, "alt_text_custom": "A fair"},
        files={"source": ("a.jpg", JPEG, "image/jpeg")},
        timeout=5,
    ).raise_for_status()
    page = requests.get(f"{fake.base_url}/_fake/", timeout=5)
    assert page.headers["Content-Type"].startswith("text/html")
    assert "&lt;b&gt;Fun day&lt;/b&gt;" in page.text  # escaped, not rendered
    assert 'alt="A fair"' in page.text

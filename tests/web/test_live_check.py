"""``POST /posts/check``: the live checks while an officer types (issue 22, item 3).

The same protections as the forms (session, CSRF token in the X-CSRFToken header, the forms'
roles), the same guardrails as the submit with the same wording, each chosen channel counted as
its platform counts, bad input refused with a clear message, and nothing ever saved.
"""

from __future__ import annotations

import html
from datetime import date

import pytest
from sqlalchemy import func, select

from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import AuditEntry, Delivery, Election, Post, PostImage
from tests.conftest import AuthActions, csrf_token_from
from tests.support.channels import ChannelSpec, add_channels
from tests.web.conftest import BLOCKED_TEXT, CLEAN_TEXT, TOMORROW, png
from tests.web.helpers import get, submit

URL = "/posts/check"
JSON = {"Accept": "application/json"}
#: Naming a party: referred to the monitoring officer at other times, blocked inside a
#: pre-election period.
CAMPAIGN_TEXT = "The Labour Party group visited the depot today."
#: 12 characters, an emoji (X: 2), 5 characters and a link (X: 23, whatever its length).
LINK_AND_EMOJI = "Road closed \U0001f6a7 see https://example.org/roads/a-long-path-to-the-page"


def _token(client, path: str = "/") -> str:
    return csrf_token_from(client.get(path).get_data(as_text=True))


def _check(client, body, *, token: str | None = "fetch", status: int = 200):
    headers = dict(JSON)
    if token == "fetch":
        token = _token(client)
    if token is not None:
        headers["X-CSRFToken"] = token
    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    return response.get_json()


def _counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Post, Delivery, PostImage, AuditEntry)
        }


def _election(app, polling_day=date(2027, 4, 1)):
    with app.app_context():
        db.session.add(Election(kind="local", polling_day=polling_day))
        db.session.commit()


def _duty_officer(app):
    client = app.test_client()
    client.environ_base["HTTP_REFERER"] = "https://localhost/"
    AuthActions(app, client).sign_in_as(Role.DUTY_OFFICER)
    return client


# Protections ------------------------------------------------------------------------------


def test_a_check_without_the_csrf_token_is_refused(app, people, channels, clock):
    a = people["a"]
    body = {"text": CLEAN_TEXT, "channels": [channels["x"]]}
    missing = _check(a, body, token=None, status=400)
    assert "Reload the page" in missing["detail"]
    wrong = _check(a, body, token="not-the-token", status=400)
    assert "Reload the page" in wrong["detail"]
    # The form's own token, sent as Flask-WTF's X-CSRFToken header, is accepted.
    assert _check(a, body, token=_token(a, "/posts/new"))["channels"]


def test_signed_out_is_refused_in_json_not_sent_to_the_sign_in_page(app, client, channels, clock):
    # No session, so no CSRF token either: refused before anything else is looked at.
    response = client.post(URL, json={"text": CLEAN_TEXT}, headers=JSON)
    assert response.status_code == 400
    assert "Reload the page" in response.get_json()["detail"]
    # With the token of a signed-out page (the sign-in form's): 401, not a redirect.
    token = _token(client, "/sign-in")
    response = client.post(URL, json={"text": CLEAN_TEXT}, headers={**JSON, "X-CSRFToken": token})
    assert response.status_code == 401
    assert response.get_json()["error"] == "You need to sign in"


@pytest.mark.parametrize("who", ["auditor", "admin", "mo"])
def test_only_officers_and_duty_officers_may_check(app, people, channels, clock, who):
    client = people[who]
    body = {"text": CLEAN_TEXT, "channels": [channels["x"]]}
    refused = _check(client, body, status=403)
    assert refused["error"] == "You do not have permission to see this page"


def test_an_emergency_check_is_for_duty_officers_only(app, people, channels, clock):
    body = {"text": CLEAN_TEXT, "channels": [channels["x"]], "emergency": True}
    _check(people["a"], body, status=403)
    duty = _duty_officer(app)
    assert _check(duty, {**body, "emergency_category": "flooding"})["emergency"] is True
    # A duty officer checks ordinary posts too: the new-post form is theirs as well.
    assert _check(duty, {**body, "emergency": False})["emergency"] is False


# The guardrails, as the pages show them ------------------------------------------------------


def test_a_party_political_text_in_an_election_period_is_found_as_the_submit_finds_it(
    app, people, channels, clock
):
    _election(app)
    a = people["a"]
    body = {
        "text": CAMPAIGN_TEXT,
        "channels": [channels["x"], channels["facebook"]],
        "publish_date": TOMORROW["publish_date"],
        "publish_time": TOMORROW["publish_time"],
    }
    found = _check(a, body)
    assert found["blocked"] is True
    political = [f for f in found["findings"] if f["rule"].startswith("party_political.")]
    assert political, found["findings"]
    first = political[0]
    assert first["outcome"] == "block" and first["outcome_label"] == "Blocked"
    assert first["clause"]  # the policy it cites
    assert sorted(first["channels"]) == sorted([channels["x"], channels["facebook"]])
    assert found["checked_for"].startswith("Checked for when it goes out: Wednesday 10 March")

    # The submit refuses it, and its page shows each finding in the same words and clause.
    page = submit(
        a,
        get(a, "/posts/new"),
        {"text": CAMPAIGN_TEXT, "channels": [str(c) for c in body["channels"]], **TOMORROW},
        button=("action", "submit"),
    )
    assert page.status == 400
    shown = page.text()
    for finding in found["findings"]:
        assert finding["reason"] in shown
        assert f"Policy: {finding['clause']}" in shown
    # The live panel is the page's own markup, with the same ids the error summary links to.
    panel = found["html"]["findings"]
    assert 'id="finding-1"' in panel
    assert first["reason"] in html.unescape(panel)
    assert f"Policy: {first['clause']}" in html.unescape(panel)


def test_the_same_text_outside_the_period_is_referred_not_blocked(app, people, channels, clock):
    _election(app, polling_day=date(2027, 11, 4))
    found = _check(people["a"], {"text": CAMPAIGN_TEXT, "channels": [channels["facebook"]]})
    assert not found["blocked"], found["findings"]
    assert [f["outcome"] for f in found["findings"]] == ["refer"]
    assert "Referred" in found["html"]["findings"] or "refer" in found["html"]["findings"].lower()


def test_findings_for_the_words_show_before_any_channel_is_chosen(app, people, channels, clock):
    found = _check(people["a"], {"text": BLOCKED_TEXT, "channels": []})
    assert found["content_only"] is True and found["channels"] == []
    assert [f["rule"] for f in found["findings"] if f["outcome"] == "block"]
    assert all(not f["rule"].startswith("platform.") for f in found["findings"])
    assert "Choose channels" in found["html"]["counts"]


def test_the_time_it_goes_out_is_the_time_checked(app, people, channels, clock):
    a = people["a"]
    body = {"text": CLEAN_TEXT, "channels": [channels["facebook"]]}
    saturday = _check(a, {**body, "publish_date": ["13", "3", "2027"], "publish_time": "10am"})
    assert [f["rule"] for f in saturday["findings"]] == ["office_hours"]
    assert saturday["blocked"] is True
    weekday = _check(a, {**body, "publish_date": ["10", "3", "2027"], "publish_time": "10am"})
    assert weekday["findings"] == [] and not weekday["blocked"]
    assert "found nothing to change" in weekday["html"]["findings"]
    # Half typed, or in the past: checked for now, and the answer says so.
    for day, at in (
        (["10", "3", ""], "10am"),
        (["10", "3", "2027"], "10"),
        (["1", "1", "2027"], "10am"),
    ):
        found = _check(a, {**body, "publish_date": day, "publish_time": at})
        assert found["checked_for"].startswith("Checked as if it went out now")
    assert _check(a, body)["checked_for"] == (
        "Checked as if it went out now: enter the date and time it goes out."
    )


def test_an_emergency_check_says_which_channel_would_be_left_out(app, channels, clock):
    ig = add_channels(
        app,
        "http://127.0.0.1:9",
        [ChannelSpec("instagram", "Council Instagram", "17841400000000002", {"access_token": "t"})],
    )["instagram"]
    duty = _duty_officer(app)
    body = {
        "text": "Flood warning: the river is rising at the quay. Move cars from Quay Street.",
        "channels": [channels["x"], ig],
        "emergency": True,
        "emergency_category": "flooding",
    }
    found = _check(duty, body)
    by_id = {c["id"]: c for c in found["channels"]}
    assert "Instagram posts need an image" in by_id[ig]["left_out"]
    assert by_id[channels["x"]]["left_out"] is None
    assert "Left out: Instagram posts need an image" in found["html"]["counts"]
    assert found["checked_for"] == "Checked for now: an emergency post goes out at once."
    with_image = _check(
        duty,
        {
            **body,
            "images": [
                {
                    "filename": "quay.jpg",
                    "content_type": "image/jpeg",
                    "size_bytes": 50_000,
                    "width": 1200,
                    "height": 900,
                    "alt_text": "Water over the quay wall beside the harbour office",
                }
            ],
        },
    )
    assert all(c["left_out"] is None for c in with_image["channels"])
    unknown = _check(duty, {**body, "emergency_category": "picnic"}, status=400)
    assert unknown["detail"] == "'picnic' is not an emergency category."


def test_image_facts_are_checked_as_a_saved_image_would_be(app, people, channels, clock):
    image = {
        "filename": "IMG_2041.png",
        "content_type": "image/png",
        "size_bytes": 1000,
        "width": 40,
        "height": 30,
        "alt_text": "IMG_2041.png",
    }
    found = _check(
        people["a"], {"text": CLEAN_TEXT, "channels": [channels["x"]], "images": [image]}
    )
    alt = [f for f in found["findings"] if f["rule"] == "accessibility.alt_text"]
    assert alt and alt[0]["outcome"] == "block" and "file name" in alt[0]["reason"]


def test_the_images_saved_with_a_post_being_edited_are_checked(app, people, channels, clock):
    a = people["a"]
    page = get(a, "/posts/new")
    saved = submit(
        a,
        page,
        {
            "text": CLEAN_TEXT,
            "channels": [str(channels["x"])],
            "images-0-alt_text": "photo",
            **TOMORROW,
        },
        files={"images-0-file": (png(), "bins.png")},
        button=("action", "save"),
    )
    assert saved.status == 302
    post_id = int(saved.response.headers["Location"].split("/")[-2])
    found = _check(a, {"text": CLEAN_TEXT, "channels": [channels["x"]], "post_id": post_id})
    assert any(f["rule"] == "accessibility.alt_text" for f in found["findings"])
    assert f"/posts/{post_id}/images/" in found["html"]["previews"]
    missing = _check(a, {"text": CLEAN_TEXT, "channels": [], "post_id": 2**31 - 1}, status=400)
    assert "open the post again" in missing["detail"]


# Counting as each platform counts ---------------------------------------------------------


def test_x_and_facebook_count_differently(app, people, channels, clock):
    found = _check(
        people["a"], {"text": LINK_AND_EMOJI, "channels": [channels["x"], channels["facebook"]]}
    )
    by_platform = {c["platform"]: c for c in found["channels"]}
    x, facebook = by_platform["x"], by_platform["facebook"]
    assert (x["limit"], x["count"], x["remaining"]) == (280, 12 + 2 + 5 + 23, 280 - 42)
    assert facebook["limit"] == 63_206
    assert facebook["count"] == len(LINK_AND_EMOJI) == 67
    assert facebook["remaining"] == 63_206 - 67
    counts = found["html"]["counts"]
    assert "Council on X (X):\n    you have 238 characters remaining" in counts
    assert "you have 63,139 characters remaining" in counts
    assert x["name"] == "Council on X" and x["platform_name"] == "X"


@pytest.mark.parametrize(
    ("text", "x_count"),
    [
        (
            "\U0001f468\u200d\U0001f469\u200d\U0001f467",
            2,
        ),  # a family: one emoji of five code points
        ("\U0001f44d\U0001f3fd", 2),  # a thumbs up with a skin tone
        ("e\u0301t\u00e9", 3),  # é as e and a combining accent, then é: counted once each
        ("\u65e5\u672c", 4),  # CJK characters weigh 2 on X
        ("Caf\u00e9 cl\u00f4tur\u00e9", 12),  # Latin with accents weighs 1
        ("\u0645\u0631\u062d\u0628\u0627", 5),  # Arabic weighs 1
    ],
)
def test_unicode_is_counted_as_x_counts_it(app, people, channels, clock, text, x_count):
    found = _check(people["a"], {"text": text, "channels": [channels["x"]]})
    (x,) = found["channels"]
    assert x["count"] == x_count
    assert x["remaining"] == 280 - x_count


def test_over_xs_limit_is_shown_as_too_many_and_blocked(app, people, channels, clock):
    text = "\u65e5" * 141  # 282 as X weighs it, 141 for Facebook
    found = _check(people["a"], {"text": text, "channels": [channels["x"], channels["facebook"]]})
    by_platform = {c["platform"]: c for c in found["channels"]}
    assert by_platform["x"]["over"] and by_platform["x"]["remaining"] == -2
    assert not by_platform["facebook"]["over"]
    assert "you have 2 characters too many" in found["html"]["counts"]
    length = [f for f in found["findings"] if f["rule"] == "platform.x.length"]
    assert length and length[0]["channels"] == [channels["x"]]


def test_an_empty_text_is_counted_not_refused(app, people, channels, clock):
    found = _check(people["a"], {"text": "   ", "channels": [channels["x"]]})
    assert found["findings"] == []
    assert found["channels"][0]["remaining"] == 280


# Bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ([1, 2], "Send the check as a JSON object"),
        ({"channels": []}, "“text” must be text."),
        ({"text": 12}, "“text” must be text."),
        ({"text": "x", "channels": "1"}, "“channels” must be a list"),
        ({"text": "x", "channels": [0]}, "“channels” must be a list"),
        ({"text": "x", "channels": [True]}, "“channels” must be a list"),
        ({"text": "x", "channels": [10**30]}, "“channels” must be a list"),
        ({"text": "x", "channels": [2**31 - 1]}, "One of the chosen channels does not exist."),
        ({"text": "x", "emergency": "yes"}, "“emergency” must be true or false."),
        ({"text": "x", "images": [{"width": -1}]}, "Image 1's “width” must be a whole number."),
        ({"text": "x", "images": ["a.png"]}, "Image 1's details must be a JSON object."),
        ({"text": "x", "images": [{}] * 5}, "Add at most 4 images."),
        ({"text": "x", "publish_date": "10/3/2027"}, "“publish_date” must be the day"),
        ({"text": "a" * 63_207}, "The text must be 63,206 characters or fewer"),
    ],
)
def test_bad_input_is_a_400_that_says_what_is_wrong(app, people, channels, clock, body, detail):
    refused = _check(people["a"], body, status=400)
    assert refused["error"] == "There is a problem with your request"
    assert detail in refused["detail"]


def test_a_disabled_channel_is_refused_as_the_form_refuses_it(app, people, channels, clock):
    refused = _check(
        people["a"], {"text": CLEAN_TEXT, "channels": [channels["instagram"]]}, status=400
    )
    assert refused["detail"] == "Old Instagram is disabled: choose another channel."
    assert refused["field"] == "channels"


def test_a_body_that_is_not_json_is_refused(app, people, channels, clock):
    a = people["a"]
    response = a.post(
        URL,
        data="text=hello",
        headers={**JSON, "X-CSRFToken": _token(a)},
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert "Send the check as JSON" in response.get_json()["detail"]


def test_a_hidden_character_is_refused_by_name(app, people, channels, clock):
    refused = _check(people["a"], {"text": "Bins \u202eon Wednesday"}, status=400)
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in refused["detail"]


def test_what_is_typed_is_escaped_in_the_fragments(app, people, channels, clock):
    found = _check(
        people["a"],
        {"text": "<script>alert(1)</script> & more", "channels": [channels["facebook"]]},
    )
    previews = found["html"]["previews"]
    assert "<script>" not in previews
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in previews


# Nothing saved ----------------------------------------------------------------------------


def test_a_check_saves_nothing(app, people, channels, clock, tmp_path):
    _election(app)
    a = people["a"]
    duty = _duty_officer(app)
    before = _counts(app)
    image = {
        "filename": "bins.jpg",
        "content_type": "image/jpeg",
        "size_bytes": 2000,
        "width": 400,
        "height": 300,
        "alt_text": "A bin lorry on Station Road",
    }
    for client, body in (
        (a, {"text": CAMPAIGN_TEXT, "channels": [channels["x"]], "images": [image]}),
        (a, {"text": BLOCKED_TEXT, "channels": [channels["x"], channels["facebook"]]}),
        (a, {"text": CLEAN_TEXT, "channels": [], **TOMORROW}),
        (
            duty,
            {
                "text": CLEAN_TEXT,
                "channels": [channels["x"]],
                "emergency": True,
                "emergency_category": "flooding",
            },
        ),
    ):
        _check(client, body)
    assert _counts(app) == before
    with app.app_context():
        images = app.config.get("IMAGE_FOLDER")
    folder = tmp_path / "instance" / "images"
    assert images is None or not folder.exists() or not any(folder.iterdir())


# The pages -----------------------------------------------------------------------------------


def test_the_forms_offer_the_live_check_and_count_per_channel_without_javascript(
    app, people, channels, clock
):
    a = people["a"]
    page = get(a, "/posts/new")
    form = page.soup.select_one("form[data-live-check]")
    assert form is not None and form["data-live-check"] == URL
    assert page.soup.select_one("#live-findings")["aria-live"] == "polite"
    assert page.soup.select_one("#channel-counts") is not None
    assert "X allows 280 characters" in page.text()
    # Without JavaScript a save shows each chosen channel's count, as its platform counts it.
    saved = submit(
        a,
        page,
        {
            "text": LINK_AND_EMOJI,
            "channels": [str(channels["x"]), str(channels["facebook"])],
            **TOMORROW,
        },
        button=("action", "save"),
    )
    edit = get(a, saved.response.headers["Location"])
    counts = " ".join(edit.soup.select_one("#channel-counts").get_text(" ").split())
    assert "Council on X (X): you have 238 characters remaining" in counts
    assert "Council Facebook Page (Facebook Page): you have 63,139 characters remaining" in counts
    assert edit.soup.select_one("form[data-live-check]")["data-post-id"]


def test_the_emergency_form_offers_the_live_check_as_an_emergency(app, channels, clock):
    duty = _duty_officer(app)
    page = get(duty, "/emergency")
    form = page.soup.select_one("form[data-live-check]")
    assert form["data-live-check"] == URL and form["data-emergency"] == "true"
    assert page.soup.select_one("#channel-counts") is not None
    assert page.soup.select_one("#live-previews") is not None
    assert page.soup.select_one("#image")["data-alt-text"] == "alt_text"

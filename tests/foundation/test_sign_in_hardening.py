"""Sign-in hardening (issue 20): what a failed sign-in logs, the per-account and per-address
limits (failures only), HSTS over HTTPS, and a ``next`` that cannot break or leave the site."""

import json

import pytest
from sqlalchemy import select

from gateway.auth.identifiers import typed_identifier_digest
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import AuditEntry
from tests.conftest import TEST_PASSWORD, csrf_token_from


def _sign_in(client, email, password=TEST_PASSWORD, address="192.0.2.1", next_=None):
    """The real form, from the given client address (REMOTE_ADDR, as the server sees it)."""
    environ = {"REMOTE_ADDR": address}
    page = client.get("/sign-in", environ_base=environ)
    token = csrf_token_from(page.get_data(as_text=True))
    url = "/sign-in" if next_ is None else f"/sign-in?next={next_}"
    return client.post(
        url,
        data={"email": email, "password": password, "csrf_token": token},
        environ_base=environ,
    )


def _fresh(app):
    client = app.test_client()
    client.environ_base["HTTP_REFERER"] = "https://localhost/"
    return client


def _failures(app):
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "auth.sign_in_failed")
        ).all()
        return [bytes(r.leaf) for r in rows]


def test_a_failed_sign_in_logs_a_keyed_hash_of_the_typed_email_never_the_text(app, client, auth):
    user_id, email = auth.create_user(Role.OFFICER)
    typed_password = "My-Secret-Passphrase-Typed-In-The-Wrong-Box"
    assert _sign_in(client, typed_password, "whatever-was-in-the-password-box").status_code == 400
    assert _sign_in(client, f"  {email.upper()} ", "not-the-right-password").status_code == 400

    unknown, known = _failures(app)
    for leaf in (unknown, known):
        lowered = leaf.lower()
        assert typed_password.lower().encode() not in lowered
        assert email.encode() not in lowered
        assert b"whatever-was-in" not in lowered and b"not-the-right" not in lowered
    secret = app.config["SECRET_KEY"]
    unknown, known = json.loads(unknown), json.loads(known)
    # Someone holding the key can check which address was typed; the same address, however
    # it was typed, gives the same value.
    assert unknown["payload"]["email_hmac"] == typed_identifier_digest(typed_password, secret)
    assert known["payload"]["email_hmac"] == typed_identifier_digest(email, secret)
    assert "email" not in unknown["payload"] and unknown["object"] is None
    assert known["object"] == {"type": "user", "id": str(user_id)}


def test_an_account_is_locked_after_failures_from_many_addresses_but_not_its_neighbours(app, auth):
    app.config["SIGNIN_ACCOUNT_RATE_LIMIT"] = "3 per minute"
    _, target = auth.create_user(Role.OFFICER)
    _, neighbour = auth.create_user(Role.OFFICER)
    guesses = [
        _sign_in(_fresh(app), target, "wrong-guess-00000", address=f"198.51.100.{i}").status_code
        for i in range(1, 4)
    ]
    assert guesses == [400, 400, 400]
    # From yet another address, even the right password waits for the window.
    assert _sign_in(_fresh(app), target, address="198.51.100.99").status_code == 429
    # The same address, another account: signs in.
    assert _sign_in(_fresh(app), neighbour, address="198.51.100.99").status_code == 302
    # Typed differently, still the same account.
    assert _sign_in(_fresh(app), f" {target.upper()}", address="203.0.113.5").status_code == 429


def test_successful_sign_ins_do_not_use_up_the_limits(app, auth):
    app.config["SIGNIN_RATE_LIMIT"] = "3 per minute"
    app.config["SIGNIN_ACCOUNT_RATE_LIMIT"] = "2 per minute"
    _, email = auth.create_user(Role.OFFICER)
    office = "192.0.2.50"  # the whole office behind one address
    for _ in range(5):
        assert _sign_in(_fresh(app), email, address=office).status_code == 302
    others = [auth.create_user(Role.OFFICER)[1] for _ in range(3)]
    for other in others:
        assert _sign_in(_fresh(app), other, address=office).status_code == 302
    # Failures still count, per address.
    codes = [
        _sign_in(_fresh(app), other, "wrong-guess-11111", address=office).status_code
        for other in others
    ]
    assert codes == [400, 400, 400]
    assert _sign_in(_fresh(app), email, address=office).status_code == 429


def test_a_wrong_current_password_on_the_change_page_counts_towards_the_limit(app, client, auth):
    app.config["SIGNIN_RATE_LIMIT"] = "2 per minute"
    auth.sign_in_as(Role.OFFICER)
    codes = []
    for _ in range(3):
        token = csrf_token_from(client.get("/account/password").get_data(as_text=True))
        codes.append(
            client.post(
                "/account/password",
                data={
                    "csrf_token": token,
                    "current_password": "not-my-password-at-all",
                    "new_password": "a-fresh-and-rather-long-passphrase-7",
                    "confirm_password": "a-fresh-and-rather-long-passphrase-7",
                },
            ).status_code
        )
    assert codes == [400, 400, 429]


def test_hsts_is_sent_over_https_only(client):
    https = client.get("/sign-in", base_url="https://localhost")
    assert https.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    plain = client.get("/sign-in", base_url="http://localhost")
    assert "Strict-Transport-Security" not in plain.headers


@pytest.mark.parametrize(
    "next_",
    [
        "/%0d%0aSet-Cookie:%20planted=1",
        "/%0aLocation:%20https://evil.example/",
        "/%09/evil.example/",
        "/%5Cevil.example/",
        "%2F%2Fevil.example",
        "https://evil.example/",
    ],
)
def test_a_next_that_is_not_a_plain_local_path_goes_to_the_dashboard(app, auth, next_):
    _, email = auth.create_user(Role.OFFICER)
    client = _fresh(app)
    assert client.get(f"/sign-in?next={next_}").status_code == 200
    response = _sign_in(client, email, next_=next_)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "planted" not in response.headers.get("Set-Cookie", "")


def test_a_local_next_is_still_followed(app, auth):
    _, email = auth.create_user(Role.OFFICER)
    response = _sign_in(_fresh(app), email, next_="/schedule%3Fstart%3D2027-03-08")
    assert response.headers["Location"] == "/schedule?start=2027-03-08"


def test_an_auditor_with_the_key_finds_an_addresss_failed_sign_ins(app, client, runner):
    from gateway.cli import main

    assert (
        _sign_in(client, "Jo.Bloggs@Council.example", "not-the-right-password").status_code == 400
    )
    result = runner.invoke(main, ["users", "sign-in-digest", "jo.bloggs@council.example"])
    assert result.exit_code == 0, result.output
    [leaf] = _failures(app)
    assert json.loads(leaf)["payload"]["email_hmac"] == result.output.strip()

"""What a forged, replayed or stale answer from the provider gets: no sign-in, a clear page,
a publish-log entry. The ID tokens come from the real provider's token endpoint, spoiled on
the way out where a correct provider would never send them (tests/oidc/provider.mjs)."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import time_machine
from sqlalchemy import func, select

from gateway.extensions import db
from gateway.models import User
from tests.oidc.conftest import entries


def _users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def _refused(app, sso, response, reason: str, status: int = 400) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:800]
    page = response.get_data(as_text=True)
    assert "You have not been signed in" in page
    assert sso.client.get("/").status_code == 302  # still signed out
    failure = entries(app, "auth.sso_failed")[-1][1]
    assert failure["payload"]["reason"] == reason
    assert failure["actor"]["kind"] == "anonymous"
    return failure["payload"]


@pytest.mark.parametrize(
    ("how", "check"),
    [
        ("signature", "bad_signature"),
        ("foreign_key", "bad_signature"),
        ("alg_none", "unsupported_algorithm"),
        ("aud", "claim:aud"),
        # The token names another application and says we are its "authorized party": Authlib
        # on its own lets that through; the gateway asks it to check the audience.
        ("aud_azp", "claim:aud"),
        ("iss", "claim:iss"),
        ("expired", "expired"),
        ("nonce", "claim:nonce"),
    ],
)
def test_a_spoiled_id_token_signs_nobody_in(app, sso, idp, how, check):
    before = _users(app)
    idp.tamper(how)
    response = sso.sign_in("bob")
    payload = _refused(app, sso, response, "id_token_rejected")
    assert payload["check"] == check
    assert "could not be trusted" in response.get_data(as_text=True)
    assert _users(app) == before
    # The same person, with an honest token, then signs in.
    idp.tamper(None)
    assert sso.sign_in("bob").status_code == 302


def test_an_id_token_expired_by_the_gateways_clock_is_refused(app, sso, idp):
    """The provider's real token (valid 5 minutes) reaching a gateway whose clock is 15
    minutes later: past its expiry and the minute of leeway."""
    callback = sso.at_idp(sso.begin(), "bob")
    with time_machine.travel(datetime.now().astimezone() + timedelta(minutes=15), tick=True):
        response = sso.callback(callback)
    assert _refused(app, sso, response, "id_token_rejected")["check"] == "expired"


def test_a_nonce_other_than_the_one_sent_is_refused(app, sso, idp):
    """Someone swaps the nonce in the request the browser takes to the provider: the real
    provider puts that nonce in its token, and it is not the one this sign-in sent."""
    url = urlsplit(sso.begin())
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    query["nonce"] = "an-attackers-nonce-0123456789"
    swapped = urlunsplit(url._replace(query=urlencode(query)))
    response = sso.callback(sso.at_idp(swapped, "bob"))
    assert _refused(app, sso, response, "id_token_rejected")["check"] == "claim:nonce"


def test_a_replayed_callback_is_refused(app, sso, another_sso, idp, auth):
    callback = sso.at_idp(sso.begin(), "bob")
    assert sso.callback(callback).status_code == 302
    auth.sign_out()
    # The same browser, or another one that copied the address: the state was used up.
    _refused(app, sso, sso.callback(callback), "state_mismatch")
    _refused(app, another_sso, another_sso.callback(callback), "state_mismatch")


def test_a_used_authorization_code_is_refused_by_the_provider(app, sso, idp, auth):
    """The code of a finished sign-in sent again with a new, valid state: the provider
    refuses a code it has already exchanged (and the PKCE verifier is not its own)."""
    first = sso.at_idp(sso.begin(), "bob")
    assert sso.callback(first).status_code == 302
    auth.sign_out()
    code = parse_qs(urlsplit(first).query)["code"][0]
    state = parse_qs(urlsplit(sso.begin()).query)["state"][0]
    replay = f"https://localhost/sign-in/oidc/callback?{urlencode({'code': code, 'state': state})}"
    payload = _refused(app, sso, sso.callback(replay), "token_refused")
    assert payload["error"] == "invalid_grant"


def test_a_callback_with_no_sign_in_begun_is_refused(app, sso):
    _refused(
        app, sso, sso.client.get("/sign-in/oidc/callback?code=abc&state=def"), "state_mismatch"
    )


def test_the_provider_refusing_the_person_is_a_clear_page(app, sso):
    sso.begin()
    response = sso.client.get(
        "/sign-in/oidc/callback?error=access_denied&error_description=%3Cscript%3E"
    )
    payload = _refused(app, sso, response, "provider_refused")
    assert payload["error"] == "access_denied"
    assert "<script>" not in response.get_data(as_text=True)

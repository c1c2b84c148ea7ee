"""Two-factor for local accounts (issue 16), through the real pages on both databases: enrolling,
signing in with a code, wrong and reused codes, recovery codes, the limit on codes, the
enrolment required before any page, an admin's reset, and secrets never kept in clear."""

from __future__ import annotations

import json
import re
import time

import pytest
import time_machine
from sqlalchemy import func, select

from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import AuditEntry, RecoveryCode, User, UserSession, UserTwoFactor
from tests.conftest import TEST_PASSWORD, AuthActions, csrf_token_from
from tests.support.two_factor import AUTHENTICATORS, Authenticator


def entries(app, action: str):
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        )
        return [json.loads(bytes(e.leaf)) for e in rows]


def _new_client(app):
    client = app.test_client()
    client.environ_base["HTTP_REFERER"] = "https://localhost/"
    return client


def _post(client, path, data, page=None):
    token = csrf_token_from(client.get(page or path).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def _password_step(client, email, password=TEST_PASSWORD):
    response = _post(client, "/sign-in", {"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/sign-in/two-factor")
    return response


def _signed_in(client) -> bool:
    response = client.get("/")
    return response.status_code == 200


def _enrol_through_the_pages(client) -> tuple[Authenticator, list[str]]:
    """What a person does on /account/two-factor: start, read the key, type the app's code."""
    page = client.get("/account/two-factor")
    assert page.status_code == 200
    started = _post(client, "/account/two-factor/start", {}, page="/account/two-factor")
    assert started.status_code == 302
    html = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'id="two-factor-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    assert 'src="data:image/svg+xml' in html  # the QR code, as a data: image (CSP)
    authenticator = Authenticator("", secret)
    response = _post(
        client,
        "/account/two-factor/confirm",
        {"code": authenticator.next_code()},
        page="/account/two-factor",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", response.get_data(as_text=True))
    return authenticator, codes


def test_an_admin_must_enrol_before_reaching_any_page(app, client, auth):
    user_id, email = auth.create_user(Role.ADMIN, two_factor=False)
    response = auth.sign_in(email)
    assert response.status_code == 302  # the password alone opens a session that only enrols
    paths = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ())
        and "<" not in rule.rule
        and rule.endpoint not in {"static", "health.healthz", "health.readyz"}
        # The JSON API takes no session (issue 17): a token, made on a page this one cannot
        # reach until it enrols.
        and not rule.endpoint.startswith(("two_factor.", "oidc.", "auth.", "api."))
    ]
    assert "/admin/" in paths and "/" in paths and len(paths) > 10
    for path in paths:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].endswith("/account/two-factor"), path
    # A POST is refused the same way, before it changes anything.
    response = _post(
        client, "/admin/users/new", {"email": "x@council.example"}, page="/account/two-factor"
    )
    assert response.headers["Location"].endswith("/account/two-factor")
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "You must set up two-factor authentication" in page

    authenticator, codes = _enrol_through_the_pages(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/admin/").status_code == 200  # now every page is open
    enrolled = entries(app, "auth.two_factor_enrolled")[-1]
    assert enrolled["actor"]["id"] == user_id and enrolled["payload"]["recovery_codes"] == 10


def test_enrolling_rotates_the_session_and_ends_the_others(app, client, auth):
    user_id, email = auth.create_user(Role.DUTY_OFFICER, two_factor=False)
    auth.sign_in(email)
    other = _new_client(app)
    AuthActions(app, other).sign_in(email)
    with app.app_context():
        before = set(db.session.scalars(select(UserSession.id)))
    _enrol_through_the_pages(client)
    with app.app_context():
        after = set(db.session.scalars(select(UserSession.id)))
    assert len(after) == 1 and not after & before  # a new id; the other device's session ended
    assert _signed_in(client)
    assert not _signed_in(other)


def test_sign_in_asks_for_the_code_after_the_password(app, client, auth):
    user_id, email = auth.create_user(Role.MONITORING_OFFICER)
    _password_step(client, email)
    # Not signed in yet: no session row, and every page sends back to sign in.
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserSession)) == 0
    response = client.get("/")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    page = client.get("/sign-in/two-factor")
    assert page.status_code == 200
    assert 'autocomplete="one-time-code"' in page.get_data(as_text=True)
    response = _post(client, "/sign-in/two-factor", {"code": AUTHENTICATORS[email].next_code()})
    assert response.status_code == 302
    assert _signed_in(client)
    signed_in = entries(app, "auth.signed_in")[-1]
    assert signed_in["payload"] == {"second_factor": "totp"}
    assert signed_in["actor"]["id"] == user_id


def test_a_wrong_code_is_refused_and_logged(app, client, auth):
    user_id, email = auth.create_user(Role.ADMIN)
    _password_step(client, email)
    authenticator = AUTHENTICATORS[email]
    wrong = f"{(int(authenticator.now()) + 1) % 1_000_000:06d}"
    response = _post(client, "/sign-in/two-factor", {"code": wrong})
    assert response.status_code == 400
    assert "The code is not right" in response.get_data(as_text=True)
    assert not _signed_in(client)
    failed = entries(app, "auth.two_factor_failed")[-1]
    assert failed["payload"]["reason"] == "wrong_code"
    assert failed["payload"]["stage"] == "sign_in"
    assert failed["object"]["id"] == str(user_id)
    assert wrong not in json.dumps(failed)  # never the code typed
    # Not a number at all: said so, and counted as a failure too.
    response = _post(client, "/sign-in/two-factor", {"code": "abcdef"})
    assert response.status_code == 400
    assert "Enter the 6-digit code" in response.get_data(as_text=True)
    # The right code still works afterwards.
    response = _post(client, "/sign-in/two-factor", {"code": authenticator.next_code()})
    assert response.status_code == 302 and _signed_in(client)


def test_a_code_is_refused_when_used_again_within_its_window(app, client, auth):
    user_id, email = auth.create_user(Role.ADMIN)
    authenticator = AUTHENTICATORS[email]
    with time_machine.travel(time.time(), tick=False):
        _password_step(client, email)
        code = authenticator.next_code()
        assert _post(client, "/sign-in/two-factor", {"code": code}).status_code == 302
        auth.sign_out()

        # Someone who watched it being typed, within the same 30 seconds:
        thief = _new_client(app)
        _password_step(thief, email)
        response = _post(thief, "/sign-in/two-factor", {"code": code})
        assert response.status_code == 400
        assert "already been used" in response.get_data(as_text=True)
        assert not _signed_in(thief)
        assert entries(app, "auth.two_factor_failed")[-1]["payload"]["reason"] == "reused_code"
        # An earlier step's code, still inside the window, is refused the same way.
        earlier = authenticator.code_at(authenticator.last_step - 1)
        response = _post(thief, "/sign-in/two-factor", {"code": earlier})
        assert response.status_code == 400


def test_recovery_codes_work_once_each(app, client, auth):
    user_id, email = auth.create_user(Role.DUTY_OFFICER)
    code = AUTHENTICATORS[email].recovery_codes[0]
    _password_step(client, email)
    # Typed in capitals and without the dash, as people do.
    response = _post(client, "/sign-in/recovery-code", {"code": code.replace("-", "").upper()})
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert "You used a recovery code: 9 left" in home.get_data(as_text=True)
    used = entries(app, "auth.recovery_code_used")[-1]
    assert used["payload"] == {"remaining": 9} and used["actor"]["id"] == user_id
    assert entries(app, "auth.signed_in")[-1]["payload"] == {"second_factor": "recovery_code"}
    auth.sign_out()

    _password_step(client, email)
    response = _post(client, "/sign-in/recovery-code", {"code": code})
    assert response.status_code == 400
    assert "already been used" in response.get_data(as_text=True)
    assert not _signed_in(client)
    assert entries(app, "auth.two_factor_failed")[-1]["payload"]["reason"] == (
        "wrong_recovery_code"
    )
    # Another of the ten still works.
    response = _post(
        client, "/sign-in/recovery-code", {"code": AUTHENTICATORS[email].recovery_codes[1]}
    )
    assert response.status_code == 302


def test_new_recovery_codes_need_a_code_and_void_the_old_ones(app, client, auth):
    with time_machine.travel(time.time(), tick=False) as clock:
        user_id, email = auth.create_user(Role.ADMIN)
        auth.sign_in(email)
        authenticator = AUTHENTICATORS[email]
        old = list(authenticator.recovery_codes)
        response = _post(
            client,
            "/account/two-factor/recovery-codes",
            {"code": "000000"},
            page="/account/two-factor",
        )
        assert response.status_code == 400
        clock.shift(60)  # the sign-in used this window's codes
        response = _post(
            client,
            "/account/two-factor/recovery-codes",
            {"code": authenticator.next_code()},
            page="/account/two-factor",
        )
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        new = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", page)
        assert len(new) == 10 and not set(new) & set(old)
        assert entries(app, "auth.recovery_codes_replaced")[-1]["payload"] == {"recovery_codes": 10}
        auth.sign_out()
        _password_step(client, email)
        assert _post(client, "/sign-in/recovery-code", {"code": old[2]}).status_code == 400
        assert _post(client, "/sign-in/recovery-code", {"code": new[0]}).status_code == 302


def test_wrong_codes_are_limited_per_account(app, client, auth, redis_conn):
    assert app.config["TWO_FACTOR_RATE_LIMIT"] == "5 per 5 minutes"
    user_id, email = auth.create_user(Role.ADMIN)
    _password_step(client, email)
    for _ in range(5):
        assert _post(client, "/sign-in/two-factor", {"code": "000000"}).status_code == 400
    # The sixth attempt is refused unread, even with the right code, from another browser
    # too, and whether it is a code or a recovery code.
    right = AUTHENTICATORS[email].now()
    assert _post(client, "/sign-in/two-factor", {"code": right}).status_code == 429
    elsewhere = _new_client(app)
    _password_step(elsewhere, email)
    assert _post(elsewhere, "/sign-in/two-factor", {"code": right}).status_code == 429
    recovery = AUTHENTICATORS[email].recovery_codes[0]
    assert _post(elsewhere, "/sign-in/recovery-code", {"code": recovery}).status_code == 429
    assert not _signed_in(client) and not _signed_in(elsewhere)
    reasons = [e["payload"]["reason"] for e in entries(app, "auth.two_factor_failed")]
    assert reasons.count("wrong_code") == 5 and "too_many_attempts" in reasons
    # Someone else's codes are not held up.
    other = _new_client(app)
    assert AuthActions(app, other).sign_in_as(Role.ADMIN)
    assert _signed_in(other)
    # The count lives in Redis for the five minutes; once it has gone, the right code works.
    keys = [k for k in redis_conn.scan_iter("*two-factor*") if f"user:{user_id}".encode() in k]
    assert keys and all(0 < redis_conn.ttl(k) <= 300 for k in keys)
    redis_conn.delete(*keys)
    again = _new_client(app)
    _password_step(again, email)
    response = _post(again, "/sign-in/two-factor", {"code": AUTHENTICATORS[email].next_code()})
    assert response.status_code == 302


def test_the_code_step_expires(app, client, auth):
    user_id, email = auth.create_user(Role.ADMIN)
    _password_step(client, email)
    with time_machine.travel(time.time() + 301, tick=False):
        response = client.get("/sign-in/two-factor")
        assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in")


def test_an_admin_resets_another_admins_two_factor_but_not_their_own(app, client, auth):
    admin_id, admin_email = auth.create_user(Role.ADMIN)
    auth.sign_in(admin_email)
    lost_id, lost_email = auth.create_user(Role.ADMIN)
    lost = _new_client(app)
    AuthActions(app, lost).sign_in(lost_email)
    assert _signed_in(lost)

    # Not one's own: a stolen admin session must not take the second factor off itself.
    response = _post(
        client, f"/admin/users/{admin_id}/two-factor/reset", {}, page=f"/admin/users/{admin_id}"
    )
    assert response.status_code == 400
    assert "Another administrator must reset" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(UserTwoFactor, admin_id).confirmed_at is not None
    assert not entries(app, "user.two_factor_reset")

    page = client.get(f"/admin/users/{lost_id}").get_data(as_text=True)
    assert "10 unused recovery codes" in page
    response = _post(
        client, f"/admin/users/{lost_id}/two-factor/reset", {}, page=f"/admin/users/{lost_id}"
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(UserTwoFactor, lost_id) is None
        assert not db.session.scalars(
            select(RecoveryCode).where(RecoveryCode.user_id == lost_id)
        ).all()
    assert not _signed_in(lost)  # their sessions ended
    reset = entries(app, "user.two_factor_reset")[-1]
    assert reset["actor"]["id"] == admin_id and reset["object"]["id"] == str(lost_id)

    # Their next sign-in is the password, then setting it up again.
    again = _new_client(app)
    response = _post(again, "/sign-in", {"email": lost_email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert again.get("/admin/").headers["Location"].endswith("/account/two-factor")


def test_only_an_admin_can_reset(app, client, auth):
    target_id, _ = auth.create_user(Role.ADMIN)
    auth.sign_in_as(Role.MONITORING_OFFICER)
    response = _post(client, f"/admin/users/{target_id}/two-factor/reset", {}, page="/")
    assert response.status_code == 403


def test_secrets_are_not_kept_in_clear(app, client, auth):
    user_id, email = auth.create_user(Role.ADMIN)
    authenticator = AUTHENTICATORS[email]
    auth.sign_in(email)
    needles = [authenticator.secret, *authenticator.recovery_codes]
    needles += [c.replace("-", "") for c in authenticator.recovery_codes]
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(select(table)):
                text = " ".join(
                    bytes(v).decode("latin-1") if isinstance(v, bytes | memoryview) else str(v)
                    for v in row
                )
                for needle in needles:
                    assert needle not in text and needle.lower() not in text.lower(), table.name
        sealed = db.session.get(UserTwoFactor, user_id)
        # Sealed to its user: the same bytes on another user's row do not open.
        other = User(email="other@council.example", password_hash="x", role_rows=[])
        db.session.add(other)
        db.session.flush()
        db.session.add(UserTwoFactor(user_id=other.id, secret_encrypted=sealed.secret_encrypted))
        db.session.flush()
        from gateway.auth import two_factor
        from gateway.credentials import CredentialsError

        with pytest.raises(CredentialsError):
            two_factor._secret_of(db.session.get(UserTwoFactor, other.id))
        db.session.rollback()


def test_key_rotation_reseals_the_secret(app, client, auth):
    from gateway.auth import two_factor
    from gateway.credentials import rotate_all
    from gateway.settings import new_encryption_key, parse_encryption_keys

    user_id, email = auth.create_user(Role.ADMIN)
    old_keys = app.config["ENCRYPTION_KEYS"]
    app.config["ENCRYPTION_KEYS"] = parse_encryption_keys(new_encryption_key()) + list(old_keys)
    with app.app_context():
        before = bytes(db.session.get(UserTwoFactor, user_id).secret_encrypted)
        assert rotate_all() == (0, 1)
        db.session.commit()
        row = db.session.get(UserTwoFactor, user_id)
        assert bytes(row.secret_encrypted) != before
        app.config["ENCRYPTION_KEYS"] = app.config["ENCRYPTION_KEYS"][:1]
        assert two_factor._secret_of(row) == AUTHENTICATORS[email].secret
    assert entries(app, "user.two_factor_secret_rotated")


def test_a_one_time_password_is_used_up_only_with_the_code(app, client, auth):
    admin_id, admin_email = auth.create_user(Role.ADMIN)
    auth.sign_in(admin_email)
    user_id, email = auth.create_user(Role.DUTY_OFFICER)
    response = _post(
        client, f"/admin/users/{user_id}/reset-password", {}, page=f"/admin/users/{user_id}"
    )
    one_time = re.search(r'id="one-time-password">([^<]+)<', response.get_data(as_text=True)).group(
        1
    )
    person = _new_client(app)
    _password_step(person, email, one_time)
    # The password is not used up yet: without the code nothing is signed in.
    with app.app_context():
        assert db.session.get(User, user_id).password_must_change
    response = _post(person, "/sign-in/two-factor", {"code": AUTHENTICATORS[email].next_code()})
    assert response.headers["Location"].endswith("/account/password")
    again = _new_client(app)
    response = _post(again, "/sign-in", {"email": email, "password": one_time})
    assert response.status_code == 400  # used up at that sign-in


def test_officers_may_enrol_without_being_required(app, client, auth):
    user_id, email = auth.create_user(Role.OFFICER)
    auth.sign_in(email)
    assert client.get("/").status_code == 200  # not sent to enrol
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "You must set up" not in page
    authenticator, codes = _enrol_through_the_pages(client)
    auth.sign_out()
    _password_step(client, email)


def test_everyone_can_be_required(app, client, auth):
    app.config["TWO_FACTOR_REQUIRED"] = "everyone"
    user_id, email = auth.create_user(Role.AUDITOR, two_factor=False)
    auth.sign_in(email)
    response = client.get("/audit/")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/account/two-factor"
    )


def test_an_enrolled_user_without_the_code_in_this_session_is_signed_out(app, client, auth):
    """A session opened by password before the user enrolled elsewhere (a race with the
    enrolment, which ends other sessions) is ended, not let through."""
    user_id, email = auth.create_user(Role.ADMIN, two_factor=False)
    auth.sign_in(email)
    from tests.support.two_factor import enrol

    with app.app_context():
        # Keep this session's row as if the enrolment ran between its two statements.
        row = db.session.scalars(select(UserSession).where(UserSession.user_id == user_id)).one()
        kept = (row.id, row.created_at)
    enrol(app, user_id)
    with app.app_context():
        db.session.add(UserSession(id=kept[0], user_id=user_id, created_at=kept[1]))
        db.session.commit()
    response = client.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in")
    assert not _signed_in(client)

"""Signing in and out, session timeouts, revocation and the sign-in rate limit."""

import time

from sqlalchemy import select

from gateway.auth.sessions import LAST_SEEN, SIGNED_IN_AT
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import AuditEntry, User
from tests.conftest import csrf_token_from


def test_sign_in_lands_on_the_dashboard_and_is_audited(app, client, auth):
    user_id, email = auth.create_user(Role.OFFICER)
    response = auth.sign_in(email)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert email in client.get("/").get_data(as_text=True)
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action)).all()
        assert "auth.signed_in" in actions


def test_a_wrong_password_and_an_unknown_email_get_the_same_clear_error(app, client, auth):
    _, email = auth.create_user(Role.OFFICER)
    wrong = auth.sign_in(email, "not-the-right-password")
    unknown = auth.sign_in("nobody@council.example", "not-the-right-password")
    for response in (wrong, unknown):
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert "The email address or password is not right" in page
        assert "<title>Error: Sign in" in page
    assert client.get("/").status_code == 302
    with app.app_context():
        failures = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "auth.sign_in_failed")
        ).all()
        assert len(failures) == 2
        assert all(b"not-the-right-password" not in bytes(f.leaf) for f in failures)


def test_a_disabled_user_cannot_sign_in(app, auth):
    user_id, email = auth.create_user(Role.OFFICER)
    with app.app_context():
        db.session.get(User, user_id).active = False
        db.session.commit()
    assert auth.sign_in(email).status_code == 400


def test_sign_in_starts_a_new_session(client, auth):
    _, email = auth.create_user(Role.OFFICER)
    client.get("/sign-in")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        before = session["csrf_token"]
    auth.sign_in(email)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("csrf_token") != before


def test_an_open_redirect_after_sign_in_is_refused(client, auth):
    _, email = auth.create_user(Role.OFFICER)
    page = client.get("/sign-in")
    token = csrf_token_from(page.get_data(as_text=True))
    from tests.conftest import TEST_PASSWORD

    response = client.post(
        "/sign-in?next=//evil.example/x",
        data={"email": email, "password": TEST_PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_idle_timeout_signs_out(app, client, auth):
    auth.sign_in_as(Role.OFFICER)
    with client.session_transaction() as session:
        session[LAST_SEEN] = int(time.time()) - app.config["SESSION_IDLE_MINUTES"] * 60 - 5
    response = client.get("/")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    assert "timed out" in client.get("/sign-in").get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_absolute_timeout_signs_out_even_when_active(app, client, auth):
    auth.sign_in_as(Role.OFFICER)
    with client.session_transaction() as session:
        session[SIGNED_IN_AT] = int(time.time()) - app.config["SESSION_ABSOLUTE_HOURS"] * 3600 - 5
    assert client.get("/").status_code == 302


def test_an_admin_can_end_a_users_sessions(app, client, auth):
    officer_client = app.test_client()
    officer_client.environ_base["HTTP_REFERER"] = "https://localhost/"
    from tests.conftest import AuthActions

    officer = AuthActions(app, officer_client)
    officer_id, _ = officer.sign_in_as(Role.OFFICER)
    assert officer_client.get("/").status_code == 200

    auth.sign_in_as(Role.ADMIN)
    page = client.get("/admin/users")
    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post(f"/admin/users/{officer_id}/end-sessions", data={"csrf_token": token})
    assert response.status_code == 302
    # the officer's cookie is still validly signed, but the session is over
    assert officer_client.get("/").status_code == 302


def test_sign_in_attempts_are_rate_limited(app, client, auth):
    app.config["SIGNIN_RATE_LIMIT"] = "3 per minute"
    _, email = auth.create_user(Role.OFFICER)
    codes = [auth.sign_in(email, "wrong-password-000").status_code for _ in range(4)]
    assert codes[:3] == [400, 400, 400]
    assert codes[3] == 429
    # even the right password is refused until the window passes
    assert auth.sign_in(email).status_code == 429
    assert "Too many attempts" in auth.sign_in(email).get_data(as_text=True)

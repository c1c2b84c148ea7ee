"""CSRF on every form, no state change on GET, and the session cookie's flags."""

from gateway.domain.roles import Role
from tests.conftest import TEST_PASSWORD, csrf_token_from


def test_sign_in_without_its_token_is_refused(client, auth):
    _, email = auth.create_user(Role.OFFICER)
    response = client.post("/sign-in", data={"email": email, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out


def test_a_state_changing_admin_form_without_its_token_is_refused(app, client, auth):
    from gateway.domain.roles import Role

    auth.sign_in_as(Role.ADMIN)
    victim_id, _ = auth.create_user(Role.OFFICER)
    response = client.post(f"/admin/users/{victim_id}/end-sessions")
    assert response.status_code == 400
    with app.app_context():
        from gateway.extensions import db
        from gateway.models import User

        assert db.session.get(User, victim_id).session_version == 1


def test_sign_out_is_a_post_with_a_token(client, auth):
    from gateway.domain.roles import Role

    auth.sign_in_as(Role.OFFICER)
    assert client.get("/sign-out").status_code == 405
    assert client.get("/").status_code == 200
    assert auth.sign_out().status_code == 302
    assert client.get("/").status_code == 302


def test_session_cookie_is_host_prefixed_secure_httponly_samesite(client, auth):
    _, email = auth.create_user(Role.OFFICER)
    page = client.get("/sign-in")
    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post(
        "/sign-in", data={"email": email, "password": TEST_PASSWORD, "csrf_token": token}
    )
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("__Host-"))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/" in cookie and "Domain" not in cookie


def test_security_headers(client):
    response = client.get("/sign-in")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"

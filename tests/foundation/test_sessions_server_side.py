"""Sessions are rows on the server (issue 20): signing out ends that session, even where its
cookie has been copied, and leaves the user's other sessions alone."""

from sqlalchemy import func, select

from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import UserSession
from tests.conftest import AuthActions


def _client(app):
    client = app.test_client()
    client.environ_base["HTTP_REFERER"] = "https://localhost/"
    return client


def _copy_session_cookie(app, source, target) -> None:
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = source.get_cookie(name)
    assert cookie is not None, "no session cookie to copy"
    target.set_cookie(name, cookie.value)


def _signed_out(response) -> bool:
    return response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_a_copied_cookie_stops_working_when_its_session_signs_out(app, client, auth):
    auth.sign_in_as(Role.OFFICER)
    thief = _client(app)
    _copy_session_cookie(app, client, thief)
    assert thief.get("/").status_code == 200  # a copied cookie is a session until it ends

    assert auth.sign_out().status_code == 302
    assert _signed_out(thief.get("/"))
    assert _signed_out(thief.get("/schedule"))


def test_signing_out_on_one_device_leaves_the_other_signed_in(app, client, auth):
    user_id, email = auth.create_user(Role.OFFICER)
    auth.sign_in(email)
    phone = _client(app)
    assert AuthActions(app, phone).sign_in(email).status_code == 302
    copy = _client(app)
    _copy_session_cookie(app, client, copy)
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(UserSession).where(UserSession.user_id == user_id)
            )
            == 2
        )

    auth.sign_out()
    assert phone.get("/").status_code == 200
    assert _signed_out(copy.get("/"))
    assert _signed_out(client.get("/"))
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(UserSession).where(UserSession.user_id == user_id)
            )
            == 1
        )


def test_a_session_row_past_the_absolute_limit_is_refused_whatever_the_cookie_says(
    app, client, auth
):
    from datetime import timedelta

    from gateway.models.base import utcnow

    user_id, _ = auth.sign_in_as(Role.OFFICER)
    assert client.get("/").status_code == 200
    with app.app_context():
        row = db.session.scalars(select(UserSession).where(UserSession.user_id == user_id)).one()
        row.created_at = utcnow() - timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"], minutes=1)
        db.session.commit()
    assert _signed_out(client.get("/"))


def test_ending_every_session_still_works_through_the_version(app, client, auth):
    """The per-user "end every session" mechanism ends copies too."""
    officer = _client(app)
    officer_id, _ = AuthActions(app, officer).sign_in_as(Role.OFFICER)
    copy = _client(app)
    _copy_session_cookie(app, officer, copy)
    auth.sign_in_as(Role.ADMIN)
    from tests.conftest import csrf_token_from

    token = csrf_token_from(client.get("/admin/users").get_data(as_text=True))
    client.post(f"/admin/users/{officer_id}/end-sessions", data={"csrf_token": token})
    assert _signed_out(officer.get("/"))
    assert _signed_out(copy.get("/"))
    with app.app_context():
        assert not db.session.scalars(
            select(UserSession).where(UserSession.user_id == officer_id)
        ).all()

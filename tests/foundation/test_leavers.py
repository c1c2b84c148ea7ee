"""Leavers and passwords (issue 20): an admin deactivates and reactivates a user and resets a
password with a one-time password; everyone changes their own password; an admin changes
nothing of their own account through the admin pages. Each action is in the publish log."""

import json

import pytest
from sqlalchemy import select

from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import AuditEntry, User
from tests.conftest import TEST_PASSWORD, AuthActions
from tests.web.helpers import get, submit

NEW_PASSWORD = "a-fresh-and-rather-long-passphrase-7"


def _client(app):
    client = app.test_client()
    client.environ_base["HTTP_REFERER"] = "https://localhost/"
    return client


def _entries(app, action):
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        return [json.loads(bytes(r.leaf)) for r in rows]


def _signed_out(response) -> bool:
    return response.status_code == 302 and "/sign-in" in response.headers["Location"]


@pytest.fixture
def admin(app, client, auth):
    admin_id, _ = auth.sign_in_as(Role.ADMIN)
    client.admin_id = admin_id
    return client


@pytest.fixture
def officer(app):
    """An officer signed in on a client of their own."""
    client = _client(app)
    actions = AuthActions(app, client)
    client.user_id, client.email = actions.sign_in_as(Role.OFFICER)
    client.actions = actions
    return client


def test_a_deactivated_user_is_signed_out_at_once_and_cannot_sign_in(app, admin, officer):
    assert officer.get("/").status_code == 200
    page = get(admin, f"/admin/users/{officer.user_id}")
    done = submit(admin, page, action=f"/admin/users/{officer.user_id}/deactivate")
    assert done.status == 302
    assert _signed_out(officer.get("/"))
    assert officer.actions.sign_in(officer.email).status_code == 400
    assert "(deactivated)" in get(admin, "/admin/users").text()
    [entry] = _entries(app, "user.disabled")
    assert entry["object"] == {"type": "user", "id": str(officer.user_id)}
    assert entry["actor"]["id"] == admin.admin_id

    page = get(admin, f"/admin/users/{officer.user_id}")
    assert submit(admin, page, action=f"/admin/users/{officer.user_id}/reactivate").status == 302
    assert officer.actions.sign_in(officer.email).status_code == 302
    assert officer.get("/").status_code == 200
    [entry] = _entries(app, "user.enabled")
    assert entry["object"] == {"type": "user", "id": str(officer.user_id)}


def test_an_admin_reset_password_works_once_and_the_old_one_no_longer_does(app, admin, officer):
    page = get(admin, f"/admin/users/{officer.user_id}")
    shown = submit(admin, page, action=f"/admin/users/{officer.user_id}/reset-password")
    assert shown.status == 200
    one_time = shown.soup.find(id="one-time-password").get_text()
    assert len(one_time) >= 20
    assert _signed_out(officer.get("/"))  # every session of theirs has ended

    user = AuthActions(app, _client(app))
    assert user.sign_in(officer.email, TEST_PASSWORD).status_code == 400
    first = user.sign_in(officer.email, one_time)
    assert first.status_code == 302 and first.headers["Location"] == "/account/password"
    # Nothing else opens until a new password is set.
    assert user.client.get("/").headers["Location"] == "/account/password"
    form = get(user.client, "/account/password")
    assert form.soup.find(id="current_password") is None
    saved = submit(
        user.client, form, {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    )
    assert saved.status == 302
    assert user.client.get("/").status_code == 200

    again = AuthActions(app, _client(app))
    assert again.sign_in(officer.email, one_time).status_code == 400  # used up
    assert again.sign_in(officer.email, TEST_PASSWORD).status_code == 400
    assert again.sign_in(officer.email, NEW_PASSWORD).status_code == 302

    [reset] = _entries(app, "user.password_reset")
    assert reset["object"] == {"type": "user", "id": str(officer.user_id)}
    assert reset["actor"]["id"] == admin.admin_id
    with app.app_context():
        leaves = b"".join(bytes(e.leaf) for e in db.session.scalars(select(AuditEntry)))
    assert one_time.encode() not in leaves and NEW_PASSWORD.encode() not in leaves
    [changed] = _entries(app, "user.password_changed")
    assert changed["payload"]["after_reset"] is True


def test_changing_ones_password_ends_the_other_sessions_and_keeps_this_one(app, client, auth):
    user_id, email = auth.create_user(Role.AUDITOR)
    auth.sign_in(email)
    other = _client(app)
    AuthActions(app, other).sign_in(email)
    assert other.get("/").status_code == 200

    form = get(client, "/account/password")
    wrong = submit(
        client,
        form,
        {
            "current_password": "not-my-password-at-all",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert wrong.status == 400
    assert "current password is not right" in wrong.field_error("current_password")
    weak = submit(
        client,
        get(client, "/account/password"),
        {
            "current_password": TEST_PASSWORD,
            "new_password": "password1234",
            "confirm_password": "password1234",
        },
    )
    assert weak.status == 400 and "commonly used" in weak.field_error("new_password")
    assert other.get("/").status_code == 200  # refusals change nothing

    saved = submit(
        client,
        get(client, "/account/password"),
        {
            "current_password": TEST_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert saved.status == 302
    assert client.get("/").status_code == 200
    assert _signed_out(other.get("/"))
    fresh = AuthActions(app, _client(app))
    assert fresh.sign_in(email, TEST_PASSWORD).status_code == 400
    assert fresh.sign_in(email, NEW_PASSWORD).status_code == 302
    [entry] = _entries(app, "user.password_changed")
    assert entry["object"] == {"type": "user", "id": str(user_id)}
    assert entry["actor"]["id"] == user_id
    assert entry["payload"] == {"after_reset": False, "other_sessions_ended": 1}


def test_an_admin_cannot_change_their_own_account_through_the_admin_pages(app, admin):
    own = admin.admin_id
    with app.app_context():
        before = db.session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()))
    page = get(admin, f"/admin/users/{own}")
    roles = submit(admin, page, {"roles": ["admin", "auditor"]}, action=f"/admin/users/{own}")
    assert roles.status == 400
    assert "Another administrator must change your roles" in roles.text()
    for action, wording in (
        ("deactivate", "Another administrator must deactivate"),
        ("reset-password", "Another administrator must reset your password"),
    ):
        refused = submit(
            admin, get(admin, f"/admin/users/{own}"), action=f"/admin/users/{own}/{action}"
        )
        assert refused.status == 400, action
        assert wording in refused.text()
        assert refused.errors(), "the refusal is in the error summary"
    with app.app_context():
        user = db.session.get(User, own)
        assert user.active and not user.password_must_change
        assert sorted(r.value for r in user.roles) == ["admin"]
        after = db.session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()))
    assert after == before  # nothing written
    assert admin.get("/admin/users").status_code == 200  # still signed in, same password


def test_an_admin_cannot_reactivate_themselves(app):
    """Reactivating oneself is refused in the service too (a deactivated admin has no page)."""
    from gateway import users
    from gateway.audit import Actor

    with app.app_context():
        user = users.create_user(
            "solo-admin@council.example", ["admin"], TEST_PASSWORD, actor=Actor.system()
        )
        user.active = False
        db.session.commit()
        with pytest.raises(users.UserError, match="Another administrator must"):
            users.set_active(user, True, actor=Actor.of(user))


def test_user_creation_and_role_changes_name_the_user_and_the_acting_admin(app, admin):
    page = get(admin, "/admin/users/new")
    created = submit(admin, page, {"email": "new.starter@council.example", "roles": ["officer"]})
    assert created.status == 200
    with app.app_context():
        new_id = db.session.scalar(
            select(User.id).where(User.email == "new.starter@council.example")
        )
    page = get(admin, f"/admin/users/{new_id}")
    assert (
        submit(
            admin, page, {"roles": ["officer", "auditor"]}, action=f"/admin/users/{new_id}"
        ).status
        == 302
    )
    [made] = _entries(app, "user.created")[-1:]
    [changed] = _entries(app, "user.roles_changed")
    for entry in (made, changed):
        assert entry["object"] == {"type": "user", "id": str(new_id)}
        assert entry["actor"]["id"] == admin.admin_id and entry["actor"]["kind"] == "user"
    assert made["payload"] == {"email": "new.starter@council.example", "roles": ["officer"]}
    assert changed["payload"] == {"before": ["officer"], "after": ["auditor", "officer"]}

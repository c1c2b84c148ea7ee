"""Single sign-on against a real OpenID provider: who signs in, with which roles."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import User, UserIdentity
from tests.conftest import csrf_token_from
from tests.oidc.conftest import (
    CLIENT_SECRET,
    GROUP_ADMINS,
    GROUP_DUTY,
    GROUP_OFFICERS,
    PROVIDER_NAME,
    entries,
)


def _user(app, email):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        return None if user is None else (user.id, sorted(r.value for r in user.roles))


def test_the_sign_in_page_offers_the_provider_first_then_passwords(client):
    page = client.get("/sign-in").get_data(as_text=True)
    assert f"Sign in with {PROVIDER_NAME}" in page
    assert page.index(f"Sign in with {PROVIDER_NAME}") < page.index('name="password"')
    assert "Or sign in with a password" in page


def test_the_authorization_request_uses_pkce_state_and_nonce(sso, idp):
    url = sso.begin()
    assert url.startswith(idp.issuer + "/")
    query = parse_qs(urlsplit(url).query)
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert len(query["state"][0]) >= 20 and len(query["nonce"][0]) >= 20
    assert "openid" in query["scope"][0].split()
    assert query["redirect_uri"] == ["https://localhost/sign-in/oidc/callback"]


def test_first_sign_in_creates_an_account_with_no_role(app, client, sso):
    response = sso.sign_in("alice")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/no-role"
    user_id, roles = _user(app, "alice.jones@harbourside.gov.uk")
    assert roles == []
    page = client.get("/account/no-role").get_data(as_text=True)
    assert "You do not have a role yet" in page
    # Nothing else is reachable until an admin grants a role.
    for path in ("/", "/posts/new", "/admin/", "/audit/", "/emergency"):
        refused = client.get(path)
        assert refused.status_code == 403, path
        assert "You do not have a role yet" in refused.get_data(as_text=True)
    with app.app_context():
        identity = db.session.scalar(select(UserIdentity).where(UserIdentity.user_id == user_id))
        assert identity.subject == "sub-alice-0001"
        assert identity.issuer == app.config["OIDC_ISSUER"]
        assert db.session.get(User, user_id).display_name == "Alice Jones"
    actions = [a for a, _ in entries(app)]
    assert actions[-3:] == ["user.created", "user.sso_linked", "auth.signed_in"]
    signed_in = entries(app, "auth.signed_in")[-1][1]
    assert signed_in["payload"]["method"] == "oidc"
    assert signed_in["actor"]["id"] == user_id


def test_group_mapped_roles_are_added_and_removed_between_sign_ins(app, client, sso, idp, auth):
    idp.set_account("alice", groups=[GROUP_OFFICERS, GROUP_DUTY, "some-unmapped-group"])
    response = sso.sign_in("alice")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    user_id, roles = _user(app, "alice.jones@harbourside.gov.uk")
    assert roles == ["duty_officer", "officer"]
    change = entries(app, "user.roles_changed_by_groups")[-1][1]
    assert change["payload"]["added"] == ["duty_officer", "officer"]
    assert change["payload"]["groups"] == sorted([GROUP_OFFICERS, GROUP_DUTY])

    # An admin grants a role the mapping does not name (auditor): it is the admin's to keep.
    from gateway.models import UserRole

    with app.app_context():
        db.session.add(UserRole(user_id=user_id, role=Role.AUDITOR.value))
        db.session.commit()
    auth.sign_out()

    # Removed from the duty officers' group at the provider: the role goes at the next sign-in.
    idp.set_account("alice", groups=[GROUP_OFFICERS])
    assert sso.sign_in("alice").status_code == 302
    assert _user(app, "alice.jones@harbourside.gov.uk")[1] == ["auditor", "officer"]
    change = entries(app, "user.roles_changed_by_groups")[-1][1]
    assert change["payload"]["removed"] == ["duty_officer"]
    assert change["payload"]["added"] == []
    auth.sign_out()

    # Out of every group: the mapped roles go, the admin's auditor role stays.
    idp.set_account("alice", groups=[])
    assert sso.sign_in("alice").status_code == 302
    assert _user(app, "alice.jones@harbourside.gov.uk")[1] == ["auditor"]
    auth.sign_out()

    # The same groups again: nothing changes, nothing is logged.
    count = len(entries(app, "user.roles_changed_by_groups"))
    assert sso.sign_in("alice").status_code == 302
    assert len(entries(app, "user.roles_changed_by_groups")) == count


def test_a_role_removed_by_groups_ends_the_other_sessions(app, idp, sso, another_sso):
    idp.set_account("alice", groups=[GROUP_ADMINS])
    assert sso.sign_in("alice").status_code == 302
    assert sso.client.get("/admin/").status_code == 200
    idp.set_account("alice", groups=[GROUP_OFFICERS])
    assert another_sso.sign_in("alice").status_code == 302
    # The first browser's admin session ends: its role is gone.
    assert sso.client.get("/admin/").status_code == 302
    assert another_sso.client.get("/admin/").status_code == 403


def test_the_same_subject_with_a_changed_email_is_the_same_account(app, sso, idp, auth):
    idp.set_account("bob", groups=[GROUP_OFFICERS])
    assert sso.sign_in("bob").status_code == 302
    user_id, roles = _user(app, "bob.smith@harbourside.gov.uk")
    auth.sign_out()
    idp.set_account("bob", email="bob.smith-jones@harbourside.gov.uk")
    assert sso.sign_in("bob").status_code == 302
    assert _user(app, "bob.smith@harbourside.gov.uk") is None
    assert _user(app, "bob.smith-jones@harbourside.gov.uk") == (user_id, roles)
    change = entries(app, "user.email_changed")[-1][1]
    assert change["payload"]["before"] == "bob.smith@harbourside.gov.uk"
    assert change["payload"]["after"] == "bob.smith-jones@harbourside.gov.uk"
    with app.app_context():
        assert db.session.scalar(select(User.id).where(User.id == user_id)) == user_id
        assert len(db.session.scalars(select(UserIdentity)).all()) == 1


def test_a_new_subject_with_a_taken_email_is_not_joined_to_that_account(app, sso, idp, auth):
    # A local account already has the address: a new subject claiming it gets nothing.
    user_id, _ = auth.create_user(Role.ADMIN, email="alice.jones@harbourside.gov.uk")
    response = sso.sign_in("alice")
    assert response.status_code == 403
    assert "Ask an administrator to link it" in response.get_data(as_text=True)
    assert sso.client.get("/").status_code == 302  # not signed in
    failure = entries(app, "auth.sso_failed")[-1][1]
    assert failure["payload"]["reason"] == "email_in_use"
    with app.app_context():
        assert db.session.scalars(select(UserIdentity)).all() == []
        assert db.session.get(User, user_id).roles == {Role.ADMIN}


def test_a_deactivated_gateway_account_cannot_sign_in(app, sso, idp, auth):
    assert sso.sign_in("bob").status_code == 302
    user_id, _ = _user(app, "bob.smith@harbourside.gov.uk")
    auth.sign_out()
    with app.app_context():
        db.session.get(User, user_id).active = False
        db.session.commit()
    response = sso.sign_in("bob")
    assert response.status_code == 403
    assert "deactivated" in response.get_data(as_text=True)
    assert sso.client.get("/").status_code == 302
    failure = entries(app, "auth.sso_failed")[-1][1]
    assert failure["payload"]["reason"] == "account_disabled"
    assert failure["object"] == {"type": "user", "id": str(user_id)}


def test_an_unverified_email_or_another_domain_is_refused(app, sso, idp, monkeypatch):
    idp.set_account("alice", email_verified=False)
    response = sso.sign_in("alice")
    assert response.status_code == 403
    assert entries(app, "auth.sso_failed")[-1][1]["payload"]["reason"] == "email_not_verified"
    assert _user(app, "alice.jones@harbourside.gov.uk") is None


def test_the_client_secret_is_not_in_the_log_or_the_config_repr(app, sso):
    sso.sign_in("bob")
    assert all(CLIENT_SECRET not in str(leaf) for _, leaf in entries(app))
    assert CLIENT_SECRET not in repr(app.config)


def test_an_sso_session_ends_at_the_gateways_own_limit(app, sso):
    from datetime import datetime, timedelta

    import time_machine

    assert sso.sign_in("bob").status_code == 302
    assert sso.client.get("/").status_code == 200
    hours = app.config["SESSION_ABSOLUTE_HOURS"]
    with time_machine.travel(datetime.now().astimezone() + timedelta(hours=hours, minutes=1)):
        response = sso.client.get("/")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_a_groups_overage_is_refused_rather_than_guessed(app, sso, idp):
    """Entra ID sends "_claim_names" instead of the groups of someone in too many groups: the
    roles cannot be read, so the sign-in is refused (and no role is removed)."""
    idp.set_account("bob", groups=None, _claim_names={"groups": "src1"})
    state = idp.state()
    del state["accounts"]["bob"]["groups"]
    idp._write(state)
    response = sso.sign_in("bob")
    assert response.status_code == 403
    assert entries(app, "auth.sso_failed")[-1][1]["payload"]["reason"] == "groups_overage"


def test_the_session_says_it_was_opened_by_single_sign_on(sso):
    assert sso.sign_in("bob").status_code == 302
    with sso.client.session_transaction() as session:
        assert session["sign_in_method"] == "oidc"


def test_the_page_asked_for_is_followed_only_on_this_site(sso, auth):
    response = sso.sign_in("bob", next_path="/schedule")
    assert response.headers["Location"] == "/schedule"
    auth.sign_out()
    response = sso.sign_in("bob", next_path="//evil.example/")
    assert response.headers["Location"] == "/"


def test_an_account_made_by_single_sign_on_has_no_password_to_change(app, sso, idp):
    idp.set_account("alice", groups=[GROUP_OFFICERS])
    assert sso.sign_in("alice").status_code == 302
    home = sso.client.get("/").get_data(as_text=True)
    assert "/account/password" not in home and "Your password" not in home
    response = sso.client.get("/account/password")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = sso.client.get("/").get_data(as_text=True)
    assert f"You sign in with {PROVIDER_NAME}: change your password there." in page
    # Nor can one be set by posting the form: a second way in beside the provider's.
    response = sso.client.post(
        "/account/password",
        data={
            "csrf_token": csrf_token_from(sso.client.get("/").get_data(as_text=True)),
            "new_password": "a brand new long passphrase 7",
            "confirm_password": "a brand new long passphrase 7",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "alice.jones@harbourside.gov.uk"))
        assert user.password_hash == "!unusable"


def test_a_password_account_still_sees_its_password_link(auth, client):
    auth.sign_in_as(Role.OFFICER)
    assert "Your password" in client.get("/").get_data(as_text=True)
    assert client.get("/account/password").status_code == 200

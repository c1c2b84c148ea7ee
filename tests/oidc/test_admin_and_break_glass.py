"""Linking existing users, turning local passwords off except for a break-glass admin, and a
provider that is down."""

from __future__ import annotations

from sqlalchemy import select

from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import User, UserIdentity
from tests.conftest import csrf_token_from
from tests.oidc.conftest import PROVIDER_NAME, entries


def _post(client, page_path, path, data):
    token = csrf_token_from(client.get(page_path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def _set_passwords(client, value, break_glass=""):
    return _post(
        client,
        "/admin/sign-in",
        "/admin/sign-in",
        {"local_passwords": value, "break_glass": str(break_glass)},
    )


def test_an_admin_links_an_existing_user_at_their_next_sign_in(app, client, auth, sso, idp):
    # An auditor: a role the group mapping does not name, so the admin's grant stays.
    user_id, _ = auth.create_user(Role.AUDITOR, email="alice.jones@harbourside.gov.uk")
    admin_id, _ = auth.sign_in_as(Role.ADMIN)
    page = client.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert "Not linked to " + PROVIDER_NAME in page
    response = _post(client, f"/admin/users/{user_id}", f"/admin/users/{user_id}/sso-link", {})
    assert response.status_code == 302
    assert "Waiting: the account will be linked" in client.get(f"/admin/users/{user_id}").get_data(
        as_text=True
    )
    offered = entries(app, "user.sso_link_offered")[-1][1]
    assert offered["actor"]["id"] == admin_id
    auth.sign_out()

    # Alice signs in with the provider: the account is hers, with its auditor role.
    response = sso.sign_in("alice")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    with app.app_context():
        identity = db.session.scalar(select(UserIdentity).where(UserIdentity.user_id == user_id))
        assert identity.subject == "sub-alice-0001" and identity.pending_until is None
        assert db.session.get(User, user_id).roles == {Role.AUDITOR}
    linked = entries(app, "user.sso_linked")[-1][1]
    assert linked["payload"]["offered_by"] == admin_id
    assert linked["object"]["id"] == str(user_id)


def test_an_admin_links_a_user_to_a_known_subject_and_removes_the_link(app, client, auth, sso):
    user_id, _ = auth.create_user(Role.AUDITOR, email="a.jones@old-domain.example")
    auth.sign_in_as(Role.ADMIN)
    response = _post(
        client,
        f"/admin/users/{user_id}",
        f"/admin/users/{user_id}/sso-link",
        {"subject": "sub-alice-0001"},
    )
    assert response.status_code == 302
    page = client.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert "sub-alice-0001" in page and "Remove the link" in page
    auth.sign_out()
    # Matched by the subject, whatever the address: the account takes the provider's email.
    assert sso.sign_in("alice").status_code == 302
    with app.app_context():
        assert db.session.get(User, user_id).email == "alice.jones@harbourside.gov.uk"
    auth.sign_out()

    auth.sign_in_as(Role.ADMIN)
    response = _post(client, f"/admin/users/{user_id}", f"/admin/users/{user_id}/sso-unlink", {})
    assert response.status_code == 302
    assert entries(app, "user.sso_unlinked")[-1][1]["payload"]["subject"] == "sub-alice-0001"
    auth.sign_out()
    # Unlinked: the same subject is refused, as its email now belongs to an unlinked account.
    assert sso.sign_in("alice").status_code == 403


def test_a_subject_linked_to_someone_else_cannot_be_linked_again(app, client, auth, sso):
    assert sso.sign_in("bob").status_code == 302
    auth.sign_out()
    other_id, _ = auth.create_user(Role.OFFICER)
    auth.sign_in_as(Role.ADMIN)
    _post(
        client,
        f"/admin/users/{other_id}",
        f"/admin/users/{other_id}/sso-link",
        {"subject": "sub-bob-0002"},
    )
    page = client.get(f"/admin/users/{other_id}").get_data(as_text=True)
    assert "already linked to another account" in page
    assert entries(app, "user.sso_linked")[-1][1]["object"]["id"] != str(other_id)


def test_linking_needs_an_admin(client, auth):
    user_id, _ = auth.create_user(Role.OFFICER)
    auth.sign_in_as(Role.OFFICER)
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    response = client.post(f"/admin/users/{user_id}/sso-link", data={"csrf_token": token})
    assert response.status_code == 403
    assert client.post(f"/admin/users/{user_id}/sso-link", data={}).status_code in (400, 403)


def _break_glass_setup(app, client, auth):
    """Passwords off except for a break-glass admin; returns (break-glass email, officer's)."""
    glass_id, glass_email = auth.create_user(Role.ADMIN)
    _, officer_email = auth.create_user(Role.OFFICER)
    auth.sign_in_as(Role.ADMIN)
    response = _set_passwords(client, "break_glass_only", glass_id)
    assert response.status_code == 302, response.get_data(as_text=True)
    change = [e for _, e in entries(app, "setting.changed")]
    assert {c["payload"]["key"] for c in change} == {"local_passwords", "break_glass_admin"}
    auth.sign_out()
    return glass_email, officer_email


def test_local_passwords_off_except_for_the_break_glass_admin(app, client, auth):
    glass_email, officer_email = _break_glass_setup(app, client, auth)
    page = client.get("/sign-in").get_data(as_text=True)
    assert "break-glass administrator only" in page
    # The officer's right password is refused, with the same words as a wrong one.
    response = auth.sign_in(officer_email)
    assert response.status_code == 400
    assert "The email address or password is not right" in response.get_data(as_text=True)
    assert entries(app, "auth.sign_in_failed")
    # The break-glass admin signs in.
    assert auth.sign_in(glass_email).status_code == 302


def test_passwords_cannot_be_turned_off_without_a_break_glass_admin(client, auth):
    auth.sign_in_as(Role.ADMIN)
    response = _set_passwords(client, "break_glass_only", "")
    assert response.status_code == 400
    assert "Choose the break-glass administrator" in response.get_data(as_text=True)


def test_a_provider_that_is_down_gives_a_clear_page_and_break_glass_still_works(
    app, client, auth, sso, idp
):
    glass_email, _ = _break_glass_setup(app, client, auth)
    with idp.down():
        response = client.get("/sign-in/oidc")
        assert response.status_code == 503
        page = response.get_data(as_text=True)
        assert f"Sign-in with {PROVIDER_NAME} is not available" in page
        assert "is not answering" in page and "break-glass administrator" in page
        assert entries(app, "auth.sso_failed")[-1][1]["payload"]["reason"] == "provider_unreachable"
        assert auth.sign_in(glass_email).status_code == 302
        assert client.get("/admin/").status_code == 200
        auth.sign_out()
    # Back up: single sign-on works again in the same gateway process.
    assert sso.sign_in("bob").status_code == 302
    auth.sign_out()
    # Down again, after the gateway has read its discovery document: still the clear page,
    # not a browser sent to a provider that does not answer.
    with idp.down():
        assert client.get("/sign-in/oidc").status_code == 503


def test_a_provider_that_goes_down_mid_sign_in_gives_the_clear_page(app, sso, idp):
    callback = sso.at_idp(sso.begin(), "bob")
    with idp.down():
        response = sso.callback(callback)
    assert response.status_code == 503
    assert "is not answering" in response.get_data(as_text=True)
    assert sso.client.get("/").status_code == 302

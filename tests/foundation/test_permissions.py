"""The role matrix: every route of the app, from app.url_map, against every role and nobody.

A new route cannot be missed: the expectations come from the permission each view declares,
and the app refuses to start when a view declares none.
"""

import re

import pytest
from flask import Flask

from gateway.domain.roles import Role
from gateway.security import PUBLIC, SIGNED_IN, check_every_route_has_a_permission, permission_of
from tests.conftest import csrf_token_from

VISITORS = [None, *Role]


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        # Placeholder values for converters: the permission check runs before any look-up.
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", "1", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, path, permission_of(view)


def _allowed(permission, role):
    if permission == PUBLIC:
        return True
    if role is None:
        return False
    if permission == SIGNED_IN:
        return True
    wanted = permission.removeprefix("roles:").split(",")
    return role.value in wanted


@pytest.mark.parametrize("role", VISITORS, ids=lambda r: r.value if r else "anonymous")
def test_every_route_checks_the_role_on_the_server(app, client, auth, role):
    if role is not None:
        auth.sign_in_as(role)
    # A valid token for this session, so every POST reaches the role check (CSRF runs first).
    page = client.get("/" if role is not None else "/sign-in")
    token = csrf_token_from(page.get_data(as_text=True))
    routes = list(_routes(app))
    assert len(routes) >= 8
    # The JSON API takes a token, never the session (issue 17): this person's, made on their
    # account page.
    # account page. Its first token is a spare: the placeholder id 1 of the admins' "revoke a
    # token" operation names it, so the admin's own token (id 2) lives through the matrix.
    if role is not None:
        _api_token(client)
    bearer = {"Authorization": f"Bearer {_api_token(client)}"} if role is not None else {}
    for endpoint, method, path, permission in routes:
        if endpoint == "auth.sign_out":
            continue  # signing out would end the session the rest of the matrix uses
        if endpoint.startswith("api."):
            body = {} if method in ("POST", "PATCH") else None
            response = client.open(path, method=method, json=body, headers=bearer)
        else:
            data = {"csrf_token": token} if method == "POST" else None
            response = client.open(path, method=method, data=data)
        if _allowed(permission, role):
            assert response.status_code not in (401, 403), (endpoint, method, role)
            if permission != PUBLIC:
                assert "/sign-in" not in response.headers.get("Location", ""), (endpoint, role)
        elif role is None:
            assert response.status_code in (302, 401), (endpoint, method)
            if response.status_code == 302:
                assert "/sign-in" in response.headers["Location"]
        else:
            assert response.status_code == 403, (endpoint, method, role, response.status_code)


def _api_token(client) -> str:
    page = client.get("/account/api-tokens").get_data(as_text=True)
    made = client.post(
        "/account/api-tokens",
        data={"csrf_token": csrf_token_from(page), "name": "Matrix", "expires": "7"},
    )
    match = re.search(r'<code id="new-token">([^<]+)</code>', made.get_data(as_text=True))
    assert match, made.get_data(as_text=True)
    return match.group(1)


def test_a_route_without_a_permission_stops_the_app_starting():
    app = Flask("x")

    @app.get("/forgotten")
    def forgotten():
        return "oops"

    with pytest.raises(RuntimeError, match="forgotten"):
        check_every_route_has_a_permission(app)


def test_unknown_role_names_fail_loudly():
    from gateway.security import requires

    with pytest.raises(TypeError):
        requires("admin")
    with pytest.raises(ValueError):
        requires()

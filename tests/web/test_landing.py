"""Where each person lands after signing in (issue 22, item 1): a duty officer who is not an
officer lands on the emergency form; everyone else on the dashboard."""

from __future__ import annotations

import pytest

from gateway.domain.roles import Role


@pytest.mark.parametrize(
    ("roles", "home"),
    [
        ((Role.DUTY_OFFICER,), "/emergency"),
        ((Role.DUTY_OFFICER, Role.MONITORING_OFFICER), "/emergency"),
        ((Role.DUTY_OFFICER, Role.OFFICER), "/"),  # drafts and approves by day too
        ((Role.OFFICER,), "/"),
        ((Role.ADMIN,), "/"),
    ],
)
def test_sign_in_lands_where_the_work_is(auth, client, roles, home):
    _, email = auth.create_user(*roles)
    response = auth.sign_in(email)
    assert response.status_code == 302
    assert response.headers["Location"] == home
    # Opening the sign-in page again while signed in goes to the same place.
    assert client.get("/sign-in").headers["Location"] == home


def test_a_duty_officer_sent_to_a_page_still_goes_there(auth, client):
    _, email = auth.create_user(Role.DUTY_OFFICER)
    # The password, then the two-factor code a duty officer must give: the page asked for
    # survives both steps.
    response = auth.sign_in(email, next_path="/emergency/reviews")
    assert response.status_code == 302
    assert response.headers["Location"] == "/emergency/reviews"

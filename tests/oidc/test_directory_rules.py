"""Entra ID's tenant and the allowed email domains (settings a council copies from Entra)."""

from __future__ import annotations

import pytest

from tests.oidc.conftest import entries

TENANT = "5f3c7a9e-1b2d-4c6e-8f0a-council-tenant"


@pytest.fixture
def oidc_env(oidc_env):
    return {
        **oidc_env,
        "GATEWAY_OIDC_ALLOWED_TENANT": TENANT,
        "GATEWAY_OIDC_ALLOWED_DOMAINS": "harbourside.gov.uk, @Harbourside.Example",
    }


def test_an_account_from_another_tenant_is_refused(app, sso, idp):
    idp.set_account("bob", tid="another-organisations-tenant")
    response = sso.sign_in("bob")
    assert response.status_code == 403
    assert "directory. Sign in with your council account" in response.get_data(as_text=True)
    assert entries(app, "auth.sso_failed")[-1][1]["payload"]["reason"] == "tenant_not_allowed"


def test_in_the_councils_tenant_an_email_without_email_verified_is_trusted(app, sso, idp):
    """Entra ID sends no email_verified claim: its own tenant's addresses are the council's."""
    idp.set_account("bob", tid=TENANT, email_verified=None)
    state = idp.state()
    del state["accounts"]["bob"]["email_verified"]
    idp._write(state)
    assert sso.sign_in("bob").status_code == 302


def test_an_email_outside_the_allowed_domains_is_refused(app, sso, idp):
    idp.set_account("bob", tid=TENANT, email="bob@gmail.example")
    response = sso.sign_in("bob")
    assert response.status_code == 403
    assert entries(app, "auth.sso_failed")[-1][1]["payload"]["reason"] == "domain_not_allowed"
    idp.set_account("bob", email="bob@harbourside.example")
    assert sso.sign_in("bob").status_code == 302

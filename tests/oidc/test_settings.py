"""The single sign-on settings: each mistake stops the start with one line naming it."""

from __future__ import annotations

import pytest

from gateway import settings
from gateway.domain.roles import Role
from gateway.settings import SettingsError


def _load(tmp_path, **env):
    return settings.load({"GATEWAY_INSTANCE_PATH": str(tmp_path), **env})


def _sso(**more):
    return {
        "GATEWAY_OIDC_ISSUER": "https://login.microsoftonline.com/tenant-id/v2.0/",
        "GATEWAY_OIDC_CLIENT_ID": "client-id",
        "GATEWAY_OIDC_CLIENT_SECRET": "the-client-secret",
        **more,
    }


def test_without_an_issuer_single_sign_on_is_off(tmp_path):
    config = _load(tmp_path)
    assert config["OIDC_ISSUER"] is None and config["OIDC_ROLE_GROUPS"] == {}


def test_a_full_configuration(tmp_path):
    config = _load(
        tmp_path,
        **_sso(
            GATEWAY_OIDC_PROVIDER_NAME="Harbourside Microsoft account",
            GATEWAY_OIDC_ALLOWED_TENANT="tenant-id",
            GATEWAY_OIDC_ALLOWED_DOMAINS="Harbourside.gov.uk, @harbourside.example",
            GATEWAY_OIDC_ROLE_GROUPS="g-1=officer, g-2=duty_officer, g-1=monitoring_officer",
        ),
    )
    assert config["OIDC_ISSUER"] == "https://login.microsoftonline.com/tenant-id/v2.0"
    assert config["OIDC_PROVIDER_NAME"] == "Harbourside Microsoft account"
    assert config["OIDC_ALLOWED_DOMAINS"] == ("harbourside.gov.uk", "harbourside.example")
    assert config["OIDC_ROLE_GROUPS"] == {
        "g-1": frozenset({Role.OFFICER, Role.MONITORING_OFFICER}),
        "g-2": frozenset({Role.DUTY_OFFICER}),
    }


def test_role_groups_as_json():
    assert settings.parse_role_groups('{"a": "admin", "b": ["officer", "auditor"]}') == {
        "a": frozenset({Role.ADMIN}),
        "b": frozenset({Role.OFFICER, Role.AUDITOR}),
    }


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("g-1=wizard", "Unknown role 'wizard'"),
        ("g-1", "entry 1 must be group=role"),
        ("{not json", "is not valid JSON"),
        ('["officer"]', "must map group ids to roles"),
        ('{"g": [1]}', "must be role names"),
    ],
)
def test_bad_role_groups_are_named(raw, words):
    with pytest.raises(SettingsError, match="GATEWAY_OIDC_ROLE_GROUPS") as caught:
        settings.parse_role_groups(raw)
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"GATEWAY_OIDC_CLIENT_ID": ""}, "GATEWAY_OIDC_CLIENT_ID is not"),
        ({"GATEWAY_OIDC_CLIENT_SECRET": ""}, "GATEWAY_OIDC_CLIENT_SECRET is not"),
        ({"GATEWAY_OIDC_ISSUER": "http://idp.council.example"}, "must be an https:// URL"),
        ({"GATEWAY_OIDC_ISSUER": "login.example"}, "must be an https:// URL"),
        ({"GATEWAY_OIDC_ISSUER": ""}, "GATEWAY_OIDC_ISSUER is not"),
    ],
)
def test_incomplete_settings_stop_the_start(tmp_path, env, words):
    with pytest.raises(SettingsError, match=words):
        _load(tmp_path, **_sso(**env))


def test_plain_http_only_for_a_provider_on_this_machine_and_never_in_production(tmp_path):
    assert _load(tmp_path, **_sso(GATEWAY_OIDC_ISSUER="http://127.0.0.1:9000"))["OIDC_ISSUER"]
    with pytest.raises(SettingsError, match="https"):
        settings._oidc(_sso(GATEWAY_OIDC_ISSUER="http://127.0.0.1:9000"), settings.PRODUCTION)


def test_the_client_secret_is_never_shown(tmp_path):
    config = _load(tmp_path, **_sso())
    assert config["OIDC_CLIENT_SECRET"] == "the-client-secret"
    assert "the-client-secret" not in repr(config)
    assert repr(config["OIDC_CLIENT_SECRET"]) == "'***'"


def test_the_client_secret_from_a_file(tmp_path):
    path = tmp_path / "secret"
    path.write_text("from-a-file\n")
    env = _sso(GATEWAY_OIDC_CLIENT_SECRET="", GATEWAY_OIDC_CLIENT_SECRET_FILE=str(path))
    assert _load(tmp_path, **env)["OIDC_CLIENT_SECRET"] == "from-a-file"
    with pytest.raises(SettingsError, match="not both"):
        _load(tmp_path, **{**env, "GATEWAY_OIDC_CLIENT_SECRET": "x"})
    with pytest.raises(SettingsError, match="cannot be read"):
        _load(tmp_path, **{**env, "GATEWAY_OIDC_CLIENT_SECRET_FILE": str(tmp_path / "none")})

"""Settings: a missing or malformed one stops the start with one clear line naming it."""

import os
import stat
import subprocess
import sys

import pytest

from gateway import settings
from gateway.settings import SettingsError, load

PRODUCTION = {
    "GATEWAY_ENV": "production",
    "SECRET_KEY": "x" * 40,
    "DATABASE_URL": "postgresql://u@db/gateway",
    "REDIS_URL": "redis://redis:6379/0",
    "GATEWAY_ENCRYPTION_KEYS": settings.new_encryption_key(),
    "GATEWAY_LOG_SIGNING_KEY": "/run/secrets/log-signing.key",
}


def test_embedded_default_generates_secrets_once_with_owner_only_mode(tmp_path):
    env = {"GATEWAY_INSTANCE_PATH": str(tmp_path / "inst")}
    first = load(env)
    second = load(env)
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert first["ENCRYPTION_KEYS"] == second["ENCRYPTION_KEYS"]
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'inst' / 'gateway.sqlite'}"
    for name in ("secret_key", "encryption_keys"):
        mode = stat.S_IMODE(os.stat(tmp_path / "inst" / name).st_mode)
        assert mode == 0o600, name
    assert stat.S_IMODE(os.stat(tmp_path / "inst").st_mode) == 0o700


def test_two_instances_have_their_own_secrets(tmp_path):
    a = load({"GATEWAY_INSTANCE_PATH": str(tmp_path / "a")})
    b = load({"GATEWAY_INSTANCE_PATH": str(tmp_path / "b")})
    assert a["SECRET_KEY"] != b["SECRET_KEY"]
    assert a["SQLALCHEMY_DATABASE_URI"] != b["SQLALCHEMY_DATABASE_URI"]


def test_production_with_everything_set_loads(tmp_path):
    cfg = load({**PRODUCTION, "GATEWAY_INSTANCE_PATH": str(tmp_path)})
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/gateway"
    assert not list(tmp_path.iterdir()), "production must not generate secrets"


@pytest.mark.parametrize("name", [k for k in PRODUCTION if k != "GATEWAY_ENV"])
def test_production_refuses_to_start_without_each_secret(name, tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != name}
    env["GATEWAY_INSTANCE_PATH"] = str(tmp_path)
    with pytest.raises(SettingsError) as caught:
        load(env)
    assert name in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GATEWAY_ENCRYPTION_KEYS", "not-a-key"),
        ("GATEWAY_SESSION_IDLE_MINUTES", "ten"),
        ("GATEWAY_SESSION_IDLE_MINUTES", "0"),
        ("GATEWAY_COOKIE_SECURE", "perhaps"),
        ("DATABASE_URL", "mysql://x/y"),
        ("REDIS_URL", "http://redis"),
        ("GATEWAY_ENV", "staging"),
        ("SECRET_KEY", "short"),
        ("GATEWAY_SWEEP_SECONDS", "-1"),
    ],
)
def test_malformed_settings_are_named(name, value, tmp_path):
    with pytest.raises(SettingsError) as caught:
        load({"GATEWAY_INSTANCE_PATH": str(tmp_path), name: value})
    assert name in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_command_prints_one_clear_line_not_a_traceback(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "DATABASE_"))},
        "GATEWAY_INSTANCE_PATH": str(tmp_path),
        "GATEWAY_SESSION_IDLE_MINUTES": "ten",
    }
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["gateway: GATEWAY_SESSION_IDLE_MINUTES must be a whole number, got 'ten'."]


def test_encryption_keys_can_rotate():
    old, new = settings.new_encryption_key(), settings.new_encryption_key()
    keys = settings.parse_encryption_keys(f"{new}, {old}")
    assert len(keys) == 2 and all(len(k) == 32 for k in keys)

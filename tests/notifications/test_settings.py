"""Email, emergency-notification and checkpoint settings come from the environment through
gateway.settings like every other setting: checked, with a default, named when malformed."""

from __future__ import annotations

import pytest

from gateway.app import create_app
from gateway.domain import emergency as rules
from gateway.settings import PRODUCTION, SettingsError, load
from tests.foundation.test_settings import PRODUCTION as PRODUCTION_ENV


def test_the_defaults_send_no_email_and_sign_every_five_minutes(tmp_path):
    cfg = load({"GATEWAY_INSTANCE_PATH": str(tmp_path)})
    assert cfg["SMTP_HOST"] is None  # no mail server: no email, as before
    assert cfg["SMTP_PORT"] == 25 and cfg["SMTP_STARTTLS"] is False
    assert cfg["SMTP_USERNAME"] is None and cfg["SMTP_PASSWORD"] is None
    assert cfg["MAIL_FROM"] == "publishing-gateway@council.example"
    assert cfg["EMERGENCY_NOTIFY_EMAILS"] == ()
    assert cfg["CHECKPOINT_MINUTES"] == 5 and cfg["CHECKPOINT_DIR"] == ""
    assert cfg["EMERGENCY_POSTS_PER_HOUR"] == rules.DEFAULT_POSTS_PER_HOUR


def test_values_from_the_environment(tmp_path):
    cfg = load(
        {
            "GATEWAY_INSTANCE_PATH": str(tmp_path),
            "SMTP_HOST": " relay.council.internal ",
            "SMTP_PORT": "587",
            "SMTP_STARTTLS": "yes",
            "SMTP_USERNAME": "gateway",
            "SMTP_PASSWORD": "relay-secret-1",
            "MAIL_FROM": "social@council.gov.uk",
            "GATEWAY_EMERGENCY_NOTIFY_EMAILS": "comms-leads@council.gov.uk, Jo@council.gov.uk,"
            " comms-leads@COUNCIL.gov.uk",
            "GATEWAY_CHECKPOINT_MINUTES": "15",
            "GATEWAY_CHECKPOINT_DIR": str(tmp_path / "auditor-share"),
        }
    )
    assert cfg["SMTP_HOST"] == "relay.council.internal"
    assert cfg["SMTP_PORT"] == 587 and cfg["SMTP_STARTTLS"] is True
    assert (cfg["SMTP_USERNAME"], cfg["SMTP_PASSWORD"]) == ("gateway", "relay-secret-1")
    assert cfg["MAIL_FROM"] == "social@council.gov.uk"
    # A duplicate (in any case) is dropped; the order is kept.
    assert cfg["EMERGENCY_NOTIFY_EMAILS"] == ("comms-leads@council.gov.uk", "Jo@council.gov.uk")
    assert cfg["CHECKPOINT_MINUTES"] == 15
    assert cfg["CHECKPOINT_DIR"] == str(tmp_path / "auditor-share")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SMTP_PORT", "smtp"),
        ("SMTP_PORT", "0"),
        ("SMTP_PORT", "70000"),
        ("SMTP_STARTTLS", "sometimes"),
        ("MAIL_FROM", "The Gateway <gw@council.gov.uk>"),
        ("MAIL_FROM", "gateway"),
        ("GATEWAY_EMERGENCY_NOTIFY_EMAILS", "lead@council.gov.uk; other@council.gov.uk"),
        ("GATEWAY_EMERGENCY_NOTIFY_EMAILS", "lead@council.gov.uk, not an address"),
        ("GATEWAY_CHECKPOINT_MINUTES", "0"),
        ("GATEWAY_CHECKPOINT_MINUTES", "five"),
        ("SMTP_PASSWORD", "a-password-without-a-user"),
    ],
)
def test_malformed_settings_are_named_in_one_line(name, value, tmp_path):
    with pytest.raises(SettingsError) as caught:
        load({"GATEWAY_INSTANCE_PATH": str(tmp_path), name: value})
    message = str(caught.value)
    assert name in message and "\n" not in message
    if name == "SMTP_PASSWORD":
        assert value not in message  # a secret is never repeated back


def test_a_checkpoint_folder_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "not-a-folder").write_text("")
    with pytest.raises(SettingsError, match="GATEWAY_CHECKPOINT_DIR"):
        load(
            {
                "GATEWAY_INSTANCE_PATH": str(tmp_path),
                "GATEWAY_CHECKPOINT_DIR": str(tmp_path / "not-a-folder"),
            }
        )


def test_production_refuses_a_mail_password_that_would_travel_in_clear(tmp_path):
    env = {
        **PRODUCTION_ENV,
        "GATEWAY_INSTANCE_PATH": str(tmp_path),
        "SMTP_HOST": "relay.council.internal",
        "SMTP_USERNAME": "gateway",
        "SMTP_PASSWORD": "relay-secret-2",
    }
    with pytest.raises(SettingsError) as caught:
        load(env)
    assert "SMTP_STARTTLS" in str(caught.value) and "relay-secret-2" not in str(caught.value)
    assert load({**env, "SMTP_STARTTLS": "true"})["GATEWAY_ENV"] == PRODUCTION
    without_password = {k: v for k, v in env.items() if k != "SMTP_PASSWORD"}
    with pytest.raises(SettingsError, match="SMTP_PASSWORD"):
        load({**without_password, "SMTP_STARTTLS": "true"})


def test_the_app_reads_them_from_the_environment(tmp_path, monkeypatch):
    """What checkpoints.init_app used to read itself, and the mail settings nobody read."""
    for name, value in {
        "GATEWAY_INSTANCE_PATH": str(tmp_path),
        "GATEWAY_CHECKPOINT_MINUTES": "3",
        "GATEWAY_CHECKPOINT_DIR": str(tmp_path / "kept"),
        "SMTP_HOST": "relay.council.internal",
        "GATEWAY_EMERGENCY_NOTIFY_EMAILS": "comms-leads@council.gov.uk",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("DATABASE_URL", "REDIS_URL", "GATEWAY_ENV", "SECRET_KEY", "SMTP_PORT"):
        monkeypatch.delenv(name, raising=False)
    app = create_app()
    assert app.config["CHECKPOINT_MINUTES"] == 3
    assert app.config["CHECKPOINT_DIR"] == str(tmp_path / "kept")
    assert app.config["SMTP_HOST"] == "relay.council.internal" and app.config["SMTP_PORT"] == 25
    assert app.config["EMERGENCY_NOTIFY_EMAILS"] == ("comms-leads@council.gov.uk",)
    # A test's own config still wins over the environment.
    assert create_app({"CHECKPOINT_MINUTES": 1}).config["CHECKPOINT_MINUTES"] == 1

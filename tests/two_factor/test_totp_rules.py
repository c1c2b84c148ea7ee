"""The pure rules of codes (gateway.domain.totp): the window, reuse, what is typed."""

from __future__ import annotations

import pyotp
import pytest

from gateway import settings
from gateway.domain import totp
from gateway.domain.totp import Refusal

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
WHEN = 1_800_000_000.0  # a moment in 2027
STEP = totp.step_at(WHEN)


def test_codes_are_what_authenticator_apps_make():
    assert totp.code_for_step(SECRET, STEP) == pyotp.TOTP(SECRET).at(WHEN)
    uri = totp.provisioning_uri(SECRET, "duty@council.example")
    assert uri.startswith("otpauth://totp/Council%20Publishing%20Gateway:duty%40council.example")
    assert f"secret={SECRET}" in uri and "issuer=Council%20Publishing%20Gateway" in uri


def test_a_new_secret_is_160_bits_of_base32():
    secret = totp.new_secret()
    assert len(secret) == 32 and set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert totp.new_secret() != secret


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_one_step_either_side_is_accepted(offset):
    code = totp.code_for_step(SECRET, STEP + offset)
    assert totp.check_code(SECRET, code, WHEN, None).step == STEP + offset


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_codes_further_away_are_wrong(offset):
    code = totp.code_for_step(SECRET, STEP + offset)
    verdict = totp.check_code(SECRET, code, WHEN, None)
    # (A code of another step could by chance equal one inside the window: 1 in a million.)
    assert verdict.refusal is Refusal.WRONG


def test_a_code_for_a_step_already_used_is_refused_as_reused():
    code = totp.code_for_step(SECRET, STEP)
    assert totp.check_code(SECRET, code, WHEN, STEP).refusal is Refusal.REUSED
    assert totp.check_code(SECRET, code, WHEN, STEP + 1).refusal is Refusal.REUSED
    assert totp.check_code(SECRET, code, WHEN, STEP - 1).step == STEP
    # Once the next step's code has been used, this step's can no longer be either.
    earlier = totp.code_for_step(SECRET, STEP - 1)
    assert totp.check_code(SECRET, earlier, WHEN, STEP).refusal is Refusal.REUSED


@pytest.mark.parametrize("typed", ["", None, "12345", "1234567", "abcdef", "١٢٣٤٥٦", "12 34 5"])
def test_anything_but_six_digits_is_malformed(typed):
    assert totp.check_code(SECRET, typed, WHEN, None).refusal is Refusal.MALFORMED


def test_spaces_and_dashes_in_a_code_are_dropped():
    code = totp.code_for_step(SECRET, STEP)
    assert totp.check_code(SECRET, f" {code[:3]} {code[3:]} ", WHEN, None).accepted
    assert totp.check_code(SECRET, f"{code[:3]}-{code[3:]}", WHEN, None).accepted


def test_recovery_codes():
    codes = totp.new_recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    for code in codes:
        assert len(code) == 10 and set(code) <= set(totp.RECOVERY_ALPHABET)
        shown = totp.shown_recovery_code(code)
        assert shown == f"{code[:5]}-{code[5:]}"
        assert totp.normalise_recovery_code(shown) == code
        assert totp.normalise_recovery_code(f" {shown.upper()} ") == code
        assert totp.normalise_recovery_code(code[:5] + " " + code[5:]) == code
    # No look-alikes: 0, o, 1, l and i are never in a code, so a typed one is not valid.
    assert not set("01oil") & set(totp.RECOVERY_ALPHABET)
    assert totp.normalise_recovery_code("abcde-fghi0") is None
    assert totp.normalise_recovery_code("abcd") is None
    assert totp.normalise_recovery_code(None) is None


def test_the_secret_is_grouped_for_typing():
    assert totp.grouped("ABCDEFGHIJKL") == "ABCD EFGH IJKL"


def test_settings(tmp_path):
    base = {"GATEWAY_INSTANCE_PATH": str(tmp_path)}
    loaded = settings.load(base)
    assert loaded["TWO_FACTOR_REQUIRED"] == "privileged"
    assert loaded["TWO_FACTOR_RATE_LIMIT"] == "5 per 5 minutes"
    loaded = settings.load({**base, "GATEWAY_TWO_FACTOR_REQUIRED": " Everyone "})
    assert loaded["TWO_FACTOR_REQUIRED"] == "everyone"
    with pytest.raises(settings.SettingsError, match="GATEWAY_TWO_FACTOR_REQUIRED"):
        settings.load({**base, "GATEWAY_TWO_FACTOR_REQUIRED": "admins"})
    loaded = settings.load({**base, "GATEWAY_TWO_FACTOR_RATE_LIMIT": "3 per 10 minutes"})
    assert loaded["TWO_FACTOR_RATE_LIMIT"] == "3 per 10 minutes"
    with pytest.raises(settings.SettingsError, match="GATEWAY_TWO_FACTOR_RATE_LIMIT"):
        settings.load({**base, "GATEWAY_TWO_FACTOR_RATE_LIMIT": "lots"})

"""The rules of two-factor codes (issue 16), free of Flask and the database.

TOTP as RFC 6238 and every authenticator app have it: HMAC-SHA1, 6 digits, 30-second steps.
A code is accepted for the step it was made in or the one either side (a phone's clock a
little off, or a code typed as it changed: RFC 6238 section 5.2's one step of network delay),
and only for a step later than the last code accepted for the same person, so a code seen
over someone's shoulder cannot be used again, not even within its 30 seconds.

Recovery codes: ten at a time, each ten characters from an alphabet without look-alikes (no
0/o, 1/l/i), about 50 bits, typed with or without the dash and in either case.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

import pyotp

STEP_SECONDS = 30
DIGITS = 6
#: Steps either side of now that a code may come from.
WINDOW_STEPS = 1
#: 32 base32 characters: the 160-bit secret RFC 4226 section 4 recommends.
SECRET_LENGTH = 32
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_LENGTH = 10
#: Lower-case letters and digits that cannot be read as one another.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
#: What authenticator apps show as the account's issuer.
ISSUER = "Council Publishing Gateway"

#: What people type between groups of a code: spaces and dashes.
_SEPARATORS = re.compile(r"[\s-]+")


class Refusal(StrEnum):
    """Why a code was not accepted: the publish log's ``reason``."""

    MALFORMED = "malformed_code"
    WRONG = "wrong_code"
    REUSED = "reused_code"
    WRONG_RECOVERY = "wrong_recovery_code"


@dataclass(frozen=True)
class Verdict:
    """A code's check: the step it was accepted for, or why it was refused."""

    step: int | None = None
    refusal: Refusal | None = None

    @property
    def accepted(self) -> bool:
        return self.step is not None


def new_secret() -> str:
    return pyotp.random_base32(length=SECRET_LENGTH)


def step_at(when: float) -> int:
    return int(when // STEP_SECONDS)


def code_for_step(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).at(step * STEP_SECONDS)


def normalise_code(text: str | None) -> str | None:
    """The six digits typed, spaces and dashes dropped ("123 456"), or None."""
    cleaned = _SEPARATORS.sub("", text or "")
    if len(cleaned) != DIGITS or not cleaned.isascii() or not cleaned.isdigit():
        return None
    return cleaned


def check_code(secret: str, text: str | None, when: float, last_used_step: int | None) -> Verdict:
    """Whether ``text`` is a code for ``secret`` at ``when``, not used before."""
    code = normalise_code(text)
    if code is None:
        return Verdict(refusal=Refusal.MALFORMED)
    now = step_at(when)
    matched = [
        step
        for step in range(now - WINDOW_STEPS, now + WINDOW_STEPS + 1)
        # Every step is compared, each in constant time: the time taken says nothing.
        if hmac.compare_digest(code_for_step(secret, step), code)
    ]
    if not matched:
        return Verdict(refusal=Refusal.WRONG)
    fresh = [step for step in matched if last_used_step is None or step > last_used_step]
    if not fresh:
        return Verdict(refusal=Refusal.REUSED)
    return Verdict(step=max(fresh))


def provisioning_uri(secret: str, account: str) -> str:
    """The ``otpauth://`` address the QR code holds (Google Authenticator's Key Uri Format)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account, issuer_name=ISSUER
    )


def grouped(secret: str) -> str:
    """The secret in groups of four, as apps ask for it to be typed."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Fresh recovery codes, normalised (no dash): see :func:`shown_recovery_code`."""
    return [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(count)
    ]


def shown_recovery_code(code: str) -> str:
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def normalise_recovery_code(text: str | None) -> str | None:
    """A recovery code as typed (dash or spaces, any case) in its stored form, or None."""
    cleaned = _SEPARATORS.sub("", text or "").lower()
    if len(cleaned) != RECOVERY_CODE_LENGTH or any(c not in RECOVERY_ALPHABET for c in cleaned):
        return None
    return cleaned

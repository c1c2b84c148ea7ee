"""The password policy: pure, so the CLI and the admin pages ask the same function."""

from __future__ import annotations

from functools import cache

#: NCSC and NIST SP 800-63B favour length and a block list over composition rules; 12 is the
#: floor issue 3 sets.
MIN_PASSWORD_LENGTH = 12
#: Argon2 and our forms cap input so a megabyte "password" cannot tie up a worker.
MAX_PASSWORD_LENGTH = 256


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords from public breach corpora: a maintained
    # list, not one kept by hand here.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, *, email: str | None = None) -> str | None:
    """Return why ``password`` is refused, or None when it meets the policy."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must be at least {MIN_PASSWORD_LENGTH} characters long."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"The password must be at most {MAX_PASSWORD_LENGTH} characters long."
    lowered = password.lower()
    common = _common_passwords()
    # "password123!" is as guessable as "password": strip trailing digits and punctuation too.
    if lowered in common or lowered.rstrip("0123456789!?.") in common:
        return "That is one of the most commonly used passwords: choose another."
    if len(set(password)) < 5:
        return "The password repeats too few different characters: choose another."
    local = (email or "").split("@")[0].lower()
    if len(local) >= 4 and local in lowered:
        return "The password must not contain your email name."
    return None

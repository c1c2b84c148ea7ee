"""Password hashing with Argon2id, the memory-hard scheme OWASP recommends first."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults follow RFC 9106's second recommended option (64 MiB, t=3, p=4).
_hasher = PasswordHasher()
#: Compared against when the email is unknown, so a sign-in takes as long either way and does
#: not reveal which emails have accounts.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")
#: Stored once an admin's one-time password has been used: no password matches it.
UNUSABLE_HASH = "!unusable"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored_hash: str | None, password: str) -> bool:
    try:
        # Falsy stored hashes ("" as much as None) are checked against the dummy and refused.
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and bool(stored_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return False


#: Recovery codes (issue 16) are random, about 50 bits each, not chosen by a person: a slow
#: hash adds little to what guessing one costs, while ten are hashed at every enrolment and up
#: to ten tried at a sign-in. Still Argon2id, with OWASP's minimum parameters for it (19 MiB,
#: t=2, p=1) rather than the 64 MiB the passwords use.
_recovery_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_recovery_code(code: str) -> str:
    return _recovery_hasher.hash(code)


def check_recovery_code(stored_hash: str, code: str) -> bool:
    try:
        return _recovery_hasher.verify(stored_hash, code)
    except (VerificationError, InvalidHashError):
        return False

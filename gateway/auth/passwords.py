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

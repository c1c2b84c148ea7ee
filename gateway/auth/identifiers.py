"""What the publish log keeps of an identifier typed at sign-in: a keyed hash, never the text.

People type passwords into the email box; the log is kept for years and read by auditors, so
a failed sign-in records ``HMAC-SHA256(key, normalised text)`` instead (issue 20). The same
typed address always gives the same value, so repeated attempts on one address show up, and
someone holding SECRET_KEY can check whether a given address was the one typed
(``gateway users sign-in-digest``). A new SECRET_KEY gives new values from then on.
"""

from __future__ import annotations

import hashlib
import hmac

#: Separates this key from every other use of SECRET_KEY (sessions, CSRF).
_PURPOSE = b"gateway: typed sign-in identifiers, v1"


def normalise_typed(text: str) -> str:
    """The sign-in form's own normalisation: what it looks the account up by."""
    return (text or "").strip().lower()


def typed_identifier_digest(text: str, secret_key: str) -> str:
    key = hmac.new(secret_key.encode(), _PURPOSE, hashlib.sha256).digest()
    return hmac.new(key, normalise_typed(text).encode(), hashlib.sha256).hexdigest()

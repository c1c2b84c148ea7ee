"""What an approval is bound to: a hash of exactly what the approver saw (issue 5)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from gateway.transparency.canonical import canonical_json


def fingerprint(content: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical post content (text, images and alt text, channels, time; on a
    bilingual post both texts, both alt texts and each channel's form: issue 18).

    The same bytes the publish log hashes, so an auditor can check an approval against the
    content exported beside the log.
    """
    return hashlib.sha256(canonical_json(dict(content))).hexdigest()

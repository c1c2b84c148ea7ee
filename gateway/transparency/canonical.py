"""Canonical JSON as RFC 8785 (JCS) defines it, for the values the publish log holds.

Leaves hold only strings, integers, booleans, null, arrays and objects: floats are refused, so
the number serialisation of RFC 8785 section 3.2.2.3 never arises and integers print as Python
prints them. Object keys are sorted by their UTF-16 code units (RFC 8785 section 3.2.3), which
differs from Python's code-point order only for characters outside the Basic Multilingual Plane.
"""

from __future__ import annotations

import json
from typing import Any

#: JSON numbers are IEEE doubles (RFC 8785 section 3.2.2.3): integers beyond 2**53 lose precision
#: in other parsers, so the log refuses them rather than write a leaf others read differently.
MAX_SAFE_INTEGER = 2**53 - 1


class CanonicalJSONError(ValueError):
    """A value that has no canonical form in the publish log."""


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be")


def _encode(value: Any, out: list[str]) -> None:
    if value is None or value is True or value is False:
        out.append(json.dumps(value))
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalJSONError(f"integer {value} is outside the safe JSON range")
        out.append(str(value))
    elif isinstance(value, float):
        raise CanonicalJSONError("floats are not allowed in canonical log entries")
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(sorted(value, key=_checked_key)):
            if i:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _encode(value[key], out)
        out.append("}")
    else:
        raise CanonicalJSONError(f"{type(value).__name__} has no canonical JSON form")


def _checked_key(key: Any) -> bytes:
    if not isinstance(key, str):
        raise CanonicalJSONError("object keys must be strings")
    return _utf16_key(key)


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``value``."""
    out: list[str] = []
    _encode(value, out)
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates cannot be UTF-8
        raise CanonicalJSONError("text is not valid Unicode") from exc

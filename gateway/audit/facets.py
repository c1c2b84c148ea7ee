"""The filter values of an entry that live only inside its leaf's payload (issue #8).

Auditors filter the log by channel, outcome, guardrail rule, emergency and post. Those values
sit inside the leaf's JSON (a channel may be ``payload.channel_id``, a key of a verdict's
``findings`` or one of the post content's ``channels``), and one entry may have several of them
(a verdict names many rules). Rather than one extracted column each, an entry gets one
``audit_facets`` row per (name, value), written by :func:`gateway.audit.record` in the same
transaction; the primary key (name, value, seq) is the index a filtered page walks backwards.

Facets are a derived index, not evidence: nothing here is hashed, and ``gateway audit verify``
recomputes them from the leaves (:func:`facets_of`) and reports any that differ.

Pure: no Flask or SQLAlchemy, so the migration that back-fills old entries can import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

POST = "post"
CHANNEL = "channel"
OUTCOME = "outcome"
RULE = "rule"
EMERGENCY = "emergency"
FACET_NAMES = (POST, CHANNEL, OUTCOME, RULE, EMERGENCY)
#: The value of the emergency facet: present means "about an emergency post".
YES = "1"
#: The column width; a longer value (a made-up rule name) is cut, never refused, because the
#: entry it indexes must still be written.
MAX_VALUE_CHARS = 120


def _id(value: Any) -> str | None:
    # type(): True is not an id (it would become "True").
    if type(value) is int or (type(value) is str and value):
        return str(value)[:MAX_VALUE_CHARS]
    return None


def _findings(payload: Mapping[str, Any]) -> list[tuple[str | None, Any]]:
    """(channel id, finding) pairs of a guardrail verdict in either of its two shapes."""
    found = payload.get("findings")
    if isinstance(found, dict):  # submitted / approval: {channel_id: [finding, ...]}
        return [
            (channel, item)
            for channel, items in found.items()
            if isinstance(items, list)
            for item in items
        ]
    if isinstance(found, list):  # publish time: one channel, a list of findings
        return [(_id(payload.get("channel_id")), item) for item in found]
    return []


def facets_of(
    leaf: Mapping[str, Any], content: Mapping[str, Any] | None = None
) -> set[tuple[str, str]]:
    """The (name, value) facets of one parsed leaf and the post content it refers to."""
    out: set[tuple[str, str]] = set()
    payload = leaf.get("payload") or {}
    obj = leaf.get("object") or {}
    content = content or {}
    post = obj.get("id") if obj.get("type") == "post" else payload.get("post_id")
    if (post_id := _id(post)) is not None:
        out.add((POST, post_id))
    channels = [payload.get("channel_id")]
    if obj.get("type") == "channel":
        channels.append(obj.get("id"))
    if isinstance(content.get("channels"), list):
        channels.extend(content["channels"])
    for channel, finding in _findings(payload):
        channels.append(channel)
        if isinstance(finding, dict) and (rule := _id(finding.get("rule"))) is not None:
            out.add((RULE, rule))
    out.update((CHANNEL, c) for c in map(_id, channels) if c is not None)
    if (outcome := _id(payload.get("outcome"))) is not None:
        out.add((OUTCOME, outcome))
    if (
        payload.get("emergency") is True
        or _id(payload.get("emergency_category"))
        or _id(content.get("emergency_category"))
        or str(leaf.get("action", "")).startswith("emergency.")
    ):
        out.add((EMERGENCY, YES))
    return out

"""The two-person rule (Swale customer use policy, "Approval of content"; issue 20).

A post goes out only when someone other than everyone who wrote it has approved it: its author
and every officer who changed it since its last approval. One pure function, asked by the post
service when an officer approves, by the publishing worker at publish time and (over the publish
log's entries) by the auditors' rules, so the three can never disagree. Each says the refusal
in its own words, keyed on the reason this returns.
"""

from __future__ import annotations

from collections.abc import Iterable

#: The approver changed the version being approved (an editor of its approval round).
EDITOR = "its approver changed it after its last approval"
#: The approver is the post's author.
AUTHOR = "its approver is its author"


def writers(author_id: int, editor_ids: Iterable[int]) -> frozenset[int]:
    """Everyone who wrote or changed the version being approved."""
    return frozenset({author_id, *editor_ids})


def approval_refusal(approver_id: int, author_id: int, editor_ids: Iterable[int]) -> str | None:
    """Why ``approver_id`` may not approve this version (:data:`EDITOR` or :data:`AUTHOR`), or
    None when they may."""
    if approver_id in set(editor_ids):
        return EDITOR
    if approver_id == author_id:
        return AUTHOR
    return None

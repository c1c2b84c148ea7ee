"""``gateway audit verify`` compares every indexed column of an entry, its filter index rows and
its stored post content with its hashed leaf (issue #20): the auditors' filters query those
columns, so an edit there would credit the wrong officer, while the hash chain still holds."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from gateway.audit import Actor, record
from gateway.audit.checkpoints import sign_now
from gateway.cli import main
from gateway.extensions import db
from gateway.models import PostContent
from tests.audit.conftest import a_user, bypass_trigger, entries


def _content(post: int) -> dict:
    return {
        "text": f"Bins are collected on Saturday (post {post})",
        "images": [],
        "channels": [post],
        "scheduled_at": None,
        "emergency_category": None,
    }


def _log(app) -> dict[str, int]:
    """Two posts created by Tom (entries 0 and 1), a signed checkpoint over them; the ids."""
    with app.app_context():
        tom, eve = a_user("tom@council.example"), a_user("eve@council.example")
        for post in (1, 2):
            record(
                "post.created",
                actor=Actor.of(tom),
                obj=("post", post),
                payload={"author_id": tom.id, "emergency_category": None},
                content=_content(post),
            )
        db.session.commit()
        sign_now()
        db.session.commit()
        bypass_trigger()
        db.session.commit()
        return {"tom": tom.id, "eve": eve.id}


def _verify(runner):
    return runner.invoke(main, ["audit", "verify"])


def _edit_content_of_entry_1():
    named = entries()[1].content_sha256
    row = db.session.get(PostContent, named)
    db.session.execute(
        text("UPDATE post_contents SET content = :c WHERE sha256 = :h"),
        {"c": bytes(row.content).replace(b"Saturday", b"Sunday"), "h": named},
    )


EDITS = {
    # someone else credited with entry 1: the officer filter would show it under Eve
    "actor": (
        lambda ids: db.session.execute(
            text("UPDATE audit_entries SET actor_id = :eve WHERE seq = 1"), {"eve": ids["eve"]}
        ),
        ["entry 1: its actor_id column differs from its hashed leaf"],
    ),
    "object type": (
        lambda ids: db.session.execute(
            text("UPDATE audit_entries SET object_type = 'channel' WHERE seq = 1")
        ),
        ["entry 1: its object_type column differs from its hashed leaf"],
    ),
    "object id": (
        lambda ids: db.session.execute(
            text("UPDATE audit_entries SET object_id = '1' WHERE seq = 1")
        ),
        ["entry 1: its object_id column differs from its hashed leaf"],
    ),
    "action": (
        lambda ids: db.session.execute(
            text("UPDATE audit_entries SET action = 'post.approved' WHERE seq = 1")
        ),
        ["entry 1: its action column differs from its hashed leaf"],
    ),
    # the two entries' post facets swapped: every count stays the same, but a post's history
    # page and a "post 1" filter would show the other post's entry
    "facet": (
        lambda ids: db.session.execute(
            text("UPDATE audit_facets SET seq = 1 - seq WHERE name = 'post'")
        ),
        [
            "entry 0: its filter index (audit_facets) lacks post '1', which its hashed leaf gives",
            "entry 0: its filter index (audit_facets) has post '2', which its hashed leaf "
            "does not give",
            "entry 1: its filter index (audit_facets) lacks post '2', which its hashed leaf gives",
        ],
    ),
    "post content": (
        lambda ids: _edit_content_of_entry_1(),
        [
            "entry 1: its post content (post_contents) does not match the content_sha256 its "
            "hashed leaf names"
        ],
    ),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edit_of_an_indexed_column_facet_or_content_is_named(app, runner, edit):
    ids = _log(app)
    assert _verify(runner).exit_code == 0
    change, expected = EDITS[edit]
    with app.app_context():
        change(ids)
        db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1, result.output
    assert "does NOT verify" in result.output
    for problem in expected:
        assert problem in result.output, (edit, result.output)


def test_every_edited_entry_is_named_not_only_the_first(app, runner):
    ids = _log(app)
    with app.app_context():
        db.session.execute(text("UPDATE audit_entries SET actor_id = :eve"), {"eve": ids["eve"]})
        db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert "entry 0: its actor_id column differs from its hashed leaf" in result.output
    assert "entry 1: its actor_id column differs from its hashed leaf" in result.output


def test_facet_rows_of_an_entry_that_does_not_exist_are_named(app, runner):
    _log(app)
    with app.app_context():
        db.session.execute(
            text("INSERT INTO audit_facets (name, value, seq) VALUES ('post', '9', 7)")
        )
        db.session.commit()
        assert db.session.scalar(select(db.func.count()).select_from(PostContent)) == 2
    result = _verify(runner)
    assert result.exit_code == 1
    assert (
        "the filter index (audit_facets) has rows for entry 7, which is not in the log"
        in result.output
    )

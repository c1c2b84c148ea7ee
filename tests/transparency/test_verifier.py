"""verify_leaves: the in-app check of the database's leaves against its stored checkpoints."""

from __future__ import annotations

from gateway.transparency.chain import verify_chain
from gateway.transparency.checkpoint import Checkpoint
from gateway.transparency.merkle import leaf_hash, root_hash
from gateway.transparency.verifier import verify_leaves
from tests.transparency.helpers import ORIGIN, parsed, rechain


def _checkpoint(leaves, size):
    return Checkpoint(ORIGIN, size, root_hash(leaf_hash(leaf) for leaf in leaves[:size]))


def test_a_log_that_grew_since_its_checkpoint_verifies(leaves):
    report = verify_leaves(leaves, checkpoint=_checkpoint(leaves, 40))
    assert report.ok, report.failures
    assert report.size == len(leaves)
    assert report.roots[40] == _checkpoint(leaves, 40).root_hash
    assert report.root == _checkpoint(leaves, len(leaves)).root_hash


def test_rows_deleted_below_the_checkpoint_are_caught(leaves):
    report = verify_leaves(leaves[:30], checkpoint=_checkpoint(leaves, 40))
    assert not report.ok
    assert "truncated or rolled back" in str(report.first_failure())


def test_a_superuser_rewrite_past_the_trigger_is_caught(leaves):
    values = parsed(leaves)
    values[3]["payload"]["author_id"] = 99
    report = verify_leaves(rechain(values), checkpoint=_checkpoint(leaves, len(leaves)))
    assert "do not hash to the checkpoint's root" in str(report.first_failure())


def test_an_edit_without_rechaining_names_the_next_entry(leaves):
    edited = list(leaves)
    edited[5] = edited[5].replace(b'"published"', b'"failed"')
    failure = verify_chain(edited)
    assert failure is not None and failure.index == 6
    assert "hash chain broken" in str(failure)
    report = verify_leaves(edited, checkpoint=_checkpoint(leaves, len(leaves)))
    assert report.broken_at == 6
    assert [f.index for f in report.failures] == [6]


def test_several_previous_checkpoints(leaves):
    previous = [_checkpoint(leaves, 1), _checkpoint(leaves, 64), _checkpoint(leaves, 0)]
    report = verify_leaves(leaves, checkpoint=_checkpoint(leaves, len(leaves)), previous=previous)
    assert report.ok, report.failures


def test_an_empty_log_verifies_against_an_empty_checkpoint():
    report = verify_leaves([], checkpoint=_checkpoint([], 0))
    assert report.ok
    assert report.size == 0

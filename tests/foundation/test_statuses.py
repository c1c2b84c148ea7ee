"""The post and delivery state machines: pure, no fixtures."""

import itertools

import pytest

from gateway.domain.statuses import (
    DELIVERY_TRANSITIONS,
    EMERGENCY_TRANSITIONS,
    POST_TRANSITIONS,
    DeliveryStatus,
    PostStatus,
    TransitionNotAllowed,
    transition,
    transition_delivery,
)

ALL_POST_PAIRS = list(itertools.product(PostStatus, PostStatus))
ALL_DELIVERY_PAIRS = list(itertools.product(DeliveryStatus, DeliveryStatus))


@pytest.mark.parametrize(("current", "target"), sorted(POST_TRANSITIONS))
def test_every_allowed_post_transition_works(current, target):
    assert transition(current, target) is target


@pytest.mark.parametrize(
    ("current", "target"), [p for p in ALL_POST_PAIRS if p not in POST_TRANSITIONS]
)
def test_every_other_post_transition_is_refused(current, target):
    if (current, target) not in EMERGENCY_TRANSITIONS:
        with pytest.raises(TransitionNotAllowed):
            transition(current, target, emergency=True)
    with pytest.raises(TransitionNotAllowed) as caught:
        transition(current, target)
    assert current.value in str(caught.value) and target.value in str(caught.value)


def test_only_emergency_posts_skip_approval():
    with pytest.raises(TransitionNotAllowed):
        transition(PostStatus.DRAFT, PostStatus.APPROVED)
    assert transition(PostStatus.DRAFT, PostStatus.APPROVED, emergency=True) is PostStatus.APPROVED


def test_published_and_cancelled_posts_are_final():
    for terminal in (PostStatus.PUBLISHED, PostStatus.CANCELLED):
        for target in PostStatus:
            with pytest.raises(TransitionNotAllowed):
                transition(terminal, target, emergency=True)


def test_statuses_accept_their_string_values():
    assert transition("draft", "awaiting_approval") is PostStatus.AWAITING_APPROVAL


@pytest.mark.parametrize(("current", "target"), sorted(DELIVERY_TRANSITIONS))
def test_every_allowed_delivery_transition_works(current, target):
    assert transition_delivery(current, target) is target


@pytest.mark.parametrize(
    ("current", "target"), [p for p in ALL_DELIVERY_PAIRS if p not in DELIVERY_TRANSITIONS]
)
def test_every_other_delivery_transition_is_refused(current, target):
    with pytest.raises(TransitionNotAllowed):
        transition_delivery(current, target)


def test_a_published_delivery_can_never_be_published_again():
    # Nothing doubled (issue 5): no path leads out of "published".
    assert not [t for (c, t) in DELIVERY_TRANSITIONS if c is DeliveryStatus.PUBLISHED]

"""The rules an auditor checks over the whole publish log (issue #8, "Offline verification").

1. Every publish was approved by someone other than its author, or is an emergency post sent at
   once (the social media policy's two-person rule; such posts have an ``emergency.published``
   entry, are published first and reviewed after). An emergency post sent to fast-track
   approval in office hours (issue 20) is approved like any other: its category alone does not
   excuse it.
   An approval is also a violation when its approver edited the post since its last
   approval (issue 20): the approver differs from everyone who wrote the version approved.
2. Every ``delivery.attempt`` has exactly one ``delivery.outcome`` with the same ``attempt_id``.
3. No delivery has two ``published`` outcomes (a post must not go out twice on one channel).

Rules read the payload conventions of the leaf format; an entry that a rule needs but whose
payload lacks the fields is itself a violation, because a log that cannot show the rule held
does not show it.

Beside the violations, the rules *flag* for an auditor's review (without failing the log) an
approval by someone who created or changed the account of one of the post's writers: an admin
who made a second account could otherwise write as one and approve as the other (issue 20).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count
from typing import Any

from gateway.domain import two_person

#: An attempt this close to the end of the log may still be running: the worker records its
#: outcome when the platform answers, and the stuck-delivery sweep records "unknown" within the
#: hour. Only older attempts without an outcome are violations; newer ones are reported as
#: pending, so an export taken while a post is going out still verifies.
PENDING_OUTCOME_GRACE = timedelta(hours=1)

OUTCOMES = frozenset({"published", "failed", "retry", "rate_limited", "unknown", "blocked", "held"})
#: Account changes that take from a person rather than give them access: whoever made them did
#: not gain control of the account, so they do not make an approval worth a second look.
NOT_CONTROLLING = frozenset({"user.disabled", "user.sessions_ended"})


@dataclass(frozen=True, order=True)
class RuleViolation:
    """One entry that breaks an auditor rule."""

    index: int
    reason: str

    def __str__(self) -> str:
        return f"entry {self.index}: {self.reason}"


class _BadPayload(Exception):
    pass


def _int(payload: dict[str, Any], key: str) -> int:
    value = payload.get(key)
    if type(value) is not int:  # type(), not isinstance(): True is not an id
        raise _BadPayload(f'payload has no integer "{key}"')
    return value


def _str(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if type(value) is not str or not value:
        raise _BadPayload(f'payload has no string "{key}"')
    return value


def _post_of(leaf: dict[str, Any]) -> str:
    """The post an entry is about: its object, or else its payload's ``post_id``."""
    obj = leaf["object"]
    if obj and obj.get("type") == "post":
        return obj["id"]
    post_id = leaf["payload"].get("post_id")
    if type(post_id) is int:
        return str(post_id)
    raise _BadPayload('neither "object" nor "payload.post_id" names a post')


def _attempt_fields(payload: dict[str, Any]) -> tuple[str, int, int]:
    """A delivery attempt's ``attempt_id``, ``delivery_id`` and ``post_id``. Half of all
    entries come here, so the common case is checked inline and :func:`_str`/:func:`_int`
    only say what is wrong."""
    attempt_id = payload.get("attempt_id")
    if type(attempt_id) is not str or not attempt_id:
        attempt_id = _str(payload, "attempt_id")
    delivery_id, post_id = payload.get("delivery_id"), payload.get("post_id")
    if type(delivery_id) is not int or type(post_id) is not int:
        delivery_id, post_id = _int(payload, "delivery_id"), _int(payload, "post_id")
    return attempt_id, delivery_id, post_id


#: An open attempt: (entry index, time, delivery id, post id). A plain tuple, since a quarter
#: of all entries make one: building a NamedTuple costs ten times as much.
_Attempt = tuple[int, str, int, int]


@dataclass
class AuditorRules:
    """Feed every leaf in order with :meth:`feed`, then call :meth:`finish`."""

    violations: list[RuleViolation] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    published: int = 0
    attempts: int = 0
    flags: list[str] = field(default_factory=list)
    _authors: dict[str, int] = field(default_factory=dict)
    #: Per post, the users who edited it since its last approval (its open round's editors).
    _editors: dict[str, set[int]] = field(default_factory=dict)
    #: Per account id, the users who created or changed it.
    _managed_by: dict[int, set[int]] = field(default_factory=dict)
    _approved: set[str] = field(default_factory=set)
    _emergency: set[str] = field(default_factory=set)
    _open: dict[str, _Attempt] = field(default_factory=dict)
    _closed: set[str] = field(default_factory=set)
    _published_at: dict[int, int] = field(default_factory=dict)
    _unapproved: list[tuple[int, str]] = field(default_factory=list)
    _last_time: str = ""

    def feed(self, index: int, leaf: dict[str, Any]) -> None:
        """Apply the rules to one parsed leaf."""
        self._last_time = leaf["time"]
        handler = self._handler(leaf["action"])
        if handler is None:
            return
        try:
            handler(self, index, leaf)
        except _BadPayload as exc:
            self.violations.append(RuleViolation(index, f"{leaf['action']}: {exc}"))

    def _post_written(self, index: int, leaf: dict[str, Any]) -> None:
        post, payload = _post_of(leaf), leaf["payload"]
        if leaf["action"] == "post.created":
            self._authors[post] = _int(payload, "author_id")
            self._editors[post] = set()
        else:
            # The entry's actor, not its payload, says who changed it: the leaf's actor is what
            # the auditors' filters and the chain both vouch for.
            editor = leaf["actor"].get("id")
            if type(editor) is int and editor != self._authors.get(post):
                self._editors.setdefault(post, set()).add(editor)

    def _account_changed(self, index: int, leaf: dict[str, Any]) -> None:
        obj, actor = leaf.get("object"), (leaf.get("actor") or {}).get("id")
        if leaf["action"] in NOT_CONTROLLING or type(actor) is not int:
            return
        if not obj or obj.get("type") != "user" or not str(obj.get("id", "")).isdigit():
            return
        account = int(obj["id"])
        if account != actor:
            self._managed_by.setdefault(account, set()).add(actor)

    def _approved_entry(self, index: int, leaf: dict[str, Any]) -> None:
        post, payload = _post_of(leaf), leaf["payload"]
        approver, author = _int(payload, "approver_id"), _int(payload, "author_id")
        created_by = self._authors.get(post)
        editors = self._editors.pop(post, set())
        why = two_person.approval_refusal(approver, author, editors)
        if why == two_person.EDITOR:
            self.violations.append(
                RuleViolation(
                    index,
                    f"post {post} was approved by user {approver}, who edited it since its "
                    "last approval",
                )
            )
        elif why == two_person.AUTHOR:
            self.violations.append(
                RuleViolation(index, f"post {post} was approved by its own author (user {author})")
            )
        elif created_by is not None and created_by != author:
            self.violations.append(
                RuleViolation(
                    index,
                    f"the approval of post {post} names user {author} as author, "
                    f"but user {created_by} created it",
                )
            )
        elif created_by is not None and approver == created_by:
            self.violations.append(
                RuleViolation(
                    index, f"post {post} was approved by its own author (user {approver})"
                )
            )
        else:
            self._approved.add(post)
            for writer in sorted(two_person.writers(author, editors)):
                if approver in self._managed_by.get(writer, ()):
                    self.flags.append(
                        f"entry {index}: post {post} was approved by user {approver}, who "
                        f"created or changed the account of its writer, user {writer}"
                    )

    def _emergency_entry(self, index: int, leaf: dict[str, Any]) -> None:
        self._emergency.add(str(_int(leaf["payload"], "post_id")))

    # The two handlers below run for half of all entries: an open attempt is a tuple, and the
    # fields they share are read by :func:`_attempt_fields`.
    def _attempt_entry(self, index: int, leaf: dict[str, Any]) -> None:
        attempt_id, delivery_id, post_id = _attempt_fields(leaf["payload"])
        attempt = (index, leaf["time"], delivery_id, post_id)
        self.attempts += 1
        if attempt_id in self._open or attempt_id in self._closed:
            self.violations.append(
                RuleViolation(index, f"delivery attempt {attempt_id} was started twice")
            )
            return
        self._open[attempt_id] = attempt

    def _outcome_entry(self, index: int, leaf: dict[str, Any]) -> None:
        payload = leaf["payload"]
        attempt_id, delivery_id, post_id = _attempt_fields(payload)
        outcome = payload.get("outcome")
        if outcome not in OUTCOMES:
            raise _BadPayload(f'"outcome" {outcome!r} is not one of {sorted(OUTCOMES)}')
        attempt = self._open.pop(attempt_id, None)
        if attempt is None:
            why = (
                "a second outcome for"
                if attempt_id in self._closed
                else "an outcome for an unknown"
            )
            self.violations.append(RuleViolation(index, f"{why} delivery attempt {attempt_id}"))
            return
        self._closed.add(attempt_id)
        started_at, _, started_delivery, started_post = attempt
        if started_delivery != delivery_id or started_post != post_id:
            self.violations.append(
                RuleViolation(
                    index,
                    f"the outcome of attempt {attempt_id} names delivery {delivery_id} of post "
                    f"{post_id}, but entry {started_at} started it for delivery "
                    f"{started_delivery} of post {started_post}",
                )
            )
            return
        if outcome != "published":
            return
        self.published += 1
        first = self._published_at.get(delivery_id)
        if first is not None:
            self.violations.append(
                RuleViolation(
                    index,
                    f"delivery {delivery_id} was published twice (first at entry {first})",
                )
            )
            return
        self._published_at[delivery_id] = index
        post = str(post_id)
        if post not in self._approved and post not in self._emergency:
            # An emergency.published entry may follow the outcome; decide at the end.
            self._unapproved.append((index, post))

    def feed_block(
        self, start: int, leaves: Sequence[dict[str, Any]], actions: Sequence[str]
    ) -> None:
        """:meth:`feed` for ``leaves`` (entries ``start``, ``start + 1``...), whose actions the
        caller has already read out; only the entries a rule is about cost a call."""
        if not leaves:
            return
        self.feed_items(zip(count(start), actions, leaves))
        self._last_time = leaves[-1]["time"]

    def feed_items(self, items: Iterable[tuple[int, str, dict[str, Any]]]) -> None:
        """:meth:`feed` for each ``(index, action, leaf)`` of ``items``, in log order, where
        entries no rule is about may be left out (the parallel verifier sends only the others,
        and only their fields that a rule reads); the caller keeps the log's last time with
        :meth:`saw_time`."""
        get = self._handlers.get
        for index, action, leaf in items:
            handler = get(action)
            if handler is None:
                if not action.startswith("user."):
                    continue
                handler = AuditorRules._account_changed
            try:
                handler(self, index, leaf)
            except _BadPayload as exc:
                self.violations.append(RuleViolation(index, f"{action}: {exc}"))

    def saw_time(self, time: str) -> None:
        """The time of the latest entry fed (for the end-of-log grace on open attempts)."""
        self._last_time = time

    _handlers = {
        "post.created": _post_written,
        "post.edited": _post_written,
        "post.approved": _approved_entry,
        "emergency.published": _emergency_entry,
        "delivery.attempt": _attempt_entry,
        "delivery.outcome": _outcome_entry,
    }

    @classmethod
    def _handler(cls, action: str) -> Any:
        handler = cls._handlers.get(action)
        if handler is None and action.startswith("user."):
            return cls._account_changed
        return handler

    def finish(self) -> list[RuleViolation]:
        """Apply the end-of-log rules; return every violation in log order."""
        for index, post in self._unapproved:
            if post not in self._emergency:
                self.violations.append(
                    RuleViolation(
                        index,
                        f"post {post} was published without approval by someone other "
                        "than its author, and is not an emergency post",
                    )
                )
        self._unapproved.clear()
        end = _parse_time(self._last_time)
        for attempt_id, attempt in self._open.items():
            index, time = attempt[0], attempt[1]
            if end is not None and end - _parse_time(time) < PENDING_OUTCOME_GRACE:
                self.pending.append(
                    f"entry {index}: attempt {attempt_id} has no outcome yet "
                    "(it started within the last hour of the log)"
                )
            else:
                self.violations.append(
                    RuleViolation(index, f"delivery attempt {attempt_id} has no outcome")
                )
        self._open.clear()
        self.violations.sort()
        return self.violations


def _parse_time(value: str) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None

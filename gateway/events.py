"""Signals other parts subscribe to (email notifications), so publishing does not import them."""

from blinker import Namespace

_signals = Namespace()

#: Sent with event= "submitted" | "approved" | "rejected" | "blocked" | "failed" | "held"
#: | "published" and post_id=, after the change is committed.
post_event = _signals.signal("post-event")

#: Sent by gateway.audit when a transaction commits, with session= and entries= (its
#: publish-log entries, about to be written in that same transaction): gateway.webhooks writes
#: the outbox rows of the entries that are webhook events there, so an event commits or rolls
#: back with the change it tells of.
entries_committing = _signals.signal("audit-entries-committing")

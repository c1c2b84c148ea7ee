"""Signals other parts subscribe to (email notifications), so publishing does not import them."""

from blinker import Namespace

_signals = Namespace()

#: Sent with event= "submitted" | "approved" | "rejected" | "blocked" | "failed" | "held"
#: | "published" and post_id=, after the change is committed.
post_event = _signals.signal("post-event")

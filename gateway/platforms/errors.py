"""Our own small error taxonomy; every library exception is mapped into it once, in an adapter.

What the publish job does with each (issue #5, "Retries"):
- Retryable: the post is known not to exist (nothing reached the platform, or the platform
  said it did nothing): back off and try again.
- RateLimited: try again after ``retry_after`` seconds, taken from the platform's reset header.
- QuotaExceeded: a RateLimited for a publishing quota (Instagram): hold, do not fail.
- NeedsReauthorisation: the token is invalid or lacks permission: hold the channel's deliveries
  and ask a person to reconnect it.
- Rejected: the platform refused this post (``reason`` says why): fail the delivery.
- OutcomeUnknown: the request may have reached the platform and no answer came back: run
  ``find_existing`` and never retry blindly.
- RetryIfAbsent: an OutcomeUnknown where the platform did answer, with an error that says
  "retry" (Graph's code 2, ``is_transient``) on the call that makes the post, but that does not
  promise nothing was made: look the post up as for any unknown outcome, and only when a
  look-up that read every post since the attempt began does not find it, back off and retry.
- LookupIncomplete: ``find_existing`` could not read back as far as it was asked to (its page
  limit, or a platform that kept no cursor): the post may be there, unseen. Never a reason to
  send again.
"""

from __future__ import annotations


class PublishError(Exception):
    """Base of every error an adapter raises. ``reason`` is safe to show and to log: it never
    contains a credential (adapters scrub platform messages before building one)."""

    def __init__(self, reason: str, *, platform: str = "", status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.platform = platform
        self.status = status

    def __str__(self) -> str:
        prefix = f"{self.platform}: " if self.platform else ""
        return f"{prefix}{self.reason}"


class Retryable(PublishError):
    """Known not to have published anything; safe to try again later."""


class RateLimited(PublishError):
    """The platform asked us to wait ``retry_after`` seconds."""

    def __init__(
        self, reason: str, *, retry_after: float, platform: str = "", status: int | None = None
    ) -> None:
        super().__init__(reason, platform=platform, status=status)
        self.retry_after = retry_after


class QuotaExceeded(RateLimited):
    """The account's publishing quota is used up (Instagram: posts per 24 hours)."""


class NeedsReauthorisation(PublishError):
    """The credentials are missing, expired, revoked or lack a permission."""


class Rejected(PublishError):
    """The platform refused the post itself; sending it again will not help."""


class OutcomeUnknown(PublishError):
    """The request may have reached the platform, but no answer came back."""


class RetryIfAbsent(OutcomeUnknown):
    """The platform answered the call that makes the post with a transient error ("retry
    later"), which does not say whether the post was made: retried only once a complete
    look-up has not found it (issue 19, Graph code 2)."""


class LookupIncomplete(PublishError):
    """The look-up for an existing post stopped before it had read every post since the time it
    was given (its page limit): not finding the post proves nothing."""

"""Emergency out-of-hours posts (issue 7): categories, the hourly limit, review due dates, and
how a post is sent in office hours (issue 20: fast-track approval unless an admin allows it)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from gateway.domain.guardrails import OfficeHours

#: What a duty officer may post out of hours, in the words on the form. The Swale customer use
#: policy ("Service standards") allows out-of-hours posts "in cases of emergencies, bad weather,
#: traffic incidents, stray dogs, and at events that the Council has an interest in".
CATEGORIES: dict[str, str] = {
    "severe_weather": "Severe weather",
    "flooding": "Flooding",
    "road_closure": "Road closure or traffic incident",
    "stray_animal": "Stray or lost animal",
    "major_incident": "Major incident",
    "public_health": "Public health",
    "event_safety": "Event safety",
}

#: Each category as the Swale policy names it: what the guardrails engine knows.
POLICY_CATEGORY: dict[str, str] = {
    "severe_weather": "bad weather",
    "flooding": "bad weather",
    "road_closure": "traffic incident",
    "stray_animal": "stray dog",
    "major_incident": "emergency",
    "public_health": "emergency",
    "event_safety": "council event",
}

LONDON = ZoneInfo("Europe/London")

#: A compromised duty officer's account must not be able to flood the council's channels.
DEFAULT_POSTS_PER_HOUR = 5


#: The admin's setting (gateway.posts.emergency.IN_HOURS_SETTING) for emergency posts in
#: office hours: a second officer is at work then, so the two-person rule applies to them too
#: (issue 20: a Christmas-market promotion went out at noon on a Wednesday as "event safety").
IN_HOURS_FAST_TRACK = "fast_track"
IN_HOURS_AT_ONCE = "at_once"
IN_HOURS_CHOICES: dict[str, str] = {
    IN_HOURS_FAST_TRACK: "Go to fast-track approval by another officer",
    IN_HOURS_AT_ONCE: "Publish at once, as out of hours",
}
DEFAULT_IN_HOURS = IN_HOURS_FAST_TRACK


class Release(StrEnum):
    """How an emergency post was sent, recorded on the post when it is made (posts.
    emergency_release) so the publish job can tell whether it may skip the approval check."""

    AT_ONCE = "at_once"  # out of office hours: no second approval (issue 7)
    AT_ONCE_IN_HOURS = "at_once_in_hours"  # in office hours, under the admin's setting
    FAST_TRACK = "fast_track"  # in office hours: another officer approves it first (issue 20)


def release_for(at: datetime, hours: OfficeHours, in_hours: str = DEFAULT_IN_HOURS) -> Release:
    """How a duty officer's emergency post made at ``at`` is sent, under the admin's
    ``in_hours`` setting."""
    if not hours.is_open(at):
        return Release.AT_ONCE
    if in_hours == IN_HOURS_AT_ONCE:
        return Release.AT_ONCE_IN_HOURS
    return Release.FAST_TRACK


def needs_approval(release: str | None, created_at: datetime, hours: OfficeHours) -> bool:
    """Whether an emergency post needs a current approval by another officer to go out.

    Only a post sent at once may go without: in office hours under the admin's setting, or out
    of hours, checked again against the time it was made, so a post made in office hours that
    was not sent under the setting never skips the approval check (issue 20). A post made out of
    hours whose delivery is retried or released after 9:00 still goes out: it was an
    out-of-hours emergency. Anything else (fast-track, none recorded) needs the approval.
    """
    if release == Release.AT_ONCE_IN_HOURS:
        return False
    if release == Release.AT_ONCE:
        return hours.is_open(created_at)
    return True


class EmergencyError(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def check_category(category: str | None) -> str:
    if not category:
        raise EmergencyError("Choose what kind of emergency this is.", "category")
    if category not in CATEGORIES:
        raise EmergencyError(f"{category!r} is not an emergency category.", "category")
    return category


def category_label(category: str) -> str:
    """A stored category in the words on the form (an older row's engine name as it is)."""
    return CATEGORIES.get(category, category)


def policy_category(category: str | None) -> str | None:
    """The engine's name for a stored category (older rows may hold the engine's own)."""
    if category is None:
        return None
    return POLICY_CATEGORY.get(category, category)


def check_rate(recent_posts: int, limit: int) -> None:
    if recent_posts >= limit:
        raise EmergencyError(
            f"You have sent {recent_posts} emergency posts in the last hour, the most allowed. "
            "Ask the communications lead to post, or wait."
        )


def review_due(published_at: datetime, hours: OfficeHours) -> date:
    """Reviews are due on the next working day after the post went out (London dates)."""
    day = published_at.astimezone(LONDON).date() + timedelta(days=1)
    while hours.hours_on(day) is None:  # weekends, bank holidays, closure days
        day += timedelta(days=1)
    return day

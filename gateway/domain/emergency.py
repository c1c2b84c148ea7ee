"""Emergency out-of-hours posts (issue 7): categories, the hourly limit and review due dates."""

from __future__ import annotations

from datetime import date, datetime, timedelta
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

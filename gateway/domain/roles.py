"""The roles of the gateway (issue 3). A person may hold several."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OFFICER = "officer"  # drafts, submits, approves other officers' posts, never their own
    DUTY_OFFICER = "duty_officer"  # emergency posts out of hours
    MONITORING_OFFICER = "monitoring_officer"  # clears a guardrail referral with a reason
    AUDITOR = "auditor"  # reads and exports the log, changes nothing
    ADMIN = "admin"  # users, channels, elections, the register, allowed contacts

    @property
    def label(self) -> str:
        """The role in the words on the page ("Duty officer"), never its code."""
        return _LABELS[self]

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls(value.strip().lower())
        except ValueError:
            known = ", ".join(r.value for r in cls)
            raise ValueError(f"Unknown role {value!r}: choose from {known}.") from None


_LABELS = {
    Role.OFFICER: "Officer",
    Role.DUTY_OFFICER: "Duty officer",
    Role.MONITORING_OFFICER: "Monitoring officer",
    Role.AUDITOR: "Auditor",
    Role.ADMIN: "Administrator",
}
#: The order roles are listed in: from who writes to who oversees.
ORDER = tuple(_LABELS)


def role_labels(roles: object) -> list[str]:
    """A person's roles in the words on the page, in :data:`ORDER`."""
    held = set(roles)  # type: ignore[call-overload]
    return [role.label for role in ORDER if role in held]

"""The security suite (issue 19) reuses the officers' page fixtures: a clock in office hours,
channels, and one signed-in client per person."""

from tests.web.conftest import channels, clock, people, quick_password_hashing  # noqa: F401

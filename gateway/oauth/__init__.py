"""Connecting channels by the platform's own sign-in (issue 15): X's OAuth 2.0 with PKCE."""

"""A small client for the fake platform's /_fake control endpoints (tests, `gateway up`, demos)."""

from __future__ import annotations

from typing import Any

import requests

CONTROL_TIMEOUT_SECONDS = 10


class FakePlatformControl:
    """Register accounts, inject faults and read accepted posts on a running fake platform."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> FakePlatformControl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._session.request(
            method, self.base_url + path, timeout=CONTROL_TIMEOUT_SECONDS, **kwargs
        )
        response.raise_for_status()
        return response.json()

    def register_account(
        self,
        platform: str,
        account_id: str,
        credentials: dict[str, str],
        *,
        name: str | None = None,
        username: str | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Accept ``credentials`` for ``account_id``. ``options``: rate_limit, quota_total."""
        body = {
            "platform": platform,
            "account_id": account_id,
            "credentials": credentials,
            "name": name,
            "username": username,
            **options,
        }
        return self._send("POST", "/_fake/accounts", json=body)

    def inject_fault(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Add a fault: kind is latency, error, rate_limit, drop or lost_answer; fields are
        platform, account_id, method, path_contains, times (None: until cleared), latency_ms,
        status, reset_in."""
        return self._send("POST", "/_fake/faults", json={"kind": kind, **fields})

    def clear_faults(self) -> None:
        self._send("DELETE", "/_fake/faults")

    def posts(self, platform: str | None = None, account_id: str | None = None) -> list[dict]:
        params = {k: v for k, v in (("platform", platform), ("account_id", account_id)) if v}
        return self._send("GET", "/_fake/posts", params=params)["posts"]

    def seed_posts(self, platform: str, account_id: str, texts: list[str]) -> list[str]:
        """Posts made on the account by someone else, now, oldest first; returns their ids."""
        body = {"platform": platform, "account_id": account_id, "texts": texts}
        return self._send("POST", "/_fake/posts", json=body)["ids"]

    def reset(self, *, keep_accounts: bool = False) -> None:
        self._send("POST", "/_fake/reset", params={"keep_accounts": "1" if keep_accounts else ""})

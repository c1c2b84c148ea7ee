"""Demo accounts: the same values go to the fake (``gateway fakeplatform --demo``) and to the
gateway's demo channels, so a new user sees posts arrive at /_fake/posts.

These credentials only open the local fake platform; they are not secrets.
"""

from __future__ import annotations

from typing import Any

DEMO_ACCOUNTS: tuple[dict[str, Any], ...] = (
    {
        "platform": "x",
        "account_id": "1500000000000000042",
        "name": "Anytown Council",
        "username": "anytowncouncil",
        "credentials": {
            "consumer_key": "demo-consumer-key",
            "consumer_secret": "demo-consumer-secret",  # nosec B105
            "access_token": "1500000000000000042-demo-access-token",  # nosec B105
            "access_token_secret": "demo-access-token-secret",  # nosec B105
        },
    },
    {
        "platform": "facebook",
        "account_id": "104000000000042",
        "name": "Anytown Council",
        "username": "anytowncouncil",
        "credentials": {"access_token": "demo-facebook-page-token"},  # nosec B105
    },
    {
        "platform": "instagram",
        "account_id": "17841400000000042",
        "name": "Anytown Council",
        "username": "anytowncouncil",
        "credentials": {"access_token": "demo-instagram-token"},  # nosec B105
    },
    {
        # Bluesky (issue 21): the account id is the DID, the handle its username.
        "platform": "bluesky",
        "account_id": "did:plc:anytowncouncilfakedemo42",
        "name": "Anytown Council",
        "username": "anytowncouncil.fake.invalid",
        "credentials": {
            "handle": "anytowncouncil.fake.invalid",
            "app_password": "demo-bsky-app-pass",  # nosec B105
        },
    },
    {
        # Mastodon (issue 21): the fake platform is the instance (the channel's API address).
        "platform": "mastodon",
        "account_id": "109000000000000042",
        "name": "Anytown Council",
        "username": "anytowncouncil",
        "credentials": {"access_token": "demo-mastodon-access-token"},  # nosec B105
    },
)

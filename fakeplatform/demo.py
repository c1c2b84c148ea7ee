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

#: The council's platform apps in training (`gateway up`): "Connect with X" and "Connect with
#: Facebook" sign in at the fake with these, as a trainee would at X and Facebook.
DEMO_X_APP = {
    "client_id": "ZGVtby1nYXRld2F5LWNsaWVudA",
    "client_secret": "demo-x-client-secret",  # nosec B105
}
DEMO_FACEBOOK_APP = {
    "app_id": "1500000000000042",
    "app_secret": "demo-facebook-app-secret",  # nosec B105
}
#: The person who signs in at the fake Facebook: runs the demo Page, linked to the demo
#: Instagram account.
DEMO_FACEBOOK_PERSON = {
    "user_id": "10220000000000042",
    "name": "Anytown Comms Officer",
    "pages": {"104000000000042": ["CREATE_CONTENT", "MANAGE", "MODERATE", "ANALYZE"]},
    "instagram": {"104000000000042": "17841400000000042"},
}
X_CALLBACK_PATH = "/admin/channels/connect/x/callback"
FACEBOOK_CALLBACK_PATH = "/admin/channels/connect/facebook/callback"


def register_demo_apps(state: Any, gateway_url: str) -> None:
    """Accept the demo apps, with callbacks on ``gateway_url`` (GATEWAY_PUBLIC_URL)."""
    from fakeplatform import facebook_login, x_oauth2

    base = gateway_url.rstrip("/")
    with state.lock:
        x_oauth2.oauth_state(state).apps[DEMO_X_APP["client_id"]] = x_oauth2.OAuthApp(
            client_id=DEMO_X_APP["client_id"],
            client_secret=DEMO_X_APP["client_secret"],
            redirect_uris=[base + X_CALLBACK_PATH],
        )
        login = facebook_login.login_state(state)
        login.apps[DEMO_FACEBOOK_APP["app_id"]] = facebook_login.App(
            DEMO_FACEBOOK_APP["app_id"],
            DEMO_FACEBOOK_APP["app_secret"],
            [base + FACEBOOK_CALLBACK_PATH],
        )
        person = DEMO_FACEBOOK_PERSON
        login.people[person["user_id"]] = facebook_login.Person(
            user_id=person["user_id"],
            name=person["name"],
            pages={k: list(v) for k, v in person["pages"].items()},
            instagram=dict(person["instagram"]),
        )

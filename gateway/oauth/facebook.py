"""Facebook Login for Pages and their Instagram accounts (issue 15), on requests-oauthlib.

1. :func:`begin`: an ``OAuth2Session`` with PKCE (S256) builds the dialog URL; the state and
   code verifier wait in Redis under the state, bound to the admin's session, as for X.
2. :func:`finish`: the code for a short-lived user token, exchanged at once for a long-lived one
   (``grant_type=fb_exchange_token``), then ``GET /me/accounts`` with ``tasks`` and the linked
   ``instagram_business_account``. What the person granted is sealed (AES-256-GCM, the
   gateway's credential keys) into Redis for ten minutes as a :class:`Choice`: the page tokens
   never reach a page or a log.
3. :func:`offers`: which Pages and Instagram accounts can become channels. Only a Page the app
   received a page token for (it was ticked in Facebook's dialog) on which the person can
   create content (``CREATE_CONTENT`` among its tasks); an Instagram account only with such a
   Page. The others are listed, disabled, with why (postiz-app PR #1679: an unticked page
   stored without a token failed every publish with a vague "missing permissions"; PR #1881:
   a channel holding the user's token instead of the page's).

The page token (from a long-lived user token: it does not expire) is what the channel keeps,
for the Page and for its Instagram account alike; never the user's token.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from typing import Any

import requests
from flask import current_app
from oauthlib.oauth2 import OAuth2Error
from requests_oauthlib import OAuth2Session

from gateway.credentials import seal, unseal
from gateway.oauth import pending as pending_state
from gateway.oauth.x import ConnectRefused, quiet_library_logs
from gateway.platforms.graph import GRAPH_API_VERSION, GRAPH_HOSTS
from gateway.platforms.transport import mount_transport, remember_secrets, scrub

#: What the gateway asks for: list the Pages, post as them, read their posts back (the look-up
#: after an unknown outcome), and the same on their Instagram accounts.
SCOPES = (
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_posts",
    "instagram_basic",
    "instagram_content_publish",
)
DIALOG_HOSTS = ("https://www.facebook.com",)
DIALOG_URL = f"https://www.facebook.com/{GRAPH_API_VERSION}/dialog/oauth"
GRAPH = f"https://graph.facebook.com/{GRAPH_API_VERSION}"
TOKEN_URL = f"{GRAPH}/oauth/access_token"  # noqa: S105  # nosec B105 - an address
CALLBACK_PATH = "/admin/channels/connect/facebook/callback"
STATE_KEY = "gateway:oauth:facebook:state:{state}"
CHOICE_KEY = "gateway:oauth:facebook:choice:{choice}"
#: As long as X's: the person signs in at Facebook, then chooses on the gateway's page.
STATE_TTL_SECONDS = pending_state.STATE_TTL_SECONDS
CREATE_CONTENT = "CREATE_CONTENT"
ACCOUNTS_FIELDS = "id,name,access_token,tasks,instagram_business_account{id,username}"
NOT_CONFIGURED = (
    "Connecting with Facebook needs the council's Meta app: enter its App ID and App Secret "
    "from the app's Settings, Basic page on Admin, Platform apps (or set "
    "GATEWAY_FACEBOOK_APP_ID and GATEWAY_FACEBOOK_APP_SECRET)."
)


def _app():  # noqa: ANN202
    from gateway.oauth.apps import credentials

    return credentials("facebook")


def is_configured() -> bool:
    app = _app()
    return bool(app.client_id) and bool(app.secret)


def redirect_uri() -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + CALLBACK_PATH


def _redis():
    from gateway.queue import redis_connection

    return redis_connection()


def _session(base_url: str | None, state: str | None = None) -> OAuth2Session:
    quiet_library_logs()
    if not is_configured():
        raise ConnectRefused(NOT_CONFIGURED)
    session = OAuth2Session(
        _app().client_id,
        redirect_uri=redirect_uri(),
        scope=list(SCOPES),
        state=state,
        pkce="S256",
    )
    timeout = float(current_app.config.get("PLATFORM_TIMEOUT_SECONDS", 15.0))
    allowed = tuple(current_app.config.get("PLATFORM_ALLOWED_HOSTS", ()))
    mount_transport(session, GRAPH_HOSTS, base_url, timeout, allowed)
    return session


@dataclass(frozen=True)
class Pending:
    user_id: int
    session_id: str
    code_verifier: str
    base_url: str | None
    language: str


def begin(pending: Pending) -> str:
    session = _session(pending.base_url)
    url, state = session.authorization_url(DIALOG_URL)
    stored = Pending(**{**asdict(pending), "code_verifier": session._code_verifier})
    pending_state.keep(STATE_KEY, state, stored)
    session.close()
    return pending_state.training_url(url, pending.base_url, DIALOG_HOSTS)


def take_pending(state: str, user_id: int, session_id: str | None) -> Pending:
    return pending_state.take(STATE_KEY, state, user_id, session_id, Pending, "Facebook")


def _graph_reason(response: requests.Response) -> str:
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    return scrub(str(error.get("message") or f"HTTP {response.status_code}"))[:200]


def finish(pending: Pending, args: dict[str, str]) -> list[dict[str, Any]]:
    """The Pages /me/accounts lists for the grant (with their page tokens)."""
    if args.get("error"):
        if args.get("error_reason") == "user_denied" or args["error"] == "access_denied":
            raise ConnectRefused(
                "Facebook was not connected: the sign-in at Facebook was cancelled. Nothing was "
                "changed."
            )
        raise ConnectRefused(
            f"Facebook did not connect ({scrub(args['error'])[:100]}). Nothing was changed."
        )
    if not args.get("code"):
        raise ConnectRefused("Facebook sent no code back. Nothing was changed.")
    session = _session(pending.base_url, state=args.get("state"))
    session._code_verifier = pending.code_verifier  # requests-oauthlib keeps it there
    app = _app()
    secret = str(app.secret)
    try:
        token = session.fetch_token(
            TOKEN_URL, code=args["code"], client_secret=secret, include_client_id=True
        )
        short = str(token.get("access_token") or "")
        remember_secrets([short])
        exchanged = session.get(
            TOKEN_URL,
            params={
                "grant_type": "fb_exchange_token",
                "client_id": app.client_id,
                "client_secret": secret,
                "fb_exchange_token": short,
            },
            withhold_token=True,
        )
        if exchanged.status_code != 200:
            raise ConnectRefused(
                f"Facebook would not give a long-lived token: {_graph_reason(exchanged)}. "
                "Nothing was changed."
            )
        long_lived = str(exchanged.json().get("access_token") or "")
        remember_secrets([long_lived])
        accounts = session.get(
            f"{GRAPH}/me/accounts",
            params={"fields": ACCOUNTS_FIELDS, "limit": "100"},
            headers={"Authorization": f"Bearer {long_lived}"},
            withhold_token=True,
        )
    except OAuth2Error as exc:
        raise ConnectRefused(
            f"Facebook refused the sign-in: {scrub(exc.description or exc.error or '')[:200]} "
            "Nothing was changed: start again."
        ) from None
    except requests.RequestException:
        raise ConnectRefused("Facebook did not answer. Nothing was changed: start again.") from None
    finally:
        session.close()
    if accounts.status_code != 200:
        raise ConnectRefused(
            f"Facebook would not list the Pages: {_graph_reason(accounts)}. Nothing was changed."
        )
    pages = [p for p in accounts.json().get("data") or [] if isinstance(p, dict)]
    remember_secrets([str(p.get("access_token") or "") for p in pages])
    return pages


# The choice ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Offer:
    """One Page or Instagram account the admin may (or may not) make a channel of."""

    key: str  # "facebook:<page id>" or "instagram:<ig id>"
    platform: str
    account_id: str
    name: str
    page_id: str
    available: bool
    why_not: str = ""


def offers(pages: list[dict[str, Any]]) -> list[Offer]:
    found: list[Offer] = []
    for page in pages:
        page_id, name = str(page.get("id", "")), str(page.get("name") or page.get("id"))
        tasks = [str(t) for t in page.get("tasks") or []]
        has_token = bool(page.get("access_token"))
        can_create = CREATE_CONTENT in tasks
        why = ""
        if not has_token:
            why = (
                "Not chosen in Facebook's dialog, so the gateway received no Page token for it: "
                "connect again and tick it."
            )
        elif not can_create:
            why = (
                "Your role on this Page cannot create content (its tasks for you: "
                f"{', '.join(tasks) or 'none'}): ask a Page admin for full control or "
                "content access."
            )
        found.append(Offer(f"facebook:{page_id}", "facebook", page_id, name, page_id, not why, why))
        ig = page.get("instagram_business_account")
        if isinstance(ig, dict) and ig.get("id"):
            ig_why = ""
            if not has_token:
                ig_why = (
                    f"Its Facebook Page, {name}, was not chosen in Facebook's dialog: Instagram "
                    "posts go through the Page, so tick both."
                )
            elif not can_create:
                ig_why = f"Your role on its Facebook Page, {name}, cannot create content."
            found.append(
                Offer(
                    f"instagram:{ig['id']}",
                    "instagram",
                    str(ig["id"]),
                    f"@{ig.get('username') or ig['id']}",
                    page_id,
                    not ig_why,
                    ig_why,
                )
            )
    return found


@dataclass(frozen=True)
class Choice:
    """What a grant offered, waiting for the admin's choice; sealed in Redis."""

    user_id: int
    session_id: str
    base_url: str | None
    language: str
    pages: list[dict[str, Any]]

    def __repr__(self) -> str:
        return f"Choice(user_id={self.user_id}, pages={len(self.pages)})"


def _aad(choice_id: str) -> bytes:
    return f"gateway/oauth/facebook/choice/{choice_id}".encode()


def keep_choice(pending: Pending, pages: list[dict[str, Any]]) -> str:
    choice_id = secrets.token_urlsafe(24)
    choice = Choice(pending.user_id, pending.session_id, pending.base_url, pending.language, pages)
    blob = seal(_aad(choice_id), json.dumps(asdict(choice)).encode())
    _redis().set(CHOICE_KEY.format(choice=choice_id), blob, ex=STATE_TTL_SECONDS)
    return choice_id


def load_choice(choice_id: str, user_id: int, session_id: str | None, *, take: bool) -> Choice:
    key = CHOICE_KEY.format(choice=choice_id)
    blob = _redis().getdel(key) if take else _redis().get(key)
    if blob is None:
        raise ConnectRefused(
            "This choice of Pages has expired or was already made. Nothing was changed: "
            "connect with Facebook again."
        )
    choice = Choice(**json.loads(unseal(_aad(choice_id), blob)))
    if choice.user_id != user_id or not secrets.compare_digest(choice.session_id, session_id or ""):
        raise ConnectRefused("This choice of Pages belongs to another session.")
    return choice


def page_token(choice: Choice, page_id: str) -> str:
    for page in choice.pages:
        if str(page.get("id")) == page_id and page.get("access_token"):
            return str(page["access_token"])
    raise ConnectRefused("Facebook gave no Page token for that Page.")

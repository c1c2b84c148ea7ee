"""Single sign-on with OpenID Connect (issue 16), through Authlib's Flask client.

The flow: ``/sign-in/oidc`` sends the browser to the provider (authorization code with PKCE
S256, ``state`` and ``nonce``, kept server-side in Redis and usable once); the provider sends
it back to ``/sign-in/oidc/callback``, where the code is exchanged and the ID token checked:
its signature against the provider's published keys (asymmetric algorithms only), its issuer
against ``GATEWAY_OIDC_ISSUER``, its audience against our client id, its expiry and its nonce.
Only then are its claims used.

Who a person is: the provider's (issuer, subject), never the email alone (an address can be
given to someone else). A new subject gets a new account with no role (or the roles its groups
map to), unless an admin has linked an existing account to it (``UserIdentity``).

Roles from groups (``GATEWAY_OIDC_ROLE_GROUPS``) are re-read at every single sign-on. The rule:
a role named anywhere in the mapping is *managed*: the user holds it exactly when one of
their groups maps to it now (added or removed at each sign-in, whoever granted it before).
A role the mapping never names is left as an admin set it.

Every sign-in, refusal, link and group-based role change is a publish-log entry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError
from sqlalchemy import select

from gateway.audit import Actor, record
from gateway.auth import sessions
from gateway.auth.identifiers import typed_identifier_digest
from gateway.auth.passwords import UNUSABLE_HASH
from gateway.domain.roles import Role
from gateway.extensions import db, limiter
from gateway.models import PolicySetting, User, UserIdentity, UserRole
from gateway.models.base import utcnow
from gateway.security import public

log = logging.getLogger(__name__)
bp = Blueprint("oidc", __name__)

_EXT_KEY = "gateway_oidc_client"
_CLIENT_NAME = "gateway_oidc"
#: Where the page to return to after signing in waits while the browser is at the provider.
_NEXT_KEY = "oidc_next"
#: The session key saying a session was opened by single sign-on.
SIGN_IN_METHOD = "sign_in_method"
#: How long a sign-in begun at the provider may take to come back (state, nonce, verifier).
STATE_SECONDS = 600
#: Seconds of clock difference allowed when checking the ID token's times.
LEEWAY_SECONDS = 60
#: How long an admin's "link at their next single sign-on" waits.
PENDING_LINK_DAYS = 7
#: Signature algorithms an ID token may use: the provider's published public keys only. "none"
#: and the HMAC algorithms (keyed with the client secret) are never accepted.
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")

#: policy_settings keys: local passwords for everyone ("on") or only the break-glass admin.
LOCAL_PASSWORDS_SETTING = "local_passwords"
BREAK_GLASS_SETTING = "break_glass_admin"
PASSWORDS_ON = "on"
PASSWORDS_BREAK_GLASS_ONLY = "break_glass_only"

#: What a signed-in user with no role yet may reach: the page saying so, and signing out.
_WITHOUT_A_ROLE = frozenset(
    {"static", "health.healthz", "health.readyz", "auth.sign_out", "oidc.no_role"}
)


class _RedisCache:
    """Authlib's state cache on the gateway's Redis: the state, nonce and PKCE verifier of a
    sign-in in progress stay on the server, and are deleted when the callback reads them."""

    prefix = "gateway:oidc:"

    def __init__(self, app: Flask) -> None:
        self.app = app

    def _redis(self):  # noqa: ANN202
        from gateway.queue import redis_connection

        return redis_connection(self.app)

    def get(self, key: str) -> Any:
        return self._redis().get(self.prefix + key)

    def set(self, key: str, value: str, expires: int | None = None) -> None:
        self._redis().set(self.prefix + key, value, ex=expires or STATE_SECONDS)

    def delete(self, key: str) -> None:
        self._redis().delete(self.prefix + key)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals.update(sso_panel=_sso_panel, has_local_password=keeps_local_password)
    app.before_request(_keep_role_less_users_out)
    app.extensions[_EXT_KEY] = None
    if not app.config.get("OIDC_ISSUER"):
        return
    oauth = OAuth(app, cache=_RedisCache(app))
    client = oauth.register(
        _CLIENT_NAME,
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=str(app.config["OIDC_CLIENT_SECRET"]),
        server_metadata_url=app.config["OIDC_ISSUER"] + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": app.config["OIDC_SCOPES"],
            "code_challenge_method": "S256",
            "default_timeout": app.config["OIDC_TIMEOUT_SECONDS"],
        },
    )
    client.framework.expires_in = STATE_SECONDS
    app.extensions[_EXT_KEY] = client


def configured() -> bool:
    return current_app.extensions.get(_EXT_KEY) is not None


def provider_name() -> str:
    return current_app.config["OIDC_PROVIDER_NAME"]


def _client():  # noqa: ANN202 - Authlib's FlaskOAuth2App
    client = current_app.extensions.get(_EXT_KEY)
    if client is None:
        abort(404)
    return client


# --- Local passwords on or off --------------------------------------------------------------


def _setting(key: str) -> str | None:
    return db.session.scalar(select(PolicySetting.value).where(PolicySetting.key == key))


def local_passwords() -> str:
    """``on``, or ``break_glass_only`` when an admin has turned local passwords off. Without
    single sign-on configured passwords are always on: nobody could sign in otherwise."""
    if not configured():
        return PASSWORDS_ON
    value = _setting(LOCAL_PASSWORDS_SETTING)
    return PASSWORDS_BREAK_GLASS_ONLY if value == PASSWORDS_BREAK_GLASS_ONLY else PASSWORDS_ON


def break_glass_admin_id() -> int | None:
    value = _setting(BREAK_GLASS_SETTING)
    return int(value) if value and value.isdigit() else None


def has_password(user: User) -> bool:
    return bool(user.password_hash) and user.password_hash != UNUSABLE_HASH


def keeps_local_password(user: User) -> bool:
    """Whether ``user`` has a local password to change: not an account that single sign-on
    made (its password is the provider's), but one signed in with an admin's one-time
    password, which is used up at that sign-in, must still set its new one."""
    return has_password(user) or user.password_must_change


def may_use_password(user: User) -> bool:
    """Whether ``user`` may sign in with a local password now (the password is checked as
    well). The sign-in form answers the same either way, so it does not tell which account
    is the break-glass one."""
    if local_passwords() == PASSWORDS_ON:
        return True
    return user.id == break_glass_admin_id() and user.has_role(Role.ADMIN)


def sign_in_context() -> dict[str, Any]:
    """What the sign-in page shows of single sign-on."""
    if not configured():
        return {"enabled": False, "passwords_off": False}
    return {
        "enabled": True,
        "provider_name": provider_name(),
        "start_url": url_for("oidc.start", next=request.args.get("next") or None),
        "passwords_off": local_passwords() == PASSWORDS_BREAK_GLASS_ONLY,
    }


def change_local_passwords(admin: User, value: str, break_glass_id: int | None) -> bool:
    """An admin turns local passwords off except for ``break_glass_id`` (an active admin with
    a password), or on for everyone. Writes ``setting.changed`` entries; False when nothing
    changed. Raises ValueError with a reason. The caller commits."""
    if not admin.has_role(Role.ADMIN):
        raise ValueError("Only an admin can change how people sign in.")
    if value not in (PASSWORDS_ON, PASSWORDS_BREAK_GLASS_ONLY):
        raise ValueError(f"{value!r} is not a choice for local passwords.")
    changes: dict[str, str] = {}
    if value == PASSWORDS_BREAK_GLASS_ONLY:
        if not configured():
            raise ValueError("Single sign-on is not set up: local passwords cannot be turned off.")
        chosen = db.session.get(User, break_glass_id) if break_glass_id else None
        if (
            chosen is None
            or not chosen.active
            or not chosen.has_role(Role.ADMIN)
            or not has_password(chosen)
        ):
            raise ValueError(
                "Choose the break-glass administrator: an active admin with a password."
            )
        changes[BREAK_GLASS_SETTING] = str(chosen.id)
    changes[LOCAL_PASSWORDS_SETTING] = value
    changed = False
    for key, new in changes.items():
        row = db.session.get(PolicySetting, key, with_for_update=True)
        previous = row.value if row is not None else None
        if previous == new:
            continue
        if row is None:
            row = PolicySetting(key=key)
            db.session.add(row)
        row.value = new
        row.changed_at = utcnow()
        row.changed_by_id = admin.id
        record(
            "setting.changed",
            actor=Actor.of(admin),
            obj=("setting", key),
            payload={"key": key, "value": new, "previous": previous},
        )
        changed = True
    db.session.flush()
    return changed


# --- Linking accounts -----------------------------------------------------------------------


def identity_of(user: User) -> UserIdentity | None:
    issuer = current_app.config.get("OIDC_ISSUER")
    if not issuer:
        return None
    return db.session.scalar(
        select(UserIdentity).where(UserIdentity.user_id == user.id, UserIdentity.issuer == issuer)
    )


def link(user: User, subject: str | None, *, admin: User) -> UserIdentity:
    """An admin links ``user`` to the provider's ``subject`` or, without one, to their next
    single sign-on with their own verified email (within PENDING_LINK_DAYS). Raises
    ValueError with a reason. The caller commits."""
    issuer = current_app.config.get("OIDC_ISSUER")
    if not issuer:
        raise ValueError("Single sign-on is not set up.")
    if admin.id == user.id:
        raise ValueError("Another administrator must link your account.")
    subject = (subject or "").strip() or None
    if subject is not None and (
        len(subject) > 255 or not subject.isprintable() or any(c.isspace() for c in subject)
    ):
        raise ValueError("The subject identifier is at most 255 characters with no spaces.")
    if subject is not None:
        holder = db.session.scalar(
            select(UserIdentity).where(
                UserIdentity.issuer == issuer, UserIdentity.subject == subject
            )
        )
        if holder is not None and holder.user_id != user.id:
            raise ValueError("That subject is already linked to another account.")
    identity = identity_of(user)
    if identity is not None and identity.subject is not None:
        raise ValueError("This account is already linked: remove the link first.")
    if identity is None:
        identity = UserIdentity(user_id=user.id, issuer=issuer)
        db.session.add(identity)
    identity.subject = subject
    identity.linked_by_id = admin.id
    identity.pending_until = (
        None if subject is not None else utcnow() + timedelta(days=PENDING_LINK_DAYS)
    )
    db.session.flush()
    record(
        "user.sso_linked" if subject is not None else "user.sso_link_offered",
        actor=Actor.of(admin),
        obj=("user", user.id),
        payload={"issuer": issuer, "subject": subject}
        if subject is not None
        else {"issuer": issuer, "until": identity.pending_until.isoformat()},
    )
    return identity


def unlink(user: User, *, admin: User) -> bool:
    if admin.id == user.id:
        raise ValueError("Another administrator must remove your account's link.")
    identity = identity_of(user)
    if identity is None:
        return False
    record(
        "user.sso_unlinked",
        actor=Actor.of(admin),
        obj=("user", user.id),
        payload={"issuer": identity.issuer, "subject": identity.subject},
    )
    db.session.delete(identity)
    # Sessions opened through the link end with it.
    user.session_version += 1
    sessions.end_all(user)
    db.session.flush()
    return True


def _sso_panel(user: User) -> dict[str, Any]:
    """What an admin's page of ``user`` shows of single sign-on."""
    if not configured():
        return {"enabled": False}
    from gateway.admin.sso import LinkForm

    return {
        "enabled": True,
        "provider_name": provider_name(),
        "identity": identity_of(user),
        "managed": sorted(r.value for r in managed_roles()),
        "form": LinkForm(),
        "now": utcnow(),
    }


# --- Roles from groups ----------------------------------------------------------------------


def managed_roles() -> frozenset[Role]:
    """The roles GATEWAY_OIDC_ROLE_GROUPS names: set from the groups at every single sign-on."""
    mapping = current_app.config.get("OIDC_ROLE_GROUPS") or {}
    return frozenset(role for roles in mapping.values() for role in roles)


def _apply_group_roles(user: User, groups: list[str]) -> None:
    mapping = current_app.config.get("OIDC_ROLE_GROUPS") or {}
    if not mapping:
        return
    matched = sorted(g for g in groups if g in mapping)
    granted = {role for g in matched for role in mapping[g]}
    before = sorted(r.value for r in user.roles)
    after = sorted(r.value for r in (user.roles - managed_roles()) | granted)
    if before == after:
        return
    kept = {row.role: row for row in user.role_rows}
    user.role_rows = [kept.get(r) or UserRole(role=r) for r in after]
    # Every other session of theirs ends: a role taken away must not live on elsewhere.
    user.session_version += 1
    record(
        "user.roles_changed_by_groups",
        actor=Actor.system(),
        obj=("user", user.id),
        payload={
            "before": before,
            "after": after,
            "added": sorted(set(after) - set(before)),
            "removed": sorted(set(before) - set(after)),
            "groups": matched,
        },
    )


# --- The flow -------------------------------------------------------------------------------


@dataclass
class Refused(Exception):
    """A single sign-on that must not sign anyone in: ``reason`` goes to the log, ``message``
    to the person, ``status`` is the page's."""

    reason: str
    message: str
    status: int = 403
    user: User | None = None
    detail: dict[str, Any] | None = None


def _metadata(client) -> dict[str, Any]:  # noqa: ANN001
    """The provider's discovery document, loaded once and checked: its issuer must be the one
    configured (OpenID Connect Discovery 1.0, section 4.3), and only asymmetric signatures
    are allowed for ID tokens."""
    metadata = client.load_server_metadata()
    if metadata.get("issuer") != current_app.config["OIDC_ISSUER"]:
        client.server_metadata.pop("_loaded_at", None)
        raise Refused(
            "discovery_issuer_mismatch",
            f"{provider_name()} is not set up correctly for the gateway: the issuer it names "
            "is not the one the gateway expects. Tell your IT team.",
            status=502,
        )
    offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    metadata["id_token_signing_alg_values_supported"] = [
        alg for alg in offered if alg in ASYMMETRIC_ALGORITHMS
    ] or ["RS256"]
    return metadata


def _claims_options() -> dict[str, Any]:
    """Checks Authlib makes of the ID token on top of its own (nonce, azp, at_hash): Authlib
    checks the audience only when asked, so it is asked here, with the issuer and times."""
    return {
        "iss": {"essential": True, "value": current_app.config["OIDC_ISSUER"]},
        "aud": {"essential": True, "value": current_app.config["OIDC_CLIENT_ID"]},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
    }


def _unreachable() -> Refused:
    return Refused(
        "provider_unreachable",
        f"{provider_name()} is not answering, so you cannot sign in with it at the moment. "
        "Try again in a few minutes.",
        status=503,
    )


def _failed(refused: Refused):
    """Log the refusal and show its page."""
    db.session.rollback()
    payload = {"reason": refused.reason, "address": request.remote_addr or ""}
    payload.update(refused.detail or {})
    record(
        "auth.sso_failed",
        actor=Actor.anonymous(),
        obj=("user", refused.user.id) if refused.user is not None else None,
        payload=payload,
    )
    db.session.commit()
    g.oidc_failed = True
    return (
        render_template(
            "auth/sso_failed.html",
            message=refused.message,
            provider_name=provider_name(),
            unavailable=refused.status == 503,
        ),
        refused.status,
    )


def _signin_limit() -> str:
    return current_app.config["SIGNIN_RATE_LIMIT"]


@bp.get("/sign-in/oidc")
@public
def start():
    client = _client()
    nxt = request.args.get("next")
    session.pop(_NEXT_KEY, None)
    if nxt:
        session[_NEXT_KEY] = nxt[:2000]
    try:
        # Read afresh at every sign-in (one small request): a provider that is down gets the
        # gateway's clear page rather than the browser's error, and new keys or endpoints are
        # picked up. The published keys are read again at the callback.
        for key in ("_loaded_at", "jwks"):
            client.server_metadata.pop(key, None)
        _metadata(client)
        return client.authorize_redirect(url_for("oidc.callback", _external=True))
    except Refused as refused:
        return _failed(refused)
    except (requests.RequestException, ValueError):
        # ValueError: a discovery document that is not JSON (a proxy's error page).
        client.server_metadata.pop("_loaded_at", None)
        return _failed(_unreachable())


@bp.get("/sign-in/oidc/callback")
@public
@limiter.limit(_signin_limit, deduct_when=lambda response: bool(g.get("oidc_failed")))
def callback():
    client = _client()
    try:
        _metadata(client)
        claims = _verified_claims(client)
        user = _user_for(claims)
    except Refused as refused:
        return _failed(refused)
    except (requests.RequestException, ValueError):
        return _failed(_unreachable())
    user.last_sign_in_at = utcnow()
    nxt = session.get(_NEXT_KEY)
    sessions.start(user)  # clears the session: nothing from before sign-in survives
    # How this session was opened, for checks that apply to passwords only (a second factor:
    # the provider's own multi-factor authentication covers a single sign-on).
    session[SIGN_IN_METHOD] = "oidc"
    record(
        "auth.signed_in",
        actor=Actor.of(user),
        obj=("user", user.id),
        payload={"method": "oidc", "issuer": current_app.config["OIDC_ISSUER"]},
    )
    db.session.commit()
    login_user(user)
    from gateway.auth.views import _safe_next, home_url

    if not user.roles:
        return redirect(url_for("oidc.no_role"))
    return redirect(_safe_next(nxt, user) if nxt else home_url(user))


def _verified_claims(client) -> dict[str, Any]:  # noqa: ANN001
    error = request.args.get("error")
    if error:
        # The person cancelled, or the provider refused them (not assigned to the app, MFA
        # failed): its own words are not shown, as they could be anything.
        raise Refused(
            "provider_refused",
            f"{provider_name()} did not sign you in. If you cancelled, start again; otherwise "
            "ask your IT team whether you may use the publishing gateway.",
            status=400,
            detail={"error": error[:100]},
        )
    try:
        token = client.authorize_access_token(
            claims_options=_claims_options(), leeway=LEEWAY_SECONDS
        )
    except MismatchingStateError:
        raise Refused(
            "state_mismatch",
            "This sign-in link has already been used or has expired. Start again.",
            status=400,
        ) from None
    except OAuthError as exc:
        # invalid_grant: a code used twice, expired, or not issued for this sign-in.
        raise Refused(
            "token_refused",
            f"{provider_name()} did not accept this sign-in. Start again.",
            status=400,
            detail={"error": str(exc.error)[:100]},
        ) from None
    except ExpiredTokenError:
        raise _bad_token("expired") from None
    except ClaimError as exc:
        raise _bad_token(f"claim:{exc.claim}") from None
    except JoseError as exc:
        raise _bad_token(str(exc.error)) from None
    claims = token.get("userinfo")
    if not claims:
        raise _bad_token("no_id_token")
    return dict(claims)


def _bad_token(what: str) -> Refused:
    return Refused(
        "id_token_rejected",
        f"The answer from {provider_name()} could not be trusted, so you have not been signed "
        "in. Start again; if this happens again, tell your IT team.",
        status=400,
        detail={"check": what},
    )


def _email_of(claims: dict[str, Any]) -> str:
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        raise Refused(
            "no_email",
            f"{provider_name()} did not give the gateway your email address. Tell your IT team.",
        )
    email = email.strip().lower()
    verified = claims.get("email_verified")
    tenant = current_app.config.get("OIDC_ALLOWED_TENANT")
    # A provider that says whether the address is verified must say yes. Entra ID does not
    # say: there the address is trusted only from the council's own directory (the tenant).
    trusted = verified is True or (verified is None and tenant and claims.get("tid") == tenant)
    if not trusted:
        raise Refused(
            "email_not_verified",
            f"{provider_name()} has not confirmed your email address. Tell your IT team.",
            detail={"email_hmac": typed_identifier_digest(email, current_app.config["SECRET_KEY"])},
        )
    return email


def _check_allowed(claims: dict[str, Any], email: str) -> None:
    tenant = current_app.config.get("OIDC_ALLOWED_TENANT")
    if tenant and claims.get("tid") != tenant:
        raise Refused(
            "tenant_not_allowed",
            "This account is not from the council's directory. Sign in with your council account.",
            detail={"tid": str(claims.get("tid"))[:100]},
        )
    domains = current_app.config.get("OIDC_ALLOWED_DOMAINS") or ()
    if domains and email.rpartition("@")[2] not in domains:
        raise Refused(
            "domain_not_allowed",
            "This email address is not one the gateway accepts. Sign in with your council account.",
            detail={"email_hmac": typed_identifier_digest(email, current_app.config["SECRET_KEY"])},
        )


def _groups_of(claims: dict[str, Any]) -> list[str]:
    name = current_app.config["OIDC_GROUPS_CLAIM"]
    if not current_app.config.get("OIDC_ROLE_GROUPS"):
        return []
    # Entra ID leaves the groups out and points elsewhere when someone is in too many
    # ("groups overage"): roles cannot be read, so nobody is signed in on a guess.
    claim_names = claims.get("_claim_names")
    if isinstance(claim_names, dict) and name in claim_names:
        raise Refused(
            "groups_overage",
            f"{provider_name()} did not send your groups, so your roles cannot be checked. "
            "Tell your IT team (emit only the groups assigned to the application).",
        )
    groups = claims.get(name) or []
    if isinstance(groups, str):
        groups = [groups]
    if not isinstance(groups, list):
        raise Refused("groups_malformed", "Your groups could not be read. Tell your IT team.")
    return [str(x) for x in groups]


def _user_for(claims: dict[str, Any]) -> User:
    issuer = current_app.config["OIDC_ISSUER"]
    subject = claims["sub"]
    email = _email_of(claims)
    _check_allowed(claims, email)
    groups = _groups_of(claims)
    identity = db.session.scalar(
        select(UserIdentity).where(UserIdentity.issuer == issuer, UserIdentity.subject == subject)
    )
    if identity is None:
        identity = _pending_link(issuer, subject, email) or _new_account(
            issuer, subject, email, claims
        )
    user = identity.user
    if not user.active:
        raise Refused(
            "account_disabled",
            "Your gateway account has been deactivated. Ask an administrator if you need it.",
            user=user,
        )
    identity.last_sign_in_at = utcnow()
    if identity.email != email or user.email != email:
        _email_changed(user, identity, email)
    _apply_group_roles(user, groups)
    return user


def _pending_link(issuer: str, subject: str, email: str) -> UserIdentity | None:
    identity = db.session.scalar(
        select(UserIdentity)
        .join(User, User.id == UserIdentity.user_id)
        .where(
            UserIdentity.issuer == issuer,
            UserIdentity.subject.is_(None),
            UserIdentity.pending_until > utcnow(),
            User.email == email,
        )
    )
    if identity is None:
        return None
    identity.subject = subject
    identity.pending_until = None
    identity.email = email
    record(
        "user.sso_linked",
        actor=Actor.system(),
        obj=("user", identity.user_id),
        payload={"issuer": issuer, "subject": subject, "offered_by": identity.linked_by_id},
    )
    return identity


def _new_account(issuer: str, subject: str, email: str, claims: dict[str, Any]) -> UserIdentity:
    taken = db.session.scalar(select(User).where(User.email == email))
    if taken is not None:
        # Never joined on the email alone: the address may have been someone else's.
        raise Refused(
            "email_in_use",
            "The gateway already has an account with your email address, not yet linked to "
            f"{provider_name()}. Ask an administrator to link it, then sign in again.",
            user=taken,
        )
    name = claims.get("name")
    user = User(
        email=email,
        display_name=(name.strip()[:120] if isinstance(name, str) and name.strip() else "")
        or email.split("@")[0],
        password_hash=UNUSABLE_HASH,
        role_rows=[],
    )
    db.session.add(user)
    db.session.flush()
    record(
        "user.created",
        actor=Actor.system(),
        obj=("user", user.id),
        payload={"email": email, "roles": [], "via": "oidc"},
    )
    identity = UserIdentity(user_id=user.id, issuer=issuer, subject=subject, email=email)
    db.session.add(identity)
    db.session.flush()
    record(
        "user.sso_linked",
        actor=Actor.system(),
        obj=("user", user.id),
        payload={"issuer": issuer, "subject": subject, "first_sign_in": True},
    )
    return identity


def _email_changed(user: User, identity: UserIdentity, email: str) -> None:
    """The provider now gives this subject another address (a name change, a new domain):
    the same person, so the account follows, unless another account has that address."""
    before = user.email
    identity.email = email
    if user.email == email:
        return
    taken = db.session.scalar(select(User.id).where(User.email == email, User.id != user.id))
    if taken is not None:
        record(
            "user.email_not_changed",
            actor=Actor.system(),
            obj=("user", user.id),
            payload={"reason": "email_in_use", "other_user": taken},
        )
        return
    user.email = email
    record(
        "user.email_changed",
        actor=Actor.system(),
        obj=("user", user.id),
        payload={"before": before, "after": email, "via": "oidc"},
    )


# --- Accounts with no role yet --------------------------------------------------------------


def _keep_role_less_users_out():
    """A signed-in account with no role (a first single sign-on) sees only the page saying
    an admin must grant one: nothing the gateway shows is for everyone."""
    if request.endpoint in _WITHOUT_A_ROLE or request.endpoint is None:
        return None
    if not current_user.is_authenticated or current_user.roles:
        return None
    # Refused like any page a role does not reach (403), with the page saying why.
    return render_template("auth/no_role.html"), 403


@bp.get("/account/no-role")
@public
def no_role():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.sign_in"))
    if current_user.roles:
        from gateway.auth.views import home_url

        return redirect(home_url(current_user))
    return render_template("auth/no_role.html")

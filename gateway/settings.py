"""Every setting the gateway reads, from the environment, in one place.

Two modes:
- ``embedded`` (the default): SQLite and generated secrets in the instance folder, so
  ``gateway up`` works on a fresh machine with nothing set.
- ``production`` (``GATEWAY_ENV=production``): every secret must be given; a missing one stops
  the start with one clear line naming it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gateway.domain.roles import Role

EMBEDDED = "embedded"
PRODUCTION = "production"

#: The WCAG-friendly default: 30 minutes idle, as GOV.UK services commonly use (GOV.UK Design
#: System "Timeout warning" guidance suggests 20-30).
DEFAULT_SESSION_IDLE_MINUTES = 30
DEFAULT_PAGE_CACHE_SECONDS = 60
#: A working day plus some: nobody stays signed in overnight on a shared council PC.
DEFAULT_SESSION_ABSOLUTE_HOURS = 10
#: Failed sign-ins per client address; OWASP suggests throttling well below brute-force rates.
#: Only failures count, so a whole office behind one address is not locked out by its own
#: successful sign-ins (issue 20).
DEFAULT_SIGNIN_RATE_LIMIT = "10 per minute;50 per hour"
#: Failed sign-ins per account (the typed email, whatever the address): guessing from many
#: addresses gets at most 20 tries an hour, and a person locked out by someone else's guesses
#: waits an hour at most (issue 20).
DEFAULT_SIGNIN_ACCOUNT_RATE_LIMIT = "5 per minute;20 per hour"
#: A late post goes out only within this window (issue 5: "bins collected tomorrow" must not
#: go out two days later).
DEFAULT_PUBLISH_GRACE_MINUTES = 30
#: How often the scheduler sweep looks for due deliveries without a live job.
DEFAULT_SWEEP_SECONDS = 1.0
#: How long a claimed delivery stays its attempt's without a renewal. The process running the
#: attempt renews it every third of this (gateway.publishing.liveness), so past it the attempt
#: is dead and the sweep asks the platform. 30 s: a kill is resolved within about half a
#: minute (it was a fixed 180 s before heartbeats, issue 19), while two renewals in a row may
#: fail (a dropped database connection) before a live attempt is taken for a dead one.
DEFAULT_PUBLISH_LEASE_SECONDS = 30
#: After an unknown outcome (a read timeout, a dropped answer), wait this long, look the post
#: up on the platform, and if it is not there wait and look again: each figure is a wait in
#: seconds before one look-up. A platform that is merely slow makes the post after our read
#: timeout (15 s): 5 s then 20 s more gives it 40 s in all before a person is asked, and
#: keeps the whole job well inside RQ's 120 s timeout (issue 19).
DEFAULT_LOOKUP_DELAYS_SECONDS = (5.0, 20.0)
#: The most the look-up waits in all, so an attempt stays within RQ's job timeout.
MAX_LOOKUP_DELAY_TOTAL_SECONDS = 60.0
#: How long one request to a platform may take (gateway.platforms.base).
DEFAULT_PLATFORM_TIMEOUT_SECONDS = 15.0
#: /readyz calls a worker dead when its RQ heartbeat is older than this.
DEFAULT_WORKER_HEARTBEAT_MAX_AGE = 120
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
DEFAULT_LOG_ORIGIN = "publishing-gateway.council.example/log"
#: Issue #8 asks for a checkpoint "every few minutes": short enough that a rewrite cannot hide
#: for long, long enough that a quiet log is not signed thousands of times a day.
DEFAULT_CHECKPOINT_MINUTES = 5
#: SMTP's own port (RFC 5321), where a relay inside the council's network listens.
DEFAULT_SMTP_PORT = 25
#: A sender address that says where the email came from until a council sets its own.
DEFAULT_MAIL_FROM = "publishing-gateway@council.example"
#: A compromised duty officer's account must not be able to flood the council's channels
#: (issue 7). The limit is per officer, so a second duty officer can still post.
DEFAULT_EMERGENCY_POSTS_PER_HOUR = 5
#: The largest request the web app reads, in MB (issue #20): a post's 4 images at the image
#: rules' 10 MB each (gateway.posts.images.MAX_IMAGE_BYTES), plus its text, alt texts and the
#: multipart framing. Anything bigger is refused with a 413 before it is read.
DEFAULT_MAX_REQUEST_MB = 41
#: The furthest GATEWAY_CLOCK_OFFSET_SECONDS may move the clock: ten years either way covers
#: any daylight-saving change or election a trial needs, and a typo of a few extra digits is
#: refused rather than sending the clock past what a datetime can hold.
MAX_CLOCK_OFFSET_SECONDS = 10 * 366 * 24 * 3600.0
#: The largest form field that is not a file, held in memory (Werkzeug's own default is
#: 500 kB): a post's 63,206 characters are at most 253 kB in UTF-8, a register pasted as text
#: is larger, so 2 MB; a field cannot be bigger than this, whatever its validator says.
MAX_FORM_MEMORY_BYTES = 2 * 1024 * 1024
#: Form fields and files in one request: the post form has about 20, a channel list of a few
#: dozen checkboxes adds some; thousands are only ever an attack on the parser.
MAX_FORM_PARTS = 500
#: One address: something@domain.tld, no spaces, commas or angle brackets (no display names,
#: so a setting cannot smuggle a second address or a header into a message).
_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\".]+$")


#: What the sign-in button says until GATEWAY_OIDC_PROVIDER_NAME names the provider.
DEFAULT_OIDC_PROVIDER_NAME = "your council account"
DEFAULT_OIDC_SCOPES = "openid email profile"
#: How long the gateway waits for the OpenID provider before showing "not answering": a
#: provider that hangs must not hold a web worker.
DEFAULT_OIDC_TIMEOUT_SECONDS = 10.0


#: Who must use two-factor authentication with a local password (issue 16): the roles that can
#: speak for the council or change who can ("privileged": admins, monitoring officers and duty
#: officers), or everyone.
TWO_FACTOR_PRIVILEGED = "privileged"
TWO_FACTOR_EVERYONE = "everyone"
#: Wrong two-factor codes per account (not per address): 5 guesses at a 6-digit code in 5
#: minutes is about 1 chance in 200,000 each window (NIST SP 800-63B 5.2.2 asks for a limit).
DEFAULT_TWO_FACTOR_RATE_LIMIT = "5 per 5 minutes"
#: Calls per API token (issue 17): a news system posting a few times a day and polling its
#: posts every second stays well inside it; a client stuck in a loop is stopped within a minute.
DEFAULT_API_RATE_LIMIT = "120 per minute;3000 per hour"


class SettingsError(RuntimeError):
    """A missing or malformed setting: the message names it in one line."""


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}.") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}.")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}.") from None
    if value <= 0:
        raise SettingsError(f"{name} must be greater than 0, got {raw!r}.")
    return value


def _clock_offset(env: Mapping[str, str], mode: str) -> float:
    """GATEWAY_CLOCK_OFFSET_SECONDS: seconds the gateway's clock is moved from the system's
    (gateway.clock), for training, soaks and tests only: refused in production, where a post
    must go out by the real clock, and never applied without the setting."""
    name = "GATEWAY_CLOCK_OFFSET_SECONDS"
    raw = env.get(name, "").strip()
    if not raw:
        return 0.0
    if mode == PRODUCTION:
        raise SettingsError(
            f"{name} is set, but GATEWAY_ENV=production: a moved clock is for training, "
            "soaks and tests only. Unset it."
        )
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}.") from None
    if value != value or abs(value) > MAX_CLOCK_OFFSET_SECONDS:  # NaN, or beyond any use
        raise SettingsError(
            f"{name} must be within {MAX_CLOCK_OFFSET_SECONDS:.0f} seconds (ten years), "
            f"got {raw!r}."
        )
    return value


def _delays(env: Mapping[str, str], name: str, default: tuple[float, ...]) -> tuple[float, ...]:
    """Comma-separated waits in seconds, each 0 or more, at least one, at most
    MAX_LOOKUP_DELAY_TOTAL_SECONDS in all."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        values = tuple(float(part) for part in raw.split(","))
    except ValueError:
        raise SettingsError(
            f"{name} must be waits in seconds separated by commas, like 5,20; got {raw!r}."
        ) from None
    if any(v < 0 for v in values):
        raise SettingsError(f"{name} must not have a wait below 0, got {raw!r}.")
    if sum(values) > MAX_LOOKUP_DELAY_TOTAL_SECONDS:
        raise SettingsError(
            f"{name} must add up to at most {MAX_LOOKUP_DELAY_TOTAL_SECONDS:.0f} seconds "
            f"(RQ's job timeout must cover them), got {raw!r}."
        )
    return values


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = (env.get(name) or default).strip().upper()
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {raw!r}.")
    return raw


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}.")


def _bilingual(env: Mapping[str, str]) -> dict[str, Any]:
    """Posts in Welsh and English (issue 18): GATEWAY_BILINGUAL off (the default), cy-en
    (Welsh first in a bilingual post) or en-cy; GATEWAY_BILINGUAL_LAYOUT combined (one
    bilingual post where the platform's limit allows, the default) or separate (always two)."""
    from gateway.domain import bilingual

    try:
        chosen = bilingual.parse(env.get("GATEWAY_BILINGUAL"), env.get("GATEWAY_BILINGUAL_LAYOUT"))
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    return {
        "BILINGUAL": chosen.order.value if chosen.enabled else "",
        "BILINGUAL_LAYOUT": chosen.layout.value,
    }


def _email(env: Mapping[str, str], name: str, default: str = "") -> str:
    value = (env.get(name) or default).strip()
    if value and not _EMAIL.match(value):
        raise SettingsError(f"{name} must be one email address like name@council.gov.uk.")
    return value


def _emails(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list of addresses (each checked, duplicates dropped, order kept)."""
    out: list[str] = []
    for i, part in enumerate(p.strip() for p in env.get(name, "").split(",")):
        if not part:
            continue
        if not _EMAIL.match(part):
            # The address itself is not echoed: one line, and nothing personal in a log.
            raise SettingsError(
                f"{name} address {i + 1} is not an email address: separate addresses with commas."
            )
        if part.lower() not in {o.lower() for o in out}:
            out.append(part)
    return tuple(out)


def _smtp(env: Mapping[str, str], mode: str) -> dict[str, Any]:
    """Email settings. No SMTP_HOST: no email is sent (the embedded default)."""
    host = env.get("SMTP_HOST", "").strip()
    port = _int(env, "SMTP_PORT", DEFAULT_SMTP_PORT)
    if port > 65535:
        raise SettingsError(f"SMTP_PORT must be at most 65535, got {port}.")
    username = env.get("SMTP_USERNAME", "").strip()
    password = env.get("SMTP_PASSWORD", "")
    starttls = _bool(env, "SMTP_STARTTLS", False)
    if password and not username:
        raise SettingsError("SMTP_PASSWORD is set but SMTP_USERNAME is not: set both or neither.")
    if username and not password and mode == PRODUCTION:
        raise SettingsError("SMTP_USERNAME is set but SMTP_PASSWORD is not: set both or neither.")
    if username and not starttls and mode == PRODUCTION:
        # smtplib would send the password in clear over a plain connection.
        raise SettingsError(
            "SMTP_USERNAME needs SMTP_STARTTLS=true in production: "
            "the password must not cross the network in clear."
        )
    return {
        "SMTP_HOST": host or None,
        "SMTP_PORT": port,
        "SMTP_USERNAME": username or None,
        "SMTP_PASSWORD": password or None,
        "SMTP_STARTTLS": starttls,
        "MAIL_FROM": _email(env, "MAIL_FROM", DEFAULT_MAIL_FROM),
    }


class Secret(str):
    """A secret setting's text: usable as the string it is, shown as ``'***'`` by ``repr``, so
    printing the config or a traceback's locals does not write it to a log."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


def _secret(env: Mapping[str, str], name: str) -> Secret | None:
    """A secret given in ``NAME`` or, as container secrets are, in the file ``NAME_FILE``."""
    value = env.get(name, "")
    path = env.get(f"{name}_FILE", "").strip()
    if value and path:
        raise SettingsError(f"Set {name} or {name}_FILE, not both.")
    if path:
        try:
            value = Path(path).read_text()
        except OSError:
            raise SettingsError(f"{name}_FILE names a file that cannot be read.") from None
    value = value.strip()
    return Secret(value) if value else None


def parse_role_groups(raw: str, name: str = "GATEWAY_OIDC_ROLE_GROUPS") -> dict[str, frozenset]:
    """Provider group ids to gateway roles, as JSON (``{"group id": "role"}`` or a list of
    roles) or as ``group=role,group=role`` (a group may appear more than once)."""
    raw = (raw or "").strip()
    if not raw:
        return {}
    pairs: list[tuple[str, str]] = []
    if raw.startswith(("{", "[")):
        try:
            data = json.loads(raw)
        except ValueError:
            raise SettingsError(f"{name} is not valid JSON.") from None
        if not isinstance(data, dict):
            raise SettingsError(f"{name} must map group ids to roles.")
        for group, roles in data.items():
            for role in [roles] if isinstance(roles, str) else roles:
                if not isinstance(role, str):
                    raise SettingsError(f"{name}: the roles of a group must be role names.")
                pairs.append((str(group), role))
    else:
        for i, part in enumerate(p.strip() for p in raw.split(",")):
            if not part:
                continue
            group, sep, role = part.rpartition("=")
            if not sep or not group.strip() or not role.strip():
                raise SettingsError(
                    f"{name} entry {i + 1} must be group=role (separate entries with commas)."
                )
            pairs.append((group, role))
    mapping: dict[str, set] = {}
    for group, role in pairs:
        try:
            parsed = Role.parse(role)
        except ValueError as exc:
            raise SettingsError(f"{name}: {exc}") from None
        mapping.setdefault(group.strip(), set()).add(parsed)
    return {group: frozenset(roles) for group, roles in mapping.items()}


def _is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in {"localhost", "127.0.0.1", "::1"}


def _oidc(env: Mapping[str, str], mode: str) -> dict[str, Any]:
    """Single sign-on with OpenID Connect (issue 16). No GATEWAY_OIDC_ISSUER: local passwords
    only, as before."""
    issuer = env.get("GATEWAY_OIDC_ISSUER", "").strip().rstrip("/")
    client_id = env.get("GATEWAY_OIDC_CLIENT_ID", "").strip()
    secret = _secret(env, "GATEWAY_OIDC_CLIENT_SECRET")
    if issuer:
        if not issuer.startswith(("https://", "http://")):
            raise SettingsError("GATEWAY_OIDC_ISSUER must be an https:// URL.")
        if issuer.startswith("http://") and (mode == PRODUCTION or not _is_loopback_url(issuer)):
            raise SettingsError(
                "GATEWAY_OIDC_ISSUER must be an https:// URL "
                "(plain http only for a test provider on this machine)."
            )
        if not client_id:
            raise SettingsError("GATEWAY_OIDC_ISSUER is set but GATEWAY_OIDC_CLIENT_ID is not.")
        if secret is None:
            raise SettingsError("GATEWAY_OIDC_ISSUER is set but GATEWAY_OIDC_CLIENT_SECRET is not.")
    elif client_id or secret is not None:
        raise SettingsError(
            "GATEWAY_OIDC_CLIENT_ID or GATEWAY_OIDC_CLIENT_SECRET is set but "
            "GATEWAY_OIDC_ISSUER is not."
        )
    domains = tuple(
        dict.fromkeys(
            d.strip().lower().lstrip("@")
            for d in env.get("GATEWAY_OIDC_ALLOWED_DOMAINS", "").split(",")
            if d.strip()
        )
    )
    return {
        "OIDC_ISSUER": issuer or None,
        "OIDC_CLIENT_ID": client_id or None,
        "OIDC_CLIENT_SECRET": secret,
        "OIDC_PROVIDER_NAME": env.get("GATEWAY_OIDC_PROVIDER_NAME", "").strip()
        or DEFAULT_OIDC_PROVIDER_NAME,
        # Entra ID's directory (tenant) id, compared with the ID token's "tid" claim.
        "OIDC_ALLOWED_TENANT": env.get("GATEWAY_OIDC_ALLOWED_TENANT", "").strip() or None,
        "OIDC_ALLOWED_DOMAINS": domains,
        "OIDC_ROLE_GROUPS": parse_role_groups(env.get("GATEWAY_OIDC_ROLE_GROUPS", "")),
        "OIDC_GROUPS_CLAIM": env.get("GATEWAY_OIDC_GROUPS_CLAIM", "").strip() or "groups",
        "OIDC_SCOPES": env.get("GATEWAY_OIDC_SCOPES", "").strip() or DEFAULT_OIDC_SCOPES,
        "OIDC_TIMEOUT_SECONDS": _float(
            env, "GATEWAY_OIDC_TIMEOUT_SECONDS", DEFAULT_OIDC_TIMEOUT_SECONDS
        ),
    }


def _two_factor(env: Mapping[str, str]) -> dict[str, Any]:
    """Two-factor for local accounts (issue 16). GATEWAY_TWO_FACTOR_REQUIRED: privileged (the
    default: admins, monitoring officers and duty officers) or everyone."""
    raw = (env.get("GATEWAY_TWO_FACTOR_REQUIRED") or TWO_FACTOR_PRIVILEGED).strip().lower()
    if raw not in (TWO_FACTOR_PRIVILEGED, TWO_FACTOR_EVERYONE):
        raise SettingsError(
            f"GATEWAY_TWO_FACTOR_REQUIRED must be {TWO_FACTOR_PRIVILEGED} or "
            f"{TWO_FACTOR_EVERYONE}, got {raw!r}."
        )
    limit = (env.get("GATEWAY_TWO_FACTOR_RATE_LIMIT") or DEFAULT_TWO_FACTOR_RATE_LIMIT).strip()
    try:
        from limits import parse_many

        parse_many(limit)
    except ValueError:
        raise SettingsError(
            "GATEWAY_TWO_FACTOR_RATE_LIMIT must be a limit such as '5 per 5 minutes', "
            f"got {limit!r}."
        ) from None
    return {"TWO_FACTOR_REQUIRED": raw, "TWO_FACTOR_RATE_LIMIT": limit}


def _api(env: Mapping[str, str]) -> dict[str, Any]:
    """The JSON API (issue 17). GATEWAY_API_RATE_LIMIT: calls per token, in the limits
    library's words ("120 per minute;3000 per hour")."""
    limit = (env.get("GATEWAY_API_RATE_LIMIT") or DEFAULT_API_RATE_LIMIT).strip()
    try:
        from limits import parse_many

        parse_many(limit)
    except ValueError:
        raise SettingsError(
            f"GATEWAY_API_RATE_LIMIT must be a limit such as '120 per minute', got {limit!r}."
        ) from None
    return {"API_RATE_LIMIT": limit}


def _folder(env: Mapping[str, str], name: str) -> str:
    """An optional folder: it need not exist yet, but must not be a file."""
    raw = env.get(name, "").strip()
    if raw and Path(raw).exists() and not Path(raw).is_dir():
        raise SettingsError(f"{name} must name a folder, but {raw!r} is a file.")
    return raw


def _generated_secret(instance: Path, filename: str, make: Any) -> str:
    """Read a secret from the instance folder, creating it (mode 0600) the first time."""
    path = instance / filename
    if path.exists():
        return path.read_text().strip()
    # The instance folder holds the SQLite file and every generated secret: owner only.
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = make()
    # O_EXCL: two processes starting at once must not each write a different secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


def new_encryption_key() -> str:
    """A 256-bit AES-GCM key, URL-safe base64, as GATEWAY_ENCRYPTION_KEYS holds them."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def parse_encryption_keys(raw: str, name: str = "GATEWAY_ENCRYPTION_KEYS") -> list[bytes]:
    keys = []
    for i, part in enumerate(p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            key = base64.urlsafe_b64decode(part.encode() + b"=" * (-len(part) % 4))
        except (ValueError, TypeError):
            key = b""
        if len(key) != 32:
            raise SettingsError(
                f"{name} key {i + 1} must be 32 bytes in URL-safe base64 "
                "(make one with: gateway keys new)."
            )
        keys.append(key)
    if not keys:
        raise SettingsError(f"{name} must hold at least one key.")
    return keys


def default_instance_path() -> Path:
    return Path.cwd() / "instance"


def load(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config from the environment. Raises SettingsError naming the setting."""
    env = os.environ if env is None else env
    mode = env.get("GATEWAY_ENV", EMBEDDED).strip().lower() or EMBEDDED
    if mode not in {EMBEDDED, PRODUCTION}:
        raise SettingsError(f"GATEWAY_ENV must be {EMBEDDED} or {PRODUCTION}, got {mode!r}.")
    instance = Path(env.get("GATEWAY_INSTANCE_PATH") or default_instance_path()).resolve()

    def required(name: str, make: Any, filename: str) -> str:
        value = env.get(name, "").strip()
        if value:
            return value
        if mode == PRODUCTION:
            raise SettingsError(f"{name} is not set: it is required when GATEWAY_ENV=production.")
        return _generated_secret(instance, filename, make)

    secret_key = required("SECRET_KEY", lambda: secrets.token_urlsafe(48), "secret_key")
    if len(secret_key) < 32:
        raise SettingsError("SECRET_KEY must be at least 32 characters long.")
    encryption_keys = parse_encryption_keys(
        required("GATEWAY_ENCRYPTION_KEYS", new_encryption_key, "encryption_keys")
    )
    database_url = env.get("DATABASE_URL", "").strip()
    if not database_url:
        if mode == PRODUCTION:
            raise SettingsError(
                "DATABASE_URL is not set: it is required when GATEWAY_ENV=production."
            )
        database_url = f"sqlite:///{instance / 'gateway.sqlite'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url.removeprefix("postgres://")
    if database_url.startswith("postgresql://"):
        # psycopg 3 is the driver we install; SQLAlchemy's default would be psycopg2.
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    if not database_url.startswith(("sqlite:", "postgresql+psycopg:")):
        raise SettingsError(
            "DATABASE_URL must be a postgresql:// or sqlite:// URL, "
            f"got {database_url.split(':')[0]!r}."
        )
    redis_url = env.get("REDIS_URL", "").strip()
    if not redis_url:
        if mode == PRODUCTION:
            raise SettingsError("REDIS_URL is not set: it is required when GATEWAY_ENV=production.")
        redis_url = DEFAULT_REDIS_URL
    if not redis_url.startswith(("redis://", "rediss://", "unix://", "redis+sentinel://")):
        raise SettingsError(
            "REDIS_URL must start with redis://, rediss://, unix:// or redis+sentinel://."
        )
    if redis_url.startswith("redis+sentinel://") and not urlsplit(redis_url).path.strip("/"):
        raise SettingsError(
            "REDIS_URL with redis+sentinel:// must name the master's service after the "
            "sentinels: redis+sentinel://sentinel1:26379,sentinel2:26379/gateway"
        )

    signing_key_path = env.get("GATEWAY_LOG_SIGNING_KEY", "").strip()
    if not signing_key_path:
        if mode == PRODUCTION:
            raise SettingsError(
                "GATEWAY_LOG_SIGNING_KEY is not set: name the file holding the publish log's "
                "signing key (make one with: gateway audit keygen --out PATH)."
            )
        signing_key_path = str(instance / "log-signing.key")

    return {
        "GATEWAY_ENV": mode,
        "CLOCK_OFFSET_SECONDS": _clock_offset(env, mode),
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": secret_key,
        "ENCRYPTION_KEYS": encryption_keys,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "LOG_SIGNING_KEY_PATH": signing_key_path,
        "LOG_ORIGIN": env.get("GATEWAY_LOG_ORIGIN", DEFAULT_LOG_ORIGIN).strip()
        or DEFAULT_LOG_ORIGIN,
        "SESSION_IDLE_MINUTES": _int(
            env, "GATEWAY_SESSION_IDLE_MINUTES", DEFAULT_SESSION_IDLE_MINUTES
        ),
        "SESSION_ABSOLUTE_HOURS": _int(
            env, "GATEWAY_SESSION_ABSOLUTE_HOURS", DEFAULT_SESSION_ABSOLUTE_HOURS
        ),
        "SIGNIN_RATE_LIMIT": env.get("GATEWAY_SIGNIN_RATE_LIMIT", DEFAULT_SIGNIN_RATE_LIMIT),
        "SIGNIN_ACCOUNT_RATE_LIMIT": env.get(
            "GATEWAY_SIGNIN_ACCOUNT_RATE_LIMIT", DEFAULT_SIGNIN_ACCOUNT_RATE_LIMIT
        ),
        "PUBLISH_GRACE_MINUTES": _int(
            env, "GATEWAY_PUBLISH_GRACE_MINUTES", DEFAULT_PUBLISH_GRACE_MINUTES
        ),
        "SWEEP_SECONDS": _float(env, "GATEWAY_SWEEP_SECONDS", DEFAULT_SWEEP_SECONDS),
        "LOOKUP_DELAYS_SECONDS": _delays(
            env, "GATEWAY_LOOKUP_DELAYS_SECONDS", DEFAULT_LOOKUP_DELAYS_SECONDS
        ),
        "PLATFORM_TIMEOUT_SECONDS": _float(
            env, "GATEWAY_PLATFORM_TIMEOUT_SECONDS", DEFAULT_PLATFORM_TIMEOUT_SECONDS
        ),
        "PUBLISH_LEASE_SECONDS": _int(
            env, "GATEWAY_PUBLISH_LEASE_SECONDS", DEFAULT_PUBLISH_LEASE_SECONDS, minimum=3
        ),
        "WORKER_HEARTBEAT_MAX_AGE": _int(
            env, "GATEWAY_WORKER_HEARTBEAT_MAX_AGE", DEFAULT_WORKER_HEARTBEAT_MAX_AGE
        ),
        # Behind TLS in production; browsers also treat http://localhost as secure, so the
        # embedded default keeps Secure cookies on (the __Host- prefix requires them).
        "SESSION_COOKIE_SECURE": _bool(env, "GATEWAY_COOKIE_SECURE", True),
        "TRUSTED_PROXIES": _int(env, "GATEWAY_TRUSTED_PROXIES", 0, minimum=0),
        # Where platforms fetch approved images from (Instagram needs a URL): this gateway's
        # own address as the internet sees it.
        "PUBLIC_URL": (env.get("GATEWAY_PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/"),
        # Hosts on private or loopback addresses that channels may still talk to and hand
        # image URLs on: only for the fake platform in training and tests (SSRF guard).
        "PLATFORM_ALLOWED_HOSTS": tuple(
            h.strip() for h in env.get("GATEWAY_PLATFORM_ALLOWED_HOSTS", "").split(",") if h.strip()
        ),
        # Webhook endpoints on private, loopback or link-local addresses, and plain http
        # (issue 17, SSRF): refused unless this is on (tests, or a receiver inside the network
        # on purpose).
        "WEBHOOKS_ALLOW_PRIVATE": _bool(env, "GATEWAY_WEBHOOKS_ALLOW_PRIVATE", False),
        "EMERGENCY_POSTS_PER_HOUR": _int(
            env, "GATEWAY_EMERGENCY_POSTS_PER_HOUR", DEFAULT_EMERGENCY_POSTS_PER_HOUR
        ),
        # Who is told at once when an emergency post goes out (issue 7, "Told at once"): the
        # communications team's leads, usually one distribution list the council's mail system
        # already keeps up to date as people join and leave.
        "EMERGENCY_NOTIFY_EMAILS": _emails(env, "GATEWAY_EMERGENCY_NOTIFY_EMAILS"),
        "HOLIDAY_NATION": _choice(env, "GATEWAY_HOLIDAY_NATION", "ENG", ("ENG", "SCT", "NIR")),
        # How long a signed-in page may be served again while nothing it shows has changed
        # (gateway.web.page_cache); 0 turns the page cache off.
        "PAGE_CACHE_SECONDS": _int(
            env, "GATEWAY_PAGE_CACHE_SECONDS", DEFAULT_PAGE_CACHE_SECONDS, minimum=0
        ),
        "CHECKPOINT_MINUTES": _int(env, "GATEWAY_CHECKPOINT_MINUTES", DEFAULT_CHECKPOINT_MINUTES),
        "CHECKPOINT_DIR": _folder(env, "GATEWAY_CHECKPOINT_DIR"),
        # Flask's MAX_CONTENT_LENGTH is None (read any size) unless set: a 10 MB text killed a
        # web worker (issue #20).
        "MAX_CONTENT_LENGTH": _int(env, "GATEWAY_MAX_REQUEST_MB", DEFAULT_MAX_REQUEST_MB)
        * 1024
        * 1024,
        "MAX_FORM_MEMORY_SIZE": MAX_FORM_MEMORY_BYTES,
        "MAX_FORM_PARTS": MAX_FORM_PARTS,
        **_bilingual(env),
        **_smtp(env, mode),
        **_oidc(env, mode),
        **_two_factor(env),
        # The council's X app for "Connect with X" (OAuth 2.0 with PKCE, issue 15): its OAuth
        # 2.0 Client ID and, for a confidential client, its Client Secret, from the X developer
        # portal's "Keys and tokens". Without a client id the button says what to set.
        "X_CLIENT_ID": env.get("GATEWAY_X_CLIENT_ID", "").strip() or None,
        "X_CLIENT_SECRET": _secret(env, "GATEWAY_X_CLIENT_SECRET"),
        # The council's Meta app for "Connect with Facebook" (Pages and their Instagram
        # accounts, issue 15): its App ID and App Secret (Settings, Basic).
        "FACEBOOK_APP_ID": env.get("GATEWAY_FACEBOOK_APP_ID", "").strip() or None,
        "FACEBOOK_APP_SECRET": _secret(env, "GATEWAY_FACEBOOK_APP_SECRET"),
        **_api(env),
    }

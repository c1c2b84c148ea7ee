"""Fixtures: a throw-away gateway on a real PostgreSQL or SQLite database and a real Redis.

Every test that takes ``app`` runs twice, once on each database. The schema comes from the
Alembic migrations (not ``create_all``), so the tests exercise what production runs: each test
gets its own database cloned from a migrated template (PostgreSQL) or a copy of a migrated file
(SQLite).
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings as hypothesis_settings
from redis import Redis

from gateway.domain.roles import Role
from tests.support.smtp import inbox  # noqa: F401 - a fixture, found by name

PG_ADMIN_URL = os.environ.get("TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")

# Hypothesis's per-example deadline is a timing assertion (a busy machine fails it: "Unreliable
# test timings"); speed is measured in bench/, so no property test has one.
hypothesis_settings.register_profile("gateway", deadline=None)
hypothesis_settings.load_profile("gateway")


def _redis_url_for_this_worker() -> str:
    """``TEST_REDIS_URL`` (default database 15), one database lower for each further xdist worker.

    ``./run test`` runs the suite on two pytest-xdist workers (gw0, gw1); each flushes its own
    Redis database before and after a test, so they must never share one.
    """
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    offset = int(worker[2:]) if worker[2:].isdigit() else 0
    match = re.search(r"/(\d+)$", url)
    if offset and match:
        url = f"{url[: match.start()]}/{int(match.group(1)) - offset}"
    return url


TEST_REDIS_URL = _redis_url_for_this_worker()
#: A password that meets the policy, for users the tests create.
TEST_PASSWORD = "correct-horse-battery-staple-42"
_counter = itertools.count()


def _pg_url(dbname: str) -> str:
    return re.sub(r"/[^/]*$", f"/{dbname}", PG_ADMIN_URL)


def _pg_admin():
    return psycopg.connect(PG_ADMIN_URL, autocommit=True)


def _migrate(url: str, instance: Path, monkeypatch_env: dict[str, str]) -> None:
    from flask_migrate import upgrade

    from gateway.app import create_app

    app = create_app(_config(url, instance))
    with app.app_context():
        upgrade()
        from gateway.extensions import db

        db.engine.dispose()


def _config(url: str, instance: Path) -> dict:
    from gateway import settings

    return {
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": settings.load(
            {"GATEWAY_INSTANCE_PATH": str(instance), "DATABASE_URL": url}
        )["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": TEST_REDIS_URL,
        "RATELIMIT_STORAGE_URI": TEST_REDIS_URL,
        "SIGNIN_RATE_LIMIT": "1000 per minute",
        "SIGNIN_ACCOUNT_RATE_LIMIT": "1000 per minute",
        "TESTING": True,
        "SERVER_NAME": "localhost",
        "PREFERRED_URL_SCHEME": "https",
        # Look twice after an unknown outcome, as in production, without the waits between
        # (tests/publishing/test_slow_platform.py sets its own).
        "LOOKUP_DELAYS_SECONDS": (0.0, 0.0),
    }


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory):
    name = f"gw_tpl_{os.getpid()}"
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    _migrate(_pg_url(name), tmp_path_factory.mktemp("pg-template"), {})
    yield name
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.sqlite"
    _migrate(f"sqlite:///{path}", folder, {})
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "gateway.sqlite"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    with pg_clone(request.getfixturevalue("pg_template"), "gw_t") as url:
        yield url


@contextmanager
def pg_clone(template: str, prefix: str) -> Iterator[str]:
    """The URL of a new PostgreSQL database copied from ``template``, dropped afterwards."""
    name = f"{prefix}_{os.getpid()}_{next(_counter)}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _pg_url(name)
    finally:
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_conn():
    """The test's own Redis database, emptied before and after."""
    conn = Redis.from_url(TEST_REDIS_URL)
    conn.flushdb()
    yield conn
    conn.flushdb()
    conn.close()


@pytest.fixture
def app(database_url, tmp_path, redis_conn, monkeypatch):
    monkeypatch.setenv("GATEWAY_INSTANCE_PATH", str(tmp_path / "instance"))
    for name in ("DATABASE_URL", "REDIS_URL", "GATEWAY_ENV", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    from gateway.app import create_app

    app = create_app(_config(database_url, tmp_path / "instance"))
    yield app
    with app.app_context():
        from gateway.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    client = app.test_client()
    # Over HTTPS Flask-WTF also checks that the Referer is this site (WTF_CSRF_SSL_STRICT), as
    # a browser would send it for a same-origin form.
    client.environ_base["HTTP_REFERER"] = "https://localhost/"
    return client


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "the page has no CSRF token"
    return match.group(1)


class AuthActions:
    """Create users and sign in through the real sign-in form (CSRF token included)."""

    def __init__(self, app, client):
        self.app = app
        self.client = client

    def create_user(
        self,
        *roles: Role,
        email: str | None = None,
        password: str = TEST_PASSWORD,
        two_factor: bool | None = None,
    ):
        """A new user; enrolled in two-factor (tests.support.two_factor) when their roles
        require it, unless ``two_factor=False`` (``True`` enrols anyone)."""
        from gateway import users
        from gateway.audit import Actor
        from gateway.extensions import db
        from tests.support import two_factor as tf

        prefix = "-".join(r.value for r in roles) or "user"
        email = email or f"{prefix}-{uuid.uuid4().hex[:8]}@council.example"
        with self.app.app_context():
            user = users.create_user(
                email, [r.value for r in roles], password, actor=Actor.system()
            )
            db.session.commit()
            user_id = user.id
        if two_factor or (two_factor is None and tf.needs_two_factor(self.app, roles)):
            tf.enrol(self.app, user_id)
        else:
            tf.AUTHENTICATORS.pop(email, None)
        return user_id, email

    def sign_in(self, email: str, password: str = TEST_PASSWORD, next_path: str | None = None):
        """The sign-in form, then (for an enrolled user) the code from their authenticator,
        or one of their recovery codes once this window's codes are used. Returns the last
        response."""
        url = "/sign-in" if next_path is None else f"/sign-in?next={next_path}"
        page = self.client.get(url)
        token = csrf_token_from(page.get_data(as_text=True))
        response = self.client.post(
            url, data={"email": email, "password": password, "csrf_token": token}
        )
        if response.status_code == 302 and response.headers["Location"].endswith(
            "/sign-in/two-factor"
        ):
            return self.second_step(email)
        return response

    def second_step(self, email: str):
        from tests.support.two_factor import AUTHENTICATORS

        authenticator = AUTHENTICATORS[email]
        code = authenticator.next_code()
        path = "/sign-in/two-factor" if code is not None else "/sign-in/recovery-code"
        if code is None:
            code = authenticator.next_recovery_code()
        page = self.client.get(path)
        token = csrf_token_from(page.get_data(as_text=True))
        return self.client.post(path, data={"code": code, "csrf_token": token})

    def sign_in_as(self, *roles: Role):
        user_id, email = self.create_user(*roles)
        response = self.sign_in(email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return user_id, email

    def sign_out(self):
        page = self.client.get("/")
        token = csrf_token_from(page.get_data(as_text=True))
        return self.client.post("/sign-out", data={"csrf_token": token})


@pytest.fixture
def auth(app, client):
    return AuthActions(app, client)

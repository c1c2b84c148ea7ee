"""Database set-up: Flask-SQLAlchemy, Flask-Migrate, and SQLite made safe for several processes."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from gateway.extensions import db, migrate

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")
#: How long a SQLite writer waits for another process's transaction before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: The SQLite file holds every post, approval and credential ciphertext: only the gateway's own
#: user reads it, and its instance folder (issue #20). SQLite gives the -wal and -shm files the
#: database file's mode when it creates them; existing ones are set again at each connection.
SQLITE_FILE_MODE = 0o600
INSTANCE_FOLDER_MODE = 0o700
SQLITE_SIDE_FILES = ("", "-wal", "-shm")
#: SQLite's own lower() folds ASCII only: the post search (gateway.web.search) folds Welsh and
#: every other letter with this one, registered on each connection.
SQLITE_LOWER = "gateway_lower"


def sqlite_lower(value: object) -> object:
    """What :data:`SQLITE_LOWER` computes: Python's ``str.lower``."""
    return value.lower() if isinstance(value, str) else value


def init_app(app: Flask) -> None:
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        instance = Path(app.instance_path)
        instance.mkdir(mode=INSTANCE_FOLDER_MODE, parents=True, exist_ok=True)
        instance.chmod(INSTANCE_FOLDER_MODE)
    else:
        app.config["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("pool_pre_ping", True)
    app.config.setdefault("SQLALCHEMY_TRACK_MODIFICATIONS", False)
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _make_sqlite_safe(db.engine)


_configured: set[int] = set()


def _make_sqlite_safe(engine: Engine) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE, as SQLAlchemy's pysqlite notes recommend.

    The web server, the worker and the scheduler are separate processes sharing one file. A
    deferred transaction that reads and then writes fails at once with "database is locked"
    when another process wrote in between; taking the write lock at BEGIN makes it wait
    (busy_timeout) instead, so no change is lost to a race.
    """
    if id(engine) in _configured:
        return
    _configured.add(id(engine))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):  # noqa: ANN001
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()
        dbapi_connection.create_function(SQLITE_LOWER, 1, sqlite_lower, deterministic=True)
        _restrict_files(engine.url.database)

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _restrict_files(database: str | None) -> None:
    """The database file and its -wal and -shm files at 0600, whatever the umask made them."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    for suffix in SQLITE_SIDE_FILES:
        path = Path(database + suffix)
        try:
            if path.stat().st_mode & 0o777 != SQLITE_FILE_MODE:
                path.chmod(SQLITE_FILE_MODE)
        except FileNotFoundError:
            continue

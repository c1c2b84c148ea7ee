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


def init_app(app: Flask) -> None:
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
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

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        conn.exec_driver_sql("BEGIN IMMEDIATE")

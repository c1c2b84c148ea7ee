"""Migrations: one head, and an empty database goes up to head and back down to base."""

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from gateway.database import MIGRATIONS_DIR
from gateway.extensions import db


def test_there_is_exactly_one_head():
    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"more than one Alembic head: {heads}"


@pytest.fixture
def empty_app(database_url, app):
    """The app on its own database, emptied back to base first."""
    with app.app_context():
        downgrade(directory=MIGRATIONS_DIR, revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    return app


def test_upgrade_an_empty_database_to_head_and_back(empty_app):
    with empty_app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
        tables = set(inspect(db.engine).get_table_names())
        for table in ("users", "posts", "deliveries", "approvals", "audit_entries", "channels"):
            assert table in tables
        # the schema the models describe is the schema the migrations build
        from alembic.autogenerate import compare_metadata
        from alembic.migration import MigrationContext

        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == [], diff
        downgrade(directory=MIGRATIONS_DIR, revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(directory=MIGRATIONS_DIR)

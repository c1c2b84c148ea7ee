"""The SQLite database, its -wal and -shm files and the stored images are readable by the
gateway's own user only, in folders only it can enter (issue #20)."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from gateway.extensions import db


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_sqlite_files_are_0600_and_the_instance_folder_0700(app):
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if not uri.startswith("sqlite"):
        return  # PostgreSQL keeps its own files
    database = Path(uri.removeprefix("sqlite:///"))
    database.chmod(0o644)  # as a copy or a umask of 022 would leave it
    with app.app_context():
        db.engine.dispose()
        db.session.execute(text("CREATE TABLE IF NOT EXISTS mode_probe (x INTEGER)"))
        db.session.execute(text("INSERT INTO mode_probe VALUES (1)"))
        db.session.commit()
        files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
        assert files[1].exists() and files[2].exists()  # WAL mode, while connected
        for path in files:
            assert _mode(path) == 0o600, path
        db.session.remove()
    assert _mode(Path(app.instance_path)) == 0o700

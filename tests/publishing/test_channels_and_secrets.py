"""Bad channels are refused when a post is scheduled, and credentials never leak anywhere."""

from __future__ import annotations

import logging
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.cli import main
from gateway.credentials import (
    CredentialsError,
    decrypt_credentials,
    encrypt_credentials,
    needs_rotation,
)
from gateway.extensions import db
from gateway.models import Channel, Post
from gateway.posts import service
from gateway.posts.service import PostError
from gateway.settings import new_encryption_key, parse_encryption_keys
from tests.platforms.accounts import ALL_SECRETS, JPEG, X_CREDENTIALS
from tests.publishing.conftest import approved_post, user
from workers.worker import build_worker


def _draft(app, officers, channel_ids, **kw):
    with app.app_context():
        post = service.create_draft(
            user(officers.author),
            text=kw.get("text", "The tip at Marsh Lane is open on Sunday."),
            channel_ids=channel_ids,
            scheduled_at=datetime.now(UTC) + timedelta(hours=1),
            images=kw.get("images", ()),
        )
        db.session.commit()
        return post.id


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("no_credentials", "needs to be reconnected"),
        ("needs_reauthorisation", "needs to be reconnected"),
        ("unreadable", "cannot be read"),
    ],
)
def test_a_broken_channel_is_refused_when_the_post_is_submitted(
    app, clock, channels, officers, breakage, message
):
    post_id = _draft(app, officers, [channels["x"]])
    with app.app_context():
        channel = db.session.get(Channel, channels["x"])
        if breakage == "no_credentials":
            channel.credentials_encrypted = None
        elif breakage == "needs_reauthorisation":
            channel.needs_reauthorisation = True
        else:
            channel.credentials_encrypted = b"\x01" + b"\x00" * 40
        db.session.commit()
        post = db.session.get(Post, post_id)
        with pytest.raises(PostError, match=message) as caught:
            service.submit(post, user(officers.author))
        assert caught.value.field == "channels"


def test_an_instagram_post_without_an_image_is_refused_when_submitted(
    app, clock, channels, officers
):
    post_id = _draft(app, officers, [channels["instagram"]])
    with app.app_context(), pytest.raises(PostError, match="(?i)image"):
        service.submit(db.session.get(Post, post_id), user(officers.author))


def test_an_upload_that_is_not_an_image_is_refused_with_its_name(app, clock, channels, officers):
    from gateway.posts.service import NewImage

    with app.app_context(), pytest.raises(PostError, match="notes.jpg is not an image"):
        service.create_draft(
            user(officers.author),
            text="Our new opening hours.",
            channel_ids=[channels["x"]],
            scheduled_at=datetime.now(UTC) + timedelta(hours=1),
            images=[NewImage("notes.jpg", "image/jpeg", b"%PDF-1.4 not a jpeg", "Notes")],
        )


def test_credentials_are_bound_to_their_channel_and_keys_rotate(app):
    with app.app_context():
        blob = encrypt_credentials(7, X_CREDENTIALS)
        assert decrypt_credentials(7, blob) == X_CREDENTIALS
        with pytest.raises(CredentialsError, match="do not belong"):
            decrypt_credentials(8, blob)
        for secret in X_CREDENTIALS.values():
            assert secret.encode() not in blob
        old_keys = app.config["ENCRYPTION_KEYS"]
        new_key = parse_encryption_keys(new_encryption_key())[0]
        app.config["ENCRYPTION_KEYS"] = [new_key, *old_keys]
        assert needs_rotation(blob)
        assert decrypt_credentials(7, blob) == X_CREDENTIALS  # old rows still read
        app.config["ENCRYPTION_KEYS"] = [new_key]
        with pytest.raises(CredentialsError, match="no longer in"):
            decrypt_credentials(7, blob)
        app.config["ENCRYPTION_KEYS"] = old_keys


def test_gateway_keys_rotate_reencrypts_every_channel(app, runner, channels):
    with app.app_context():
        before = {c.id: bytes(c.credentials_encrypted) for c in db.session.scalars(select(Channel))}
    new_key = parse_encryption_keys(new_encryption_key())[0]
    app.config["ENCRYPTION_KEYS"] = [new_key, *app.config["ENCRYPTION_KEYS"]]
    result = runner.invoke(main, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "3 channel(s)" in result.output
    app.config["ENCRYPTION_KEYS"] = [new_key]  # the old key can now be retired
    with app.app_context():
        for channel in db.session.scalars(select(Channel)):
            assert bytes(channel.credentials_encrypted) != before[channel.id]
            assert decrypt_credentials(channel.id, channel.credentials_encrypted)


def _database_dump(app, database_url: str, tmp_path: Path) -> bytes:
    if database_url.startswith("sqlite"):
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        path = Path(database_url.removeprefix("sqlite:///"))
        data = path.read_bytes()
        wal = path.with_name(path.name + "-wal")
        return data + (wal.read_bytes() if wal.exists() else b"")
    out = subprocess.run(
        ["pg_dump", "--data-only", database_url], capture_output=True, check=True, timeout=60
    )
    return out.stdout


def test_credentials_never_appear_in_logs_the_log_or_a_database_dump(
    app, clock, fake, channels, officers, gateway_server, database_url, caplog, tmp_path
):
    from gateway.posts.service import NewImage

    caplog.set_level(logging.DEBUG)
    image = NewImage("park.jpg", "image/jpeg", JPEG, "Children on the new swings")
    approved_post(
        app, officers, [channels["x"], channels["facebook"], channels["instagram"]], images=[image]
    )
    fake.inject_fault("error", platform="x", status=500, times=1, method="POST")
    build_worker(app).work(burst=True)
    logged = "\n".join(
        r.getMessage() + (str(r.exc_info) if r.exc_info else "") for r in caplog.records
    )
    assert logged  # there was logging at DEBUG to scan
    dump = _database_dump(app, database_url, tmp_path)
    assert len(dump) > 1000
    for secret in ALL_SECRETS:
        assert secret not in logged, "a credential reached the logs"
        assert secret.encode() not in dump, "a credential is stored in plain text"

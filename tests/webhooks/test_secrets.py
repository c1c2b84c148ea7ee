"""Signing secrets at rest (issue 17): bound to their endpoint, re-encrypted by
``gateway keys rotate`` without changing, and the signature is the specification's."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from gateway.credentials import CredentialsError, needs_rotation
from gateway.extensions import db
from gateway.models import WebhookEndpoint
from gateway.webhooks.signing import decrypt_secret, new_secret, reencrypt_all, signed_headers
from tests.webhooks.conftest import independent_signature, register


def test_keys_rotate_re_encrypts_the_secret_and_keeps_it(app, runner, allow_private):
    endpoint_id, secret = register(app, "https://93.184.216.34/h")
    newest = os.urandom(32)
    app.config["ENCRYPTION_KEYS"] = [newest, *app.config["ENCRYPTION_KEYS"]]
    from gateway.cli import main

    result = runner.invoke(main, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "1 webhook signing secret(s)" in result.output
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert not needs_rotation(endpoint.secret_encrypted)
        app.config["ENCRYPTION_KEYS"] = [newest]
        assert decrypt_secret(endpoint_id, endpoint.secret_encrypted) == secret
        assert reencrypt_all() == 0


def test_a_secret_copied_onto_another_endpoint_does_not_open(app, allow_private):
    first, _ = register(app, "https://93.184.216.34/a")
    second, _ = register(app, "https://93.184.216.34/b")
    with app.app_context():
        blob = db.session.get(WebhookEndpoint, first).secret_encrypted
        with pytest.raises(CredentialsError):
            decrypt_secret(second, blob)
        assert len(db.session.scalars(select(WebhookEndpoint)).all()) == 2


def test_the_signature_is_the_specifications():
    secret = new_secret()
    at = datetime(2027, 3, 9, 10, 0, tzinfo=UTC)
    body = b'{"type":"post.published"}'
    headers = signed_headers(secret, "msg_1", at, body)
    assert headers["webhook-timestamp"] == str(int(at.timestamp()))
    assert headers["webhook-signature"] == independent_signature(
        secret, "msg_1", headers["webhook-timestamp"], body
    )
    # A different body or id does not verify.
    assert headers["webhook-signature"] != independent_signature(
        secret, "msg_2", headers["webhook-timestamp"], body
    )
    assert Webhook(secret).sign("msg_1", at, body) == headers["webhook-signature"]

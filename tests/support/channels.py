"""Channels in the test's database, their credentials encrypted as the admin pages store them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from gateway.credentials import encrypt_credentials
from gateway.extensions import db
from gateway.models import Channel


class ChannelSpec(NamedTuple):
    platform: str
    display_name: str
    account: str
    credentials: Mapping[str, str]
    enabled: bool = True


def add_channels(app, base_url: str, specs: Iterable[ChannelSpec]) -> dict[str, int]:
    """Add a channel for each spec, talking to ``base_url``; returns each platform's channel id."""
    ids = {}
    with app.app_context():
        for spec in specs:
            row = Channel(
                platform=spec.platform,
                display_name=spec.display_name,
                external_account_id=spec.account,
                base_url=base_url,
                enabled=spec.enabled,
            )
            db.session.add(row)
            db.session.flush()
            row.credentials_encrypted = encrypt_credentials(row.id, spec.credentials)
            ids[spec.platform] = row.id
        db.session.commit()
    return ids

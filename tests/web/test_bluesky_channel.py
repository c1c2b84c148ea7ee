"""A Bluesky channel through the product (issue 21): an admin adds it on the channel form with a
handle and an app password, an officer writes a post whose previews count as Bluesky counts,
another approves it, and the worker publishes it to a real PDS (@atproto/dev-env's, on
loopback: tests/support/bluesky_pds.py). The record is read back from the PDS."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterator
from datetime import datetime

import pytest
from PIL import Image
from sqlalchemy import select

from gateway.credentials import decrypt_credentials
from gateway.extensions import db
from gateway.models import AuditEntry, Channel, Delivery, Post
from gateway.publishing.release import Releaser
from tests.support.bluesky_pds import Account, BlueskyPds, running_pds
from tests.web.conftest import LONDON, TOMORROW
from tests.web.helpers import get, submit
from workers.worker import build_worker

pytestmark = pytest.mark.timeout(1800)  # the first run installs the PDS from npm

FLAG = "\U0001f1ec\U0001f1e7"
TEXT = (
    f"The Quay footbridge reopens on Wednesday {FLAG} Details: harbourside.gov.uk/bridge "
    "#Harbourside"
)


@pytest.fixture(scope="module")
def pds(tmp_path_factory) -> Iterator[BlueskyPds]:
    yield from running_pds(tmp_path_factory.mktemp("bluesky-pds"))


@pytest.fixture
def account(pds: BlueskyPds) -> Account:
    return pds.create_account("harbourside")


def _photo() -> bytes:
    """A detailed 2400x1800 photo of about 3 MB: over Bluesky's 1,000,000 bytes."""
    rng = random.Random(7)
    picture = Image.frombytes("RGB", (2400, 1800), rng.randbytes(2400 * 1800 * 3))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=90)
    return out.getvalue()


def _add_channel(app, admin, pds: BlueskyPds, account: Account, **overrides):
    form = get(admin, "/admin/channels/new")
    fields = {
        "platform": "bluesky",
        "display_name": "Harbourside on Bluesky",
        "base_url": pds.url,
        "handle": account.handle,
        "app_password": account.app_password,
    } | overrides
    return submit(admin, form, fields)


def _audit(app, action):
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        return [json.loads(bytes(r.leaf)) for r in rows]


def test_an_admin_adds_a_bluesky_channel_and_an_approved_post_reaches_the_pds(
    app, people, clock, pds, account
):
    app.config["PLATFORM_ALLOWED_HOSTS"] = ("localhost",)
    admin = people["admin"]

    # A wrong app password is refused on the form, in Bluesky's words, and nothing is saved.
    wrong = _add_channel(app, admin, pds, account, app_password="aaaa-bbbb-cccc-dddd")
    assert wrong.status == 400
    assert "Bluesky did not sign in" in wrong.field_error("app_password")
    assert "aaaa-bbbb-cccc-dddd" not in wrong.html
    missing = _add_channel(app, admin, pds, account, handle="")
    assert missing.field_error("handle") == "Error: Enter the handle"

    added = _add_channel(app, admin, pds, account)
    assert added.status == 302, added.errors()
    with app.app_context():
        channel = db.session.scalars(select(Channel)).one()
        channel_id = channel.id
        # The channel keeps the DID the handle signed in as, and the session, encrypted.
        assert channel.platform == "bluesky" and channel.external_account_id == account.did
        stored = decrypt_credentials(channel.id, channel.credentials_encrypted)
        assert stored["handle"] == account.handle
        assert stored["app_password"] == account.app_password
        first_session = stored["session"]
        assert account.app_password.encode() not in bytes(channel.credentials_encrypted)
    tested = submit(
        admin,
        get(admin, f"/admin/channels/{channel_id}"),
        action=f"/admin/channels/{channel_id}/test",
    )
    assert tested.status == 302
    assert account.handle in get(admin, f"/admin/channels/{channel_id}").text()

    # The officer's form: the preview and the count are Bluesky's (the flag is one).
    a = people["a"]
    page = get(a, "/posts/new")
    assert "Harbourside on Bluesky (Bluesky)" in page.text()
    draft = submit(
        a,
        page,
        {
            "text": TEXT,
            "channels": [str(channel_id)],
            "images-0-alt_text": "The new footbridge over the harbour at dusk, lit in blue",
            **TOMORROW,
        },
        files={"images-0-file": (_photo(), "bridge.jpg")},
        button=("action", "save"),
    )
    assert draft.status == 302, draft.errors()
    # The test client spools a body over 500 KB to a file it never closes: close it here.
    draft.response.request.environ["wsgi.input"].close()
    with app.app_context():
        post_id = db.session.scalars(select(Post.id)).one()
    shown = get(a, f"/posts/{post_id}")
    count = len(TEXT) - 1  # the flag's two code points are one grapheme
    assert f"{count} of 300 characters" in shown.text()
    assert shown.soup.select_one(".app-post-preview--bluesky") is not None

    sent = submit(a, get(a, f"/posts/{post_id}/edit"), button=("action", "submit"))
    assert sent.status == 302, sent.errors()
    b = people["b"]
    approved = submit(b, get(b, f"/posts/{post_id}"), action=f"/posts/{post_id}/approve")
    assert approved.status == 302, approved.errors()

    # Its time comes: the scheduler hands it over and the worker publishes it.
    clock.move_to(datetime(2027, 3, 10, 10, 30, 1, tzinfo=LONDON))
    with app.app_context():
        assert Releaser(app).tick() == 1
    build_worker(app).work(burst=True)

    with app.app_context():
        delivery = db.session.scalars(select(Delivery)).one()
        assert delivery.status == "published", delivery.held_reason
        uri, url = delivery.platform_post_id, delivery.platform_url
        assert db.session.get(Post, post_id).status == "published"
        channel = db.session.get(Channel, channel_id)
        stored = decrypt_credentials(channel.id, channel.credentials_encrypted)
    assert uri.startswith(f"at://{account.did}/app.bsky.feed.post/")
    assert url == f"https://bsky.app/profile/{account.handle}/post/{uri.rsplit('/', 1)[1]}"
    assert stored["app_password"] == account.app_password and stored["session"]

    # Read back from the PDS: the text, a clickable link and tag at the right bytes, the image
    # under 1,000,000 bytes with its alt text.
    [record] = pds.list_posts(account.did)
    assert record["uri"] == uri
    value = record["value"]
    assert value["text"] == TEXT
    encoded = TEXT.encode()
    spans = {
        encoded[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(): f["features"][0]
        for f in value["facets"]
    }
    assert spans["harbourside.gov.uk/bridge"] == {
        "$type": "app.bsky.richtext.facet#link",
        "uri": "https://harbourside.gov.uk/bridge",
    }
    assert spans["#Harbourside"]["tag"] == "Harbourside"
    [image] = value["embed"]["images"]
    assert image["alt"] == "The new footbridge over the harbour at dusk, lit in blue"
    blob = pds.get_blob(account.did, image["image"]["ref"]["$link"])
    assert len(blob) <= 1_000_000
    with Image.open(io.BytesIO(blob)) as picture:
        assert max(picture.size) <= 2000
        assert abs(picture.width / picture.height - 4 / 3) < 0.01

    # The publish log names the platform; no credential or session is in it.
    [outcome] = _audit(app, "delivery.outcome")
    assert outcome["payload"]["platform"] == "bluesky"
    assert outcome["payload"]["platform_post_id"] == uri
    with app.app_context():
        leaves = b"".join(bytes(r.leaf) for r in db.session.scalars(select(AuditEntry)))
    assert account.app_password.encode() not in leaves
    for part in first_session.split(":"):
        if len(part) > 40:
            assert part.encode() not in leaves

    # A second worker run publishes nothing again.
    build_worker(app).work(burst=True)
    assert len(pds.list_posts(account.did)) == 1


def test_a_reconnect_with_another_accounts_app_password_is_refused(
    app, people, clock, pds, account
):
    app.config["PLATFORM_ALLOWED_HOSTS"] = ("localhost",)
    admin = people["admin"]
    assert _add_channel(app, admin, pds, account).status == 302
    with app.app_context():
        channel_id = db.session.scalars(select(Channel.id)).one()
    other = pds.create_account("elsewhere")
    page = get(admin, f"/admin/channels/{channel_id}")
    refused = submit(
        admin,
        page,
        {"handle": other.handle, "app_password": other.app_password},
        action=f"/admin/channels/{channel_id}/reconnect",
    )
    assert refused.status == 400
    assert "another account" in refused.field_error("handle")
    renewed = submit(
        admin,
        page,
        {"handle": account.handle, "app_password": account.app_password},
        action=f"/admin/channels/{channel_id}/reconnect",
    )
    assert renewed.status == 302, renewed.errors()
    assert _audit(app, "channel.reconnected")

"""At publish time, a channel whose base URL is inside our network is refused unless
GATEWAY_PLATFORM_ALLOWED_HOSTS names its host: nothing is sent to it (issue #20)."""

from __future__ import annotations

import json

import pytest

from tests.platforms.accounts import PAGE_ID, PAGE_TOKEN
from tests.publishing.conftest import approved_post, deliveries
from tests.support.channels import ChannelSpec, add_channels
from tests.support.network import RecordingServer
from workers.worker import build_worker


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_channel_on_loopback_is_not_called_at_publish_time(app, clock, officers, host):
    app.config["PLATFORM_ALLOWED_HOSTS"] = ()
    answer = json.dumps({"id": f"{PAGE_ID}_1"}).encode()
    with RecordingServer(body=answer) as internal:
        spec = ChannelSpec("facebook", "Council Page", PAGE_ID, {"access_token": PAGE_TOKEN})
        channel_id = add_channels(app, f"http://{host}:{internal.port}", [spec])["facebook"]
        post_id = approved_post(app, officers, [channel_id])
        build_worker(app).work(burst=True)
        [(platform, status, platform_post_id, _)] = deliveries(app, post_id)
        assert status != "published" and platform_post_id is None
        assert internal.requests == []

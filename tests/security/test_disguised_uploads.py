"""A file that is not a picture is refused whatever its name or type says (issue 19,
"Injection and escaping"): an SVG (which can carry script), an HTML page and a polyglot that
starts like a GIF are each checked by decoding the picture, not by the name."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gateway.extensions import db
from gateway.models import Post
from tests.web.conftest import CLEAN_TEXT, TOMORROW
from tests.web.helpers import get, submit

SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<script>alert(document.cookie)</script></svg>"
)
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
GIF_POLYGLOT = b"GIF89a/*\x00\x00<script>alert(1)</script>*/"

DISGUISES = {
    "svg named png": (SVG, "flood-map.png"),
    "svg named svg": (SVG, "flood-map.svg"),
    "html named jpg": (HTML, "photo.jpg"),
    "gif polyglot": (GIF_POLYGLOT, "banner.gif"),
}


def _posts(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Post))


@pytest.mark.parametrize("name", DISGUISES, ids=list(DISGUISES))
def test_a_file_disguised_as_an_image_is_refused_and_nothing_is_saved(app, people, channels, name):
    data, filename = DISGUISES[name]
    client = people["a"]
    fields = {
        "text": CLEAN_TEXT,
        "channels": [str(channels["x"])],
        **TOMORROW,
        "images-0-alt_text": "A map of the flood area",
    }
    page = submit(
        client,
        get(client, "/posts/new"),
        fields,
        files={"images-0-file": (data, filename)},
        button=("action", "submit"),
    )
    assert page.status == 400
    assert "is not an image" in page.field_error("images-0-file")
    assert "<script>" not in page.html
    assert _posts(app) == 0

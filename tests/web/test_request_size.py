"""A request larger than GATEWAY_MAX_REQUEST_MB is refused with a 413 before anything is read
or written, and text over the platforms' limit is refused by the form (issue #20)."""

from __future__ import annotations

import gc
import sqlite3

import pytest
from sqlalchemy import func, select

from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import AuditEntry, Post
from gateway.posts.images import MAX_IMAGE_BYTES
from gateway.posts.service import MAX_TEXT_CHARS
from gateway.settings import DEFAULT_MAX_REQUEST_MB
from tests.conftest import AuthActions
from tests.web.conftest import CLEAN_TEXT, TOMORROW
from tests.web.helpers import get, submit


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        posts = db.session.scalar(select(func.count()).select_from(Post))
        entries = db.session.scalar(select(func.count()).select_from(AuditEntry))
        return posts, entries


def test_the_default_limit_takes_a_post_with_four_of_the_largest_images():
    assert DEFAULT_MAX_REQUEST_MB * 1024 * 1024 > 4 * MAX_IMAGE_BYTES + 4 * MAX_TEXT_CHARS


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
# (the test client leaves its spooled request body for the garbage collector)
def test_a_body_over_the_limit_is_refused_before_anything_is_written(app, people, channels):
    officer = people["a"]
    page = get(officer, "/posts/new")
    before = _counts(app)
    too_big = b"\xff" * (DEFAULT_MAX_REQUEST_MB * 1024 * 1024 + 1)
    refused = submit(
        officer,
        page,
        {"text": CLEAN_TEXT, "channels": [str(channels["x"])], **TOMORROW},
        files={"images-0-file": (too_big, "huge.jpg")},
        button=("action", "save"),
    )
    assert refused.status == 413
    refused.check_shape()
    assert refused.soup.h1.get_text(strip=True) == "What you sent is too large"
    assert "Nothing was saved" in refused.text()
    assert _counts(app) == before
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Another process can write at once: the refused request holds no lock.
        path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        finally:
            other.close()
    del refused, too_big
    gc.collect()  # here, under this test's filter, not in a later test


def test_text_over_the_limit_is_refused_by_the_form(app, people, channels):
    officer = people["a"]
    page = get(officer, "/posts/new")
    before = _counts(app)
    refused = submit(
        officer,
        page,
        {"text": "a" * (MAX_TEXT_CHARS + 1), "channels": [str(channels["x"])], **TOMORROW},
        button=("action", "save"),
    )
    assert refused.status == 400
    assert refused.field_error("text") == (
        f"Error: The text must be {MAX_TEXT_CHARS:,} characters or fewer"
    )
    assert _counts(app) == before


def test_emergency_text_over_the_limit_is_refused_by_the_form(app, people, channels):
    duty = app.test_client()
    duty.environ_base["HTTP_REFERER"] = "https://localhost/"
    AuthActions(app, duty).sign_in_as(Role.DUTY_OFFICER)
    page = get(duty, "/emergency")
    refused = submit(
        duty,
        page,
        {
            "category": "flooding",
            "text": "Flood warning. " * (MAX_TEXT_CHARS // 10),
            "channels": [str(channels["x"])],
        },
    )
    assert refused.status == 400
    assert refused.field_error("text").startswith("Error: The text must be")

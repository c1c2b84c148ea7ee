"""``gateway users create``: strong generated passwords and clear errors, nothing half-written."""

import pytest
from sqlalchemy import func, select

from gateway.cli import main
from gateway.extensions import db
from gateway.models import AuditEntry, User


def _count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_create_prints_a_generated_password_once_that_signs_in(app, runner, auth):
    result = runner.invoke(
        main,
        [
            "users",
            "create",
            "--email",
            "Ann@Council.example",
            "--role",
            "officer",
            "--role",
            "admin",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "ann@council.example" in result.output and "admin, officer" in result.output
    password = result.output.split("store it safely): ")[1].strip()
    assert len(password) >= 20
    assert auth.sign_in("ann@council.example", password).status_code == 302


def test_create_reads_a_password_from_stdin(app, runner, auth):
    result = runner.invoke(
        main,
        [
            "users",
            "create",
            "--email",
            "bo@council.example",
            "--role",
            "auditor",
            "--password-stdin",
        ],
        input="a-long-enough-passphrase-9\n",
    )
    assert result.exit_code == 0, result.output
    assert "a-long-enough" not in result.output and "Password" not in result.output
    assert auth.sign_in("bo@council.example", "a-long-enough-passphrase-9").status_code == 302


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--email", "c@council.example", "--role", "boss"], None, "Unknown role 'boss'"),
        (["--email", "not-an-email", "--role", "officer"], None, "not a valid email"),
        (
            ["--email", "d@council.example", "--role", "officer", "--password-stdin"],
            "short\n",
            "at least 12",
        ),
        (
            ["--email", "e@council.example", "--role", "officer", "--password-stdin"],
            "password123456\n",
            "commonly used",
        ),
    ],
)
def test_bad_input_gets_a_clear_error_and_writes_nothing(app, runner, args, stdin, message):
    users_before, entries_before = _count(app, User), _count(app, AuditEntry)
    result = runner.invoke(main, ["users", "create", *args], input=stdin)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert (_count(app, User), _count(app, AuditEntry)) == (users_before, entries_before)


def test_a_duplicate_email_is_refused(app, runner):
    first = runner.invoke(
        main, ["users", "create", "--email", "f@council.example", "--role", "officer"]
    )
    assert first.exit_code == 0
    again = runner.invoke(
        main, ["users", "create", "--email", "F@council.example", "--role", "admin"]
    )
    assert again.exit_code != 0
    assert "already exists" in again.output
    assert _count(app, User) == 1

"""The gateway's clock (gateway/clock.py, issue 19): GATEWAY_CLOCK_OFFSET_SECONDS moves it in
training, soaks and tests, production refuses it, and the times handed to RQ or read from it
stay on the system clock RQ keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway import clock, settings
from gateway.models.base import utcnow

DAY = 24 * 3600.0


@pytest.fixture
def moved():
    """The clock moved back 40 days for one test, and put back after."""
    clock.set_offset(-40 * DAY)
    yield -40 * DAY
    clock.set_offset(0)


def _env(tmp_path, **extra: str) -> dict[str, str]:
    return {"GATEWAY_INSTANCE_PATH": str(tmp_path), **extra}


def test_without_the_setting_the_clock_is_the_systems(tmp_path) -> None:
    assert settings.load(_env(tmp_path))["CLOCK_OFFSET_SECONDS"] == 0.0
    assert abs((utcnow() - datetime.now(UTC)).total_seconds()) < 5


def test_the_setting_moves_every_reading_of_the_clock(tmp_path, moved) -> None:
    assert settings.load(_env(tmp_path, GATEWAY_CLOCK_OFFSET_SECONDS="-3456000"))[
        "CLOCK_OFFSET_SECONDS"
    ] == pytest.approx(-40 * DAY)
    lag = datetime.now(UTC) - utcnow()
    assert timedelta(days=40) - timedelta(seconds=5) < lag < timedelta(days=40, seconds=5)
    assert clock.epoch() == pytest.approx(datetime.now(UTC).timestamp() - 40 * DAY, abs=5)


def test_rq_gets_and_gives_system_times(moved) -> None:
    at = utcnow() + timedelta(minutes=5)
    # enqueue_at: RQ's scheduler runs by the system clock, so the job is due in 5 minutes
    # by it too, not 40 days ago (which would hand it to a worker at once).
    assert clock.to_system(at) - datetime.now(UTC) == pytest.approx(
        timedelta(minutes=5), abs=timedelta(seconds=5)
    )
    # A worker heartbeat RQ stamped just now is just now by the gateway's clock.
    beat = clock.from_system(datetime.now(UTC))
    assert abs((utcnow() - beat).total_seconds()) < 5


def test_production_refuses_a_moved_clock(tmp_path) -> None:
    from tests.foundation.test_settings import PRODUCTION

    assert settings.load(PRODUCTION)["CLOCK_OFFSET_SECONDS"] == 0.0
    with pytest.raises(settings.SettingsError, match="GATEWAY_CLOCK_OFFSET_SECONDS.*production"):
        settings.load({**PRODUCTION, "GATEWAY_CLOCK_OFFSET_SECONDS": "60"})


@pytest.mark.parametrize("raw", ["soon", "nan", "1e12"])
def test_a_malformed_offset_stops_the_start(tmp_path, raw) -> None:
    with pytest.raises(settings.SettingsError, match="GATEWAY_CLOCK_OFFSET_SECONDS"):
        settings.load(_env(tmp_path, GATEWAY_CLOCK_OFFSET_SECONDS=raw))


def test_the_app_factory_sets_the_clock(tmp_path, monkeypatch) -> None:
    from gateway.app import create_app

    monkeypatch.setenv("GATEWAY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("GATEWAY_CLOCK_OFFSET_SECONDS", str(-DAY))
    try:
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'g.sqlite'}"})
        assert clock.offset_seconds() == -DAY
        assert (datetime.now(UTC) - utcnow()) > timedelta(hours=23)
    finally:
        clock.set_offset(0)

"""Until GATEWAY_CHECKPOINT_DIR is set, `gateway web` and `gateway up` say so in one line and
the admin's index page shows a warning (issue #20)."""

from __future__ import annotations

from click.testing import CliRunner

from gateway.cli import run, serve
from tests.web.helpers import get


def test_the_admin_index_warns_until_the_checkpoint_folder_is_set(app, people, tmp_path):
    app.config["CHECKPOINT_DIR"] = None
    page = get(people["admin"], "/admin/")
    [warning] = page.soup.select(".govuk-warning-text")
    assert "GATEWAY_CHECKPOINT_DIR" in warning.get_text()

    app.config["CHECKPOINT_DIR"] = tmp_path
    assert get(people["admin"], "/admin/").soup.select(".govuk-warning-text") == []


def test_gateway_web_warns_in_one_line_until_the_checkpoint_folder_is_set(monkeypatch, tmp_path):
    served = []
    monkeypatch.setattr(serve, "serve", lambda *args, **kwargs: served.append(args))
    monkeypatch.setenv("GATEWAY_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("GATEWAY_CHECKPOINT_DIR", raising=False)
    result = CliRunner().invoke(run.web_command, [])
    assert result.exit_code == 0, result.output
    assert served
    lines = [line for line in result.output.splitlines() if "GATEWAY_CHECKPOINT_DIR" in line]
    assert len(lines) == 1 and lines[0].startswith("Warning:")

    folder = tmp_path / "checkpoints"
    folder.mkdir()
    monkeypatch.setenv("GATEWAY_CHECKPOINT_DIR", str(folder))
    result = CliRunner().invoke(run.web_command, [])
    assert result.exit_code == 0, result.output
    assert "GATEWAY_CHECKPOINT_DIR" not in result.output

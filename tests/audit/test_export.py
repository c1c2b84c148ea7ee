"""``gateway audit export`` from a real gateway: posts approved and published through the
service and a real worker, then the export checked offline by ``python -m gateway.verify``."""

from __future__ import annotations

import json
import subprocess
import sys

from gateway.cli import main
from gateway.extensions import db
from tests.audit.conftest import bypass_trigger, rewrite_from
from tests.publishing.conftest import approved_post, post_status
from workers.worker import build_worker


def _gateway_verify(*args):
    return subprocess.run(
        [sys.executable, "-m", "gateway.verify", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def _publish_two_posts(app, officers, channels):
    first = approved_post(app, officers, [channels["x"], channels["facebook"]])
    second = approved_post(
        app, officers, [channels["x"]], text="The library reopens on Saturday at 9am."
    )
    build_worker(app).work(burst=True)
    assert post_status(app, first) == post_status(app, second) == "published"
    return first, second


def test_a_published_log_exports_and_verifies_offline(
    app, runner, clock, fake, channels, officers, tmp_path
):
    first, _ = _publish_two_posts(app, officers, channels)
    whole = tmp_path / "whole"
    result = runner.invoke(main, ["audit", "export", "--out", str(whole)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in whole.iterdir()) == [
        "checkpoint",
        "contents.jsonl",
        "entries.jsonl",
        "verifier-key",
    ]
    check = _gateway_verify(whole, "--key", (whole / "verifier-key").read_text().strip())
    assert check.returncode == 0, check.stdout + check.stderr
    assert "3 published" in check.stdout  # two on X, one on Facebook
    assert "approved by a second person" in check.stdout
    # the whole export is exactly the database's log, line for line
    lines = (whole / "entries.jsonl").read_bytes().split(b"\n")[:-1]
    with app.app_context():
        from gateway.audit.checkpoints import iter_leaves

        assert lines == list(iter_leaves())

    # filtered: the first post's history on Facebook, with inclusion proofs and a CSV
    filtered = tmp_path / "facebook"
    result = runner.invoke(
        main,
        [
            "audit",
            "export",
            "--out",
            str(filtered),
            "--channel",
            str(channels["facebook"]),
            "--post",
            str(first),
        ],
    )
    assert result.exit_code == 0, result.output
    proofs = [json.loads(line) for line in (filtered / "inclusion.jsonl").read_text().splitlines()]
    actions = [json.loads(p["leaf"])["action"] for p in proofs]
    assert "delivery.outcome" in actions and "post.approved" in actions
    assert (filtered / "entries.csv").read_text().count("\n") == len(proofs) + 1
    check = _gateway_verify(filtered, "--previous", whole / "checkpoint")
    assert check.returncode == 0, check.stdout + check.stderr

    # a later whole export extends the checkpoint of the earlier one
    approved_post(app, officers, [channels["facebook"]], text="Leisure centre open late today.")
    build_worker(app).work(burst=True)
    later = tmp_path / "later"
    assert runner.invoke(main, ["audit", "export", "--out", str(later)]).exit_code == 0
    check = _gateway_verify(later, "--previous", whole / "checkpoint")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "the log extends it" in check.stdout


def test_an_export_is_refused_when_the_log_changed_under_its_checkpoint(
    app, runner, clock, fake, channels, officers, tmp_path
):
    approved_post(app, officers, [channels["x"]])
    assert runner.invoke(main, ["audit", "checkpoint"]).exit_code == 0
    with app.app_context():
        bypass_trigger()
        rewrite_from(2, lambda obj: obj["payload"].update(rewritten=True))
        db.session.commit()
    result = runner.invoke(main, ["audit", "export", "--out", str(tmp_path / "x")])
    assert result.exit_code != 0
    assert "the log was changed under it" in result.output

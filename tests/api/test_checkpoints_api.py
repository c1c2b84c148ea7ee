"""Signed checkpoints and exports of the publish log through the API (issue 17), as the
auditors' pages give them: an export downloaded here is checked offline by gateway-verify,
against an earlier checkpoint read here too."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile

from sqlalchemy import func, select

from gateway.extensions import db
from gateway.models import AuditEntry, LogCheckpoint
from tests.api.conftest import new_post


def _verify(folder, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gateway.verify", str(folder), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def _unzip(data: bytes, folder):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(folder)
    (export,) = list(folder.iterdir())
    return export


def test_sign_list_and_read_checkpoints(app, api, people, channels):
    auditor = people.headers("auditor")
    assert api.get("/api/v1/audit/checkpoints/latest", headers=auditor).status_code == 404
    signed = api.post("/api/v1/audit/checkpoints", headers=auditor)
    assert signed.status_code == 201, signed.get_data(as_text=True)
    first = signed.get_json()
    with app.app_context():
        assert first["size"] == db.session.scalar(select(func.count()).select_from(AuditEntry))
    assert first["note"].startswith(first["origin"] + "\n" + str(first["size"]) + "\n")
    assert first["verifier_key"].startswith(first["origin"] + "+")
    # Nothing written since: the same checkpoint, not a new one.
    again = api.post("/api/v1/audit/checkpoints", headers=auditor)
    assert again.status_code == 200 and again.get_json()["id"] == first["id"]
    new_post(api, people, channel_ids=[channels["x"]])
    second = api.post("/api/v1/audit/checkpoints", headers=people.headers("mo")).get_json()
    assert second["size"] > first["size"]
    listed = api.get("/api/v1/audit/checkpoints", query_string={"limit": 1}, headers=auditor)
    page = listed.get_json()
    assert [c["id"] for c in page["items"]] == [second["id"]]
    assert page["log_size"] >= second["size"]
    older = api.get(
        "/api/v1/audit/checkpoints",
        query_string={"limit": 1, "cursor": page["next_cursor"]},
        headers=auditor,
    ).get_json()
    assert [c["id"] for c in older["items"]] == [first["id"]] and older["next_cursor"] is None
    huge = api.get(
        "/api/v1/audit/checkpoints", query_string={"cursor": "9999999999"}, headers=auditor
    )
    assert [c["id"] for c in huge.get_json()["items"]] == [second["id"], first["id"]]
    one = api.get(signed.headers["Location"], headers=auditor)
    assert one.get_json() == first
    latest = api.get("/api/v1/audit/checkpoints/latest", headers=auditor).get_json()
    assert latest["id"] == second["id"]
    # The checkpoint page shows the same note.
    assert second["root_hash"] in people.signed_in("auditor").get("/audit/checkpoint").get_data(
        as_text=True
    )
    # Officers and admins do not read the log, here or on the pages.
    for key in ("a", "admin", "duty"):
        assert api.get("/api/v1/audit/checkpoints", headers=people.headers(key)).status_code == 403
        assert api.post("/api/v1/audit/checkpoints", headers=people.headers(key)).status_code == 403


def test_an_export_from_the_api_verifies_offline(app, api, people, channels, tmp_path):
    auditor = people.headers("auditor")
    earlier = api.post("/api/v1/audit/checkpoints", headers=auditor).get_json()
    previous = tmp_path / "earlier-checkpoint"
    previous.write_text(earlier["note"])
    post = new_post(api, people, channel_ids=[channels["x"]]).get_json()
    api.post(f"/api/v1/posts/{post['id']}/submit", headers=people.headers("a"))

    whole = api.get("/api/v1/audit/export", headers=auditor)
    assert whole.status_code == 200, whole.get_data(as_text=True)
    assert whole.mimetype == "application/zip"
    assert "publish-log-whole-" in whole.headers["Content-Disposition"]
    export = _unzip(whole.data, tmp_path / "whole")
    assert sorted(p.name for p in export.iterdir()) == [
        "checkpoint",
        "contents.jsonl",
        "entries.jsonl",
        "verifier-key",
    ]
    check = _verify(export, "--previous", str(previous))
    assert check.returncode == 0, check.stdout + check.stderr
    with app.app_context():
        size = db.session.scalar(select(func.count()).select_from(AuditEntry))
        signed = db.session.scalar(select(func.max(LogCheckpoint.size)))
    assert len((export / "entries.jsonl").read_text().splitlines()) == size == signed

    filtered = api.get(
        "/api/v1/audit/export", query_string={"post_id": post["id"]}, headers=auditor
    )
    assert filtered.status_code == 200
    export = _unzip(filtered.data, tmp_path / "filtered")
    assert (export / "inclusion.jsonl").exists() and (export / "entries.csv").exists()
    listed = api.get(
        "/api/v1/audit/entries", query_string={"post_id": post["id"]}, headers=auditor
    ).get_json()["items"]
    assert len(listed) >= 2  # created, submitted (and the guardrails' verdict)
    assert len((export / "inclusion.jsonl").read_text().splitlines()) == len(listed)
    check = _verify(export)
    assert check.returncode == 0, check.stdout + check.stderr

    # A changed byte is caught offline.
    entries = tmp_path / "whole" / next((tmp_path / "whole").iterdir()).name / "entries.jsonl"
    entries.write_text(entries.read_text().replace("post.created", "post.creaTed", 1))
    assert _verify(entries.parent).returncode == 1

    refused = api.get(
        "/api/v1/audit/export",
        query_string={"date_from": "2027-03-10", "date_to": "2027-03-01"},
        headers=auditor,
    )
    assert refused.status_code == 422
    assert api.get("/api/v1/audit/export", headers=people.headers("a")).status_code == 403

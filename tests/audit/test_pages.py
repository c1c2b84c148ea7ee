"""The auditors' pages: filters, keyset paging, a post's history, escaping, CSRF, exports."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
import zipfile

import pytest
from sqlalchemy import select

from gateway.audit import Actor, record
from gateway.audit.checkpoints import sign_now
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models.audit import AuditEntry
from tests.audit.conftest import a_user, make_entries
from tests.conftest import csrf_token_from


def _seqs(html: str) -> list[int]:
    return [int(s) for s in re.findall(r'href="/audit/entries/(\d+)"', html)]


def _sample_log(app) -> dict:
    """A small log with every kind of filter value, and the ids of what it names."""
    with app.app_context():
        officer = a_user("officer@council.example")
        make_entries(3)
        record(
            "post.created",
            actor=Actor.of(officer),
            obj=("post", 7),
            payload={"author_id": officer.id, "emergency_category": None},
            content={"text": "Bins", "channels": [3], "emergency_category": None},
        )
        record(
            "guardrails.verdict",
            actor=Actor.system(),
            obj=("post", 7),
            payload={
                "stage": "publish",
                "channel_id": 3,
                "findings": [{"rule": "political.party", "outcome": "refer"}],
            },
        )
        for action, payload in (
            ("delivery.attempt", {"attempt_id": "a"}),
            ("delivery.outcome", {"attempt_id": "a", "outcome": "failed", "platform": "x"}),
        ):
            record(
                action,
                actor=Actor.system(),
                obj=("delivery", 11),
                payload={"post_id": 7, "delivery_id": 11, "channel_id": 3, **payload},
            )
        record(
            "delivery.attempt",
            actor=Actor.system(),
            obj=("delivery", 12),
            payload={
                "post_id": 8,
                "delivery_id": 12,
                "channel_id": 4,
                "emergency": True,
                "attempt_id": "b",
            },
        )
        db.session.commit()
        return {"officer": officer.id}


@pytest.fixture
def auditor(auth):
    auth.sign_in_as(Role.AUDITOR)
    return auth


def test_the_list_filters_history_and_entry_pages(app, client, auditor):
    ids = _sample_log(app)
    # the auditor's user.created and auth.signed_in, 3 test entries, then the 4 above
    page = client.get("/audit/")
    assert page.status_code == 200
    all_seqs = _seqs(page.get_data(as_text=True))
    assert all_seqs == sorted(all_seqs, reverse=True) and len(all_seqs) == 10
    last = all_seqs[0]  # delivery.attempt, post 8, emergency
    cases = {
        "action=delivery.outcome": [last - 1],
        "channel=3": [last - 1, last - 2, last - 3, last - 4],
        "channel=4": [last],
        f"officer={ids['officer']}": [last - 4],
        "outcome=failed": [last - 1],
        "rule=political.party": [last - 3],
        "post=7": [last - 1, last - 2, last - 3, last - 4],
        "emergency=yes": [last],
        "emergency=no&post=8": [],
        "channel=3&outcome=failed": [last - 1],
        "action=delivery.attempt&channel=3": [last - 2],
    }
    for query, expected in cases.items():
        response = client.get(f"/audit/?{query}")
        assert response.status_code == 200, query
        assert _seqs(response.get_data(as_text=True)) == expected, query

    # a post's whole history, and one entry's exact bytes
    html = client.get("/audit/posts/7").get_data(as_text=True)
    assert html.count('href="/audit/entries/') == 4
    assert "political.party (refer)" in html
    assert "The log holds no entries about post 99" in client.get("/audit/posts/99").get_data(
        as_text=True
    )
    seq = _seqs(html)[0]
    entry = client.get(f"/audit/entries/{seq}").get_data(as_text=True)
    assert "&#34;action&#34;:&#34;post.created&#34;" in entry or '"action":"post.created"' in entry
    assert client.get("/audit/entries/100000").status_code == 404

    # everything from the log is escaped
    with app.app_context():
        record(
            "test.entry",
            actor=Actor.system(),
            payload={"reason": "<script>alert(1)</script>", "post_id": 1},
        )
        db.session.commit()
    for url in ("/audit/", "/audit/posts/1", f"/audit/entries/{last + 1}"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html, url
        assert "&lt;script&gt;" in html, url


def test_a_date_range_uses_the_councils_days(app, client, auth):
    import time_machine

    with app.app_context():
        # 23:30 UTC on 31 October 2026 is still 31 October in London (GMT after 25 October)
        for moment in ("2026-10-31T23:30:00Z", "2026-11-01T00:30:00Z", "2026-11-02T09:00:00Z"):
            with time_machine.travel(moment, tick=False):
                make_entries(1)

    # signed in afterwards: the log's times never go backwards, so the entries come first
    auth.sign_in_as(Role.AUDITOR)

    def query(q):
        return _seqs(client.get(f"/audit/?{q}").get_data(as_text=True))

    everything = query("")

    def days(start, end):
        (d1, m1), (d2, m2) = start, end
        return (
            f"date_from={d1}&date_from={m1}&date_from=2026&date_to={d2}&date_to={m2}&date_to=2026"
        )

    assert query(days((1, 11), (1, 11))) == [1]
    assert len(everything) == 5
    assert query(days((31, 10), (1, 11))) == [1, 0]
    assert query(days((2, 11), (2, 11))) == [2]
    bad = client.get("/audit/?" + days((2, 11), (1, 11)))
    assert bad.status_code == 400
    assert "To must be the same as or after From" in bad.get_data(as_text=True)


def test_keyset_pages_cover_every_entry_once_in_both_directions(app, client, auditor):
    with app.app_context():
        make_entries(120)
    seen, url, pages = [], "/audit/", []
    while url:
        html = client.get(url).get_data(as_text=True)
        pages.append(url)
        seen.extend(_seqs(html))
        older = re.search(r'href="(/audit/\?[^"]*before=\d+[^"]*)"', html)
        url = older.group(1).replace("&amp;", "&") if older else None
    assert seen == list(range(121, -1, -1))  # 120 test entries after the auditor's two
    assert len(pages) == 3
    # and back: the newer link from the last page returns the page before it
    html = client.get(pages[-1]).get_data(as_text=True)
    newer = re.search(r'href="(/audit/\?[^"]*after=\d+[^"]*)"', html)
    back = _seqs(client.get(newer.group(1).replace("&amp;", "&")).get_data(as_text=True))
    assert back == list(range(71, 21, -1))

    # a filter survives paging: the older link carries it
    first = client.get("/audit/?action=test.entry").get_data(as_text=True)
    assert "action=test.entry" in re.search(r'href="([^"]*before=[^"]*)"', first).group(1)


def test_signing_from_the_page_needs_the_csrf_token(app, client, auth):
    auth.sign_in_as(Role.OFFICER)
    assert client.get("/audit/").status_code == 403  # officers do not read the log here
    auth.sign_out()
    auth.sign_in_as(Role.MONITORING_OFFICER)  # the monitoring officer does
    assert client.post("/audit/checkpoint").status_code == 400  # no token: refused
    page = client.get("/audit/checkpoint").get_data(as_text=True)
    assert "No checkpoint has been signed yet" in page
    token = csrf_token_from(page)
    with app.app_context():
        # the two users' user.created and auth.signed_in, and the monitoring officer's
        # two-factor enrolment (their role requires it)
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions.count("user.created") == 2 and actions.count("auth.signed_in") == 2
    response = client.post("/audit/checkpoint", data={"csrf_token": token})
    assert response.status_code == 302
    page = client.get("/audit/checkpoint").get_data(as_text=True)
    assert f"Signed a checkpoint of {len(actions)} entries" in page
    assert "\u2014 " + app.config["LOG_ORIGIN"] in page
    verified = client.get("/audit/verify")
    assert verified.status_code == 200
    assert "The publish log verifies" in verified.get_data(as_text=True)


def test_the_zip_export_verifies_offline(app, client, auditor, tmp_path):
    with app.app_context():
        record("test.entry", actor=Actor.system(), payload={"post_id": 3, "note": "x"})
        officer = a_user("=HYPERLINK(1)@council.example")
        record("test.entry", actor=Actor.of(officer), payload={"post_id": 3})
        db.session.commit()
    response = client.get("/audit/export.csv?post=3")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][0] == "seq" and len(rows) == 3
    emails = [row[4] for row in rows[1:]]
    assert "'=HYPERLINK(1)@council.example" in emails

    _sample_log(app)
    for query, kind in (("", "whole"), ("?channel=3", "filtered")):
        response = client.get(f"/audit/export.zip{query}")
        data = response.data
        response.close()
        assert response.status_code == 200 and response.mimetype == "application/zip"
        assert f"publish-log-{kind}-" in response.headers["Content-Disposition"]
        folder = tmp_path / kind
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.extractall(folder)
        (export,) = list(folder.iterdir())
        names = sorted(p.name for p in export.iterdir())
        if kind == "whole":
            assert names == ["checkpoint", "contents.jsonl", "entries.jsonl", "verifier-key"]
        else:
            assert "inclusion.jsonl" in names and "entries.csv" in names
        check = subprocess.run(
            [sys.executable, "-m", "gateway.verify", str(export)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, check.stdout + check.stderr


def test_the_verify_page_lists_approvals_to_review(app, client, auditor):
    # Issue 20: an approval by the admin who created its author's account is shown for review.
    with app.app_context():
        admin = Actor(id=90, email="admin@council.example", kind="user")
        record("user.created", actor=admin, obj=("user", 91), payload={"roles": ["officer"]})
        record(
            "post.created",
            actor=Actor(id=91, email="second@council.example", kind="user"),
            obj=("post", 5),
            payload={"author_id": 91, "emergency_category": None},
        )
        record(
            "post.approved",
            actor=admin,
            obj=("post", 5),
            payload={"author_id": 91, "approver_id": 90, "fingerprint": "f"},
        )
        db.session.commit()
    page = client.get("/audit/verify").get_data(as_text=True)
    assert "The publish log verifies" in page
    assert "Approvals to review" in page
    assert "post 5 was approved by user 90, who created or changed the account of its writer" in (
        page
    )


def _zip_entries(data: bytes, folder) -> tuple[int, object]:  # noqa: ANN001
    """How many entries an export zip holds (leaves, or inclusion proofs when filtered)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(folder)
    (export,) = list(folder.iterdir())
    name = "entries.jsonl" if (export / "entries.jsonl").exists() else "inclusion.jsonl"
    return len((export / name).read_text().splitlines()), export


def test_an_export_holds_every_entry_the_page_lists(app, client, auditor, tmp_path):
    # Issue 22: the zip stopped at the last signed checkpoint (47 of the page's 87 entries).
    _sample_log(app)
    with app.app_context():
        sign_now()
        db.session.commit()
        # Written after the checkpoint: the page lists them, so the zip must hold them too.
        make_entries(2)
        record(
            "delivery.attempt",
            actor=Actor.system(),
            obj=("delivery", 11),
            payload={"post_id": 7, "delivery_id": 11, "channel_id": 3, "attempt_id": "c"},
        )
        db.session.commit()
    for query in ("", "channel=3"):
        listed = len(_seqs(client.get(f"/audit/?{query}").get_data(as_text=True)))
        response = client.get(f"/audit/export.zip?{query}")
        assert response.status_code == 200
        held, export = _zip_entries(response.data, tmp_path / (query or "whole"))
        response.close()
        assert listed == held == (13 if not query else 5)
        check = subprocess.run(
            [sys.executable, "-m", "gateway.verify", str(export)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, check.stdout + check.stderr
    # The export signed a checkpoint of what it holds, and wrote no entry of its own.
    with app.app_context():
        from gateway.audit.checkpoints import latest_checkpoint, log_size

        assert latest_checkpoint().size == log_size()

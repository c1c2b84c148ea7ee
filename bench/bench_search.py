"""Benchmark: the officers' post search (issue 22, item 8) with 100,000 posts, on PostgreSQL
(with and without the trigram index of migration 0014) and on SQLite.

    .venv/bin/python bench/bench_search.py [--posts 100000] [--repeat 20]

Creates a throw-away PostgreSQL database (admin URL from BENCH_PG_URL, else TEST_PG_URL, else
postgresql://postgres@127.0.0.1:5432/test) and a SQLite file, migrates both to head and loads
the same posts into each (sentences of council words, two deliveries each, four authors, every
status), ANALYZEs them, then times ``gateway.web.search.search`` in-process, one call at a time
(the count and the first page: the two statements a search page runs), for a rare word, a
common word, words with a filter, a filter alone and no filter. Each figure is the median of
``--repeat`` calls after one warm-up. The databases are removed at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from werkzeug.datastructures import MultiDict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = [
    "bins",
    "recycling",
    "collection",
    "library",
    "park",
    "road",
    "closure",
    "council",
    "meeting",
    "consultation",
    "school",
    "holiday",
    "swimming",
    "pool",
    "leisure",
    "centre",
    "planning",
    "application",
    "housing",
    "repairs",
    "parking",
    "permit",
    "street",
    "lights",
    "gritting",
    "weather",
    "flood",
    "warning",
    "festival",
    "market",
    "museum",
    "volunteers",
    "grant",
    "funding",
    "care",
    "services",
    "tenants",
    "elections",
    "register",
    "vote",
    "poll",
    "card",
    "garden",
    "waste",
    "fly",
    "tipping",
    "graffiti",
    "noise",
    "licence",
    "cemetery",
    "allotments",
    "walk",
    "cycle",
    "bus",
]
#: (label, query arguments): the searches timed.
SEARCHES = [
    ("rare word", {"q": "zebra crossing"}),
    ("common word", {"q": "bins"}),
    ("words + status", {"q": "park", "status": "published"}),
    ("status only", {"status": "awaiting_approval"}),
    ("no filter", {}),
]
STATUSES = ["published"] * 8 + ["approved", "awaiting_approval", "draft", "failed"]


def _admin_url() -> str:
    return os.environ.get("BENCH_PG_URL") or os.environ.get(
        "TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )


def _rows(posts: int) -> list[tuple[str, str, datetime]]:
    rng = random.Random(22)
    start = datetime(2017, 1, 1, 9, tzinfo=UTC)
    rows = []
    for i in range(posts):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 40))).capitalize()
        if i % 5000 == 0:
            text += " New zebra crossing on the high street."
        at = start + timedelta(minutes=53 * i)
        rows.append((text, rng.choice(STATUSES), at))
    return rows


def _app(url: str, instance: Path):
    os.environ.update(GATEWAY_INSTANCE_PATH=str(instance), DATABASE_URL=url)
    from flask_migrate import upgrade

    from gateway import users as user_service
    from gateway.app import create_app
    from gateway.audit import Actor
    from gateway.extensions import db
    from gateway.models import Channel

    app = create_app({"TESTING": True, "SERVER_NAME": "localhost"})
    with app.app_context():
        upgrade()
        for i in range(4):
            user_service.create_user(
                f"officer{i}@council.example",
                ["officer"],
                "correct-horse-battery-staple-42",
                actor=Actor.system(),
            )
        for platform_name, name in (("x", "Council on X"), ("facebook", "Council Facebook")):
            db.session.add(
                Channel(platform=platform_name, display_name=name, external_account_id=name)
            )
        db.session.commit()
    return app


def _load(app, rows) -> None:
    from sqlalchemy import text

    from gateway.extensions import db

    with app.app_context():
        conn = db.session.connection()
        params = [
            {"t": t, "a": 1 + i % 4, "s": s, "at": at, "now": at}
            for i, (t, s, at) in enumerate(rows)
        ]
        conn.execute(
            text(
                "INSERT INTO posts (text, author_id, holder_id, status, scheduled_at, "
                "created_at, updated_at, version, approval_round) "
                "VALUES (:t, :a, :a, :s, :at, :now, :now, 1, 0)"
            ),
            params,
        )
        conn.execute(
            text(
                "INSERT INTO deliveries (post_id, channel_id, due_at, status, attempts) "
                "SELECT p.id, c.id, p.scheduled_at, 'pending', 0 FROM posts p, channels c"
            )
        )
        db.session.commit()
        conn = db.session.connection()
        conn.execute(text("ANALYZE"))
        db.session.commit()


def _time(app, repeat: int) -> dict[str, tuple[float, int]]:
    from gateway.extensions import db
    from gateway.models import User
    from gateway.web.search import SearchForm, search

    out = {}
    with app.app_context(), app.test_request_context():
        reader = db.session.get(User, 1)
        for label, args in SEARCHES:
            form = SearchForm(MultiDict(args))
            form.set_choices()
            assert form.validate(), form.errors  # noqa: S101 - a benchmark's own check
            search(form, reader, 1)
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                result = search(form, reader, 1)
                times.append(time.perf_counter() - started)
            out[label] = (statistics.median(times) * 1000, result.total)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    rows = _rows(args.posts)
    name = f"bench_search_{os.getpid()}"
    results: dict[str, dict[str, tuple[float, int]]] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        psycopg.connect(_admin_url(), autocommit=True) as admin,
    ):
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            pg = re.sub(r"/[^/]*$", f"/{name}", _admin_url())
            app = _app(pg, Path(tmp) / "pg")
            _load(app, rows)
            results["PostgreSQL, trigram index"] = _time(app, args.repeat)
            from sqlalchemy import text

            from gateway.extensions import db

            with app.app_context():
                db.session.execute(text("DROP INDEX ix_posts_text_trgm"))
                db.session.commit()
            results["PostgreSQL, no index"] = _time(app, args.repeat)
            with app.app_context():
                db.engine.dispose()
            lite = _app(f"sqlite:///{tmp}/bench.sqlite", Path(tmp) / "lite")
            _load(lite, rows)
            results["SQLite"] = _time(lite, args.repeat)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"\nPost search, {args.posts:,} posts, median of {args.repeat} (ms; count+first page)\n")
    columns = list(results)
    print("| search | matches | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for label, _ in SEARCHES:
        total = results[columns[0]][label][1]
        cells = " | ".join(f"{results[c][label][0]:.1f}" for c in columns)
        print(f"| {label} | {total:,} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

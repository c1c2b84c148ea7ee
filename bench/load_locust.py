"""The signed-in officers and auditors of bench/load.py, for locust (issue 19, "Load").

Not run on its own: bench/load.py signs everyone in through the real sign-in form (password,
then the authenticator's code), writes their session cookies to the file named by
``LOAD_SESSIONS`` and starts ``locust -f bench/load_locust.py --headless`` on loopback. Each
locust user takes the next signed-in person, in order, and asks for that role's pages with a
think time of ``LOAD_THINK_SECONDS`` on average (uniform from half to one and a half times it),
as a person reading the pages does. Anything but a 200 (a redirect to the sign-in page
included) is counted as a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import random

from locust import HttpUser, between, task

with open(os.environ["LOAD_SESSIONS"], encoding="utf-8") as _f:
    _SETUP = json.load(_f)
SESSIONS: list[dict] = _SETUP["sessions"]
#: Ids of posts that exist (loaded and made), for the officers' post pages; of the posts the
#: loaded log is about, for the auditors' history pages; the log's size for its entries.
POST_IDS: tuple[int, int] = tuple(_SETUP["post_ids"])
LOGGED_POST_IDS: tuple[int, int] = tuple(_SETUP["logged_post_ids"])
LOG_SIZE: int = _SETUP["log_size"]
WORDS = ("bins", "library", "roadworks", "zebra crossing", "gritters")
THINK = float(os.environ.get("LOAD_THINK_SECONDS", "1"))


class _SignedIn(HttpUser):
    abstract = True
    wait_time = between(THINK / 2, THINK * 1.5)

    def on_start(self) -> None:
        mine = [s for s in SESSIONS if s["role"] == self.role]
        session = mine[next(self.counter) % len(mine)]
        self.email = session["email"]
        for name, value in session["cookies"].items():
            self.client.cookies.set(name, value)

    def page(self, path: str, name: str) -> None:
        with self.client.get(
            path, name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                why = f"{response.status_code} {response.error or ''}".strip()
                response.failure(f"{why} ({self.role})")


class Officer(_SignedIn):
    role = "officer"
    counter = itertools.count()
    weight = 4

    @task(3)
    def dashboard(self) -> None:
        self.page("/", "dashboard")

    @task(2)
    def approvals(self) -> None:
        self.page("/approvals", "approval queue")

    @task(2)
    def week(self) -> None:
        self.page("/schedule", "schedule, this week")

    @task(1)
    def month(self) -> None:
        self.page("/schedule/month", "schedule, this month")

    @task(1)
    def search(self) -> None:
        self.page(f"/posts?q={random.choice(WORDS)}", "post search")  # noqa: S311

    @task(1)
    def post(self) -> None:
        self.page(f"/posts/{random.randint(*POST_IDS)}", "a post")  # noqa: S311


class Auditor(_SignedIn):
    role = "auditor"
    counter = itertools.count()
    weight = 1

    @task(3)
    def log(self) -> None:
        self.page("/audit/", "publish log, newest")

    @task(2)
    def filtered(self) -> None:
        choice = random.choice(("action=delivery.outcome", "outcome=retry", "emergency=yes"))  # noqa: S311
        self.page(f"/audit/?{choice}", "publish log, filtered")

    @task(1)
    def deep(self) -> None:
        self.page(f"/audit/?before={random.randint(1, LOG_SIZE)}", "publish log, deep page")  # noqa: S311

    @task(1)
    def entry(self) -> None:
        self.page(f"/audit/entries/{random.randint(0, LOG_SIZE - 1)}", "a log entry")  # noqa: S311

    @task(1)
    def history(self) -> None:
        self.page(f"/audit/posts/{random.randint(*LOGGED_POST_IDS)}", "a post's history")  # noqa: S311

"""The fake platform as the soak runs it (bench/soak.py): a record that survives SIGKILL, and
kill orders that SIGKILL the gateway worker making a given platform call.

Run as ``python bench/soak_fake.py --port P --journal FILE --accounts FILE``. A script for the
soak, not part of the gateway.

- **A record that survives being killed.** A real platform that restarts keeps its posts. The
  fake keeps them in memory, so here every post, uploaded image and Instagram container is
  also appended to ``--journal`` as one JSON line as it is made (a line ``write`` reaches the
  kernel at once, so a SIGKILL loses nothing written), and a restarted fake reads them back.
  Instagram containers come back as they were made; one whose caption is already among the
  account's posts comes back published, and any other is fetched again (its image), so a
  container published before a kill cannot be published twice after it. Rate windows, nonces
  and injected faults are not kept (the soak injects faults again).
- **Kill orders** (``POST /_soak/kill-orders`` ``{"step": ..., "platform": ...}``, each used
  once): the next matching publish request SIGKILLs the process that sent it, found by the
  request's source port among the processes whose command line is a ``gateway.cli worker``.
  ``before``: on the request that comes before the one that makes the post (X's media upload,
  Instagram's container), which is not carried out. ``during``: on the request that makes the
  post, before anything is done. ``after``: the post is made, then the worker is killed before
  it reads the answer. ``GET /_soak/kills`` lists what was done since this start, and
  ``<journal>-kills.jsonl`` everything. Orders not yet used are lost when the fake is killed.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import itertools
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fakeplatform import graph_instagram  # noqa: E402
from fakeplatform.app import create_app  # noqa: E402
from fakeplatform.server import serve_forever  # noqa: E402
from fakeplatform.state import (  # noqa: E402
    Container,
    FakeState,
    Media,
    Post,
    account_from_json,
)

KILL_STEPS = ("before", "during", "after")
#: The request that makes the post, per platform (what ``during`` and ``after`` hit).
CREATE_SUFFIXES = {
    "x": ("/2/tweets",),
    "facebook": ("/photos", "/feed"),
    "instagram": ("/media_publish",),
}
#: The request before it (what ``before`` hits); a Facebook post with one photo is one call.
BEFORE_SUFFIXES = {"x": ("/2/media/upload",), "instagram": ("/media",)}


class _JournalDict(dict):
    """A dict that appends each value it is given to the journal."""

    def __init__(self, journal: Journal, kind: str) -> None:
        super().__init__()
        self._journal, self._kind = journal, kind

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._journal.write(self._kind, value)

    def load(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._out = path.open("a", buffering=1, encoding="utf-8")

    def write(self, kind: str, value: Any) -> None:
        data = asdict(value)
        if kind == "media":
            data["data"] = base64.b64encode(value.data).decode("ascii")
        self._out.write(json.dumps({"k": kind, **data}) + "\n")


class JournalledState(FakeState):
    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal
        self.media = _JournalDict(journal, "media")
        self.containers = _JournalDict(journal, "container")
        self._loading = False

    def add_post(self, post: Post) -> None:
        with self.lock:
            super().add_post(post)
            if not self._loading:
                self.journal.write("post", post)

    def reset(self, keep_accounts: bool = False) -> None:  # never: the record is the point
        raise RuntimeError("the soak's fake platform keeps its record")

    def load(self) -> list[Container]:
        """Read the journal back; return the containers to fetch again."""
        highest = 0
        containers: dict[str, Container] = {}
        self._loading = True
        try:
            for line in self.journal.path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:  # a line cut short by the kill
                    continue
                kind = entry.pop("k")
                if kind == "post":
                    post = Post(**entry)
                    self.add_post(post)
                    highest = max(highest, int(post.post_id.rsplit("_", 1)[-1]))
                elif kind == "media":
                    entry["data"] = base64.b64decode(entry["data"])
                    self.media.load(entry["media_id"], Media(**entry))
                    highest = max(highest, int(entry["media_id"]))
                elif kind == "container":
                    containers[entry["container_id"]] = Container(**entry)
                    highest = max(highest, int(entry["container_id"]))
        finally:
            self._loading = False
        captions = {(p.account_id, p.text): p for p in self.posts if p.platform == "instagram"}
        refetch = []
        for cid, container in containers.items():
            published = captions.get((container.account_id, container.caption))
            if published is not None:
                container.status_code, container.status = "PUBLISHED", "Published"
                container.published_id = published.post_id
            else:
                container.status_code, container.status = "IN_PROGRESS", "In Progress"
                refetch.append(container)
            self.containers.load(cid, container)
        if highest:
            self._ids = itertools.count(highest + 1)
        return refetch


# -- kill orders --------------------------------------------------------------------------------
def _worker_pids() -> list[Any]:
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if "gateway.cli" in cmdline and "worker" in cmdline:
            found.append(proc)
    return found


def caller_of(remote_port: int, local_port: int) -> int | None:
    """The pid of the worker whose socket is 127.0.0.1:remote_port -> our local_port."""
    import psutil

    for proc in _worker_pids():
        with contextlib.suppress(psutil.Error):
            for conn in proc.net_connections(kind="tcp"):
                if (
                    conn.laddr
                    and conn.laddr.port == remote_port
                    and conn.raddr
                    and conn.raddr.port == local_port
                ):
                    return proc.pid
    return None


class KillOrders:
    """WSGI middleware: the soak's control endpoints and the kills they order."""

    def __init__(self, app: Any, state: JournalledState, kills_path: Path) -> None:
        self.app, self.state = app, state
        # Kept in a file beside the journal, so that a kill before a restart is still counted.
        self._kills_out = kills_path.open("a", buffering=1, encoding="utf-8")
        self.lock = threading.Lock()
        self.orders: list[dict[str, Any]] = []
        self.kills: list[dict[str, Any]] = []

    def _json(self, start_response: Any, body: Any, status: str = "200 OK") -> list[bytes]:
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json")])
        return [data]

    def _take(self, platform: str, step: str) -> dict[str, Any] | None:
        with self.lock:
            for order in self.orders:
                if order["step"] == step and order.get("platform") in (None, platform):
                    self.orders.remove(order)
                    return order
        return None

    @staticmethod
    def _platform_step(method: str, path: str) -> tuple[str, str] | None:
        if method != "POST":
            return None
        for platform, suffixes in CREATE_SUFFIXES.items():
            if path.endswith(suffixes) and (platform == "x") == path.startswith("/2/"):
                return platform, "create"
        for platform, suffixes in BEFORE_SUFFIXES.items():
            if path.endswith(suffixes) and (platform == "x") == path.startswith("/2/"):
                return platform, "before"
        return None

    def _text(self, body: bytes, content_type: str) -> str:
        if "json" in content_type:
            with contextlib.suppress(ValueError):
                return str(json.loads(body).get("text") or "")
        if "x-www-form-urlencoded" in content_type:
            form = parse_qs(body.decode("utf-8", "replace"))
            for key in ("message", "caption"):
                if key in form:
                    return form[key][0]
            if "creation_id" in form:
                container = self.state.containers.get(form["creation_id"][0])
                return container.caption if container else ""
        if "multipart" in content_type:  # a Facebook photo: find the message field
            marker = b'name="message"'
            at = body.find(marker)
            if at >= 0:
                start = body.find(b"\r\n\r\n", at) + 4
                return body[start : body.find(b"\r\n--", start)].decode("utf-8", "replace")
        return ""

    def _kill(self, environ: dict[str, Any], platform: str, step: str, text: str) -> None:
        local_port = int(environ.get("SERVER_PORT") or 0)
        pid = caller_of(int(environ.get("REMOTE_PORT") or 0), local_port)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        kill = {"at": time.time(), "step": step, "platform": platform, "pid": pid, "text": text}
        with self.lock:
            self.kills.append(kill)
            self._kills_out.write(json.dumps(kill) + "\n")

    @staticmethod
    def _drop(environ: dict[str, Any]) -> None:
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        raise ConnectionAbortedError("soak: the caller was killed")

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == "/_soak/kill-orders" and method == "POST":
            order = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
            if order.get("step") not in KILL_STEPS:
                return self._json(start_response, {"error": "step"}, "400 Bad Request")
            with self.lock:
                self.orders.append(order)
            return self._json(start_response, order, "201 Created")
        if path == "/_soak/kills":
            with self.lock:
                return self._json(start_response, {"kills": self.kills, "orders": self.orders})
        hit = self._platform_step(method, path)
        if hit is None or not self.orders:
            return self.app(environ, start_response)
        platform, kind = hit
        step = "before" if kind == "before" else None
        order = self._take(platform, "before") if kind == "before" else None
        if kind == "create":
            order = self._take(platform, "during") or self._take(platform, "after")
            step = order["step"] if order else None
        if order is None:
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        text = self._text(body, environ.get("CONTENT_TYPE", ""))
        if step in ("before", "during"):
            self._kill(environ, platform, step, text)
            self._drop(environ)
        # after: the platform makes the post, then its caller dies before the answer.
        captured: list[Any] = []

        def capture(status: str, headers: list[Any], exc_info: Any = None) -> Any:
            captured[:] = [status]
            return lambda data: None

        result = self.app(environ, capture)
        with contextlib.suppress(Exception):
            b"".join(result)
        close = getattr(result, "close", None)
        if close is not None:
            close()
        self._kill(environ, platform, f"after ({captured[0] if captured else '?'})", text)
        self._drop(environ)
        return []


def build(journal_path: Path, accounts_file: Path | None) -> Any:
    state = JournalledState(Journal(journal_path))
    refetch = state.load()
    if accounts_file is not None:
        for entry in json.loads(accounts_file.read_text(encoding="utf-8")):
            state.add_account(account_from_json(entry))
    app = create_app(state)
    for container in refetch:
        threading.Thread(
            target=graph_instagram._process_container, args=(state, container), daemon=True
        ).start()
    kills = journal_path.with_name(journal_path.stem + "-kills.jsonl")
    app.wsgi_app = KillOrders(app.wsgi_app, state, kills)  # type: ignore[method-assign]
    return app


#: How far the fake's moved clock may be from the gateway's: a post received that much before
#: its due time would be counted early.
CLOCK_ALIGN_SECONDS = 0.0005


def _align(moved: Any, offset: float) -> None:
    """Time-machine's clock starts at its destination when ``start()`` runs, not when the
    destination was read: on a busy machine the two are a tenth of a second apart, and the
    fake's clock would lag the gateway's by that much (the soak counted posts early by it).
    Measure against the system clock and shift until it agrees."""
    import time_machine

    for _ in range(20):
        before = time_machine.escape_hatch.time.time()
        ours = time.time()
        after = time_machine.escape_hatch.time.time()
        error = ours - ((before + after) / 2 + offset)
        if abs(error) < CLOCK_ALIGN_SECONDS and after - before < CLOCK_ALIGN_SECONDS:
            return
        if after - before < CLOCK_ALIGN_SECONDS:  # a clean reading: trust it
            moved.shift(-error)


def main() -> None:
    parser = argparse.ArgumentParser(description="The soak's fake platform.")
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--journal", type=Path, required=True)
    parser.add_argument("--accounts", type=Path)
    parser.add_argument(
        "--clock-offset",
        type=float,
        default=0.0,
        help="seconds to move this process's clock, as GATEWAY_CLOCK_OFFSET_SECONDS moves the "
        "gateway's (bench/soak.py --dst): a platform keeps its own clock, and the gateway's "
        "look-ups compare its timestamps with the attempt's",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.clock_offset:
        # The fake is one process of fakeplatform/ code that reads time.time() everywhere:
        # time-machine moves all of it, and its threads, at once. The gateway's processes move
        # their own clock (gateway.clock), as many processes must agree on one.
        import time_machine

        from fakeplatform import oauth1

        moved = time_machine.travel(time.time() + args.clock_offset, tick=True).start()
        _align(moved, args.clock_offset)
        # Except OAuth 1.0a's timestamp check: the gateway signs X requests with tweepy, by the
        # system clock it does not move, as a real X checks them by the real one.
        oauth1.time = time_machine.escape_hatch.time  # type: ignore[attr-defined]
    serve_forever(host=args.host, port=args.port, app=build(args.journal, args.accounts))


if __name__ == "__main__":
    main()

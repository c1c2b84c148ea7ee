"""A made-up but realistic publish log, for auditors to practise on, tests and the benchmark.

``python -m gateway.transparency.demo OUT_DIR [--posts N] [--key PATH]`` writes a whole-log
export signed with a throw-away key (by default saved beside the folder as ``OUT_DIR.key``),
which ``gateway-verify OUT_DIR`` accepts. The log for N posts begins with the log for fewer, so
two runs with the same key stand for an older and a newer export of one log.

Every post is written, submitted, checked by the guardrails, approved by a second officer and
published to two channels; one post in twenty is an emergency post, published by the duty
officer first and reviewed after; one delivery in ten is retried once.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.transparency.checkpoint import generate_signing_key, load_signing_key
from gateway.transparency.export import write_export
from gateway.transparency.leaf import GENESIS_PREV

DEMO_ORIGIN = "demo.council.example/publish-log"
DEMO_START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
EMERGENCY_EVERY = 20
RETRY_EVERY = 10
CHANNELS = ((1, "x"), (2, "facebook"))
OFFICERS = (
    (11, "asha.patel@council.example"),
    (12, "tom.reid@council.example"),
    (13, "mei.chen@council.example"),
)
DUTY_OFFICER = (14, "duty.officer@council.example")

# For ASCII values without large integers this *is* RFC 8785 (see leaf.py), and it is fast
# enough to write a million-entry benchmark log in seconds.
_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode


class DemoLog:
    """Generates the log on demand; ``content`` looks contents up by hash once generated."""

    def __init__(self, posts: int, *, seed: int = 0) -> None:
        self.posts = posts
        self.seed = seed
        self.contents: dict[str, dict[str, Any]] = {}

    def content(self, digest: str) -> dict[str, Any] | None:
        """The post content whose canonical JSON hashes to ``digest``."""
        return self.contents.get(digest)

    def leaves(self) -> Iterator[bytes]:
        """Every leaf, from leaf 0, as canonical JSON bytes."""
        rng = random.Random(self.seed)  # nosec B311
        seq, prev, now = 0, GENESIS_PREV, DEMO_START

        def entry(
            actor: tuple[int, str] | None,
            action: str,
            obj: dict[str, str] | None,
            payload: dict[str, Any],
            content: str | None = None,
        ) -> bytes:
            nonlocal seq, prev, now
            now += timedelta(seconds=rng.randint(1, 90), microseconds=rng.randint(0, 999_999))
            kind = "user" if actor else "system"
            leaf = _dumps(
                {
                    "seq": seq,
                    "time": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "actor": {
                        "id": actor[0] if actor else None,
                        "email": actor[1] if actor else None,
                        "kind": kind,
                    },
                    "action": action,
                    "object": obj,
                    "payload": payload,
                    "content_sha256": content,
                    "prev": prev,
                }
            ).encode()
            seq += 1
            prev = hashlib.sha256(leaf).hexdigest()
            return leaf

        delivery_id = 0
        for post_id in range(1, self.posts + 1):
            post = {"type": "post", "id": str(post_id)}
            emergency = post_id % EMERGENCY_EVERY == 0
            author = DUTY_OFFICER if emergency else OFFICERS[post_id % len(OFFICERS)]
            approver = OFFICERS[(post_id + 1) % len(OFFICERS)]
            category = "severe_weather" if emergency else None
            content = {
                "text": f"Post {post_id}: bin collections move to Saturday this week.",
                "images": [{"sha256": hashlib.sha256(b"img%d" % post_id).hexdigest(),
                            "alt_text": "A council refuse lorry"}],
                "channels": [c for c, _ in CHANNELS],
                "scheduled_at": None,
                "emergency_category": category,
            }  # fmt: skip
            digest = hashlib.sha256(_dumps(content).encode()).hexdigest()
            self.contents[digest] = content
            created = {"author_id": author[0], "emergency_category": category}
            yield entry(author, "post.created", post, created, digest)
            verdict = {"post_id": post_id, "stage": "drafted", "verdict": "pass", "rules": []}
            yield entry(None, "guardrails.verdict", post, verdict)
            if emergency:
                published = {"post_id": post_id, "author_id": author[0], "category": category}
                yield entry(author, "emergency.published", post, published)
            else:
                yield entry(author, "post.submitted", post, {"author_id": author[0]})
                approval = {
                    "approver_id": approver[0],
                    "author_id": author[0],
                    "fingerprint": digest,
                }
                yield entry(approver, "post.approved", post, approval, digest)
            for channel_id, platform in CHANNELS:
                delivery_id += 1
                outcomes = (
                    ["retry", "published"] if delivery_id % RETRY_EVERY == 0 else ["published"]
                )
                for attempt, outcome in enumerate(outcomes, start=1):
                    attempt_id = f"d{delivery_id}-a{attempt}"
                    started = {
                        "post_id": post_id,
                        "delivery_id": delivery_id,
                        "attempt_id": attempt_id,
                        "channel_id": channel_id,
                        "platform": platform,
                    }
                    yield entry(None, "delivery.attempt", post, started)
                    done = outcome == "published"
                    finished = {
                        "post_id": post_id,
                        "delivery_id": delivery_id,
                        "attempt_id": attempt_id,
                        "outcome": outcome,
                        "platform_post_id": str(10**18 + delivery_id) if done else None,
                        "error_class": None if done else "retryable",
                        "message": None if done else "503 from the platform; will retry",
                    }
                    yield entry(None, "delivery.outcome", post, finished)
            if emergency:
                review = {"post_id": post_id, "reviewer_id": approver[0], "decision": "upheld"}
                yield entry(approver, "emergency.reviewed", post, review)


def rewrite_history(leaves: list[bytes], seq: int) -> list[bytes]:
    """Change entry ``seq``'s actor and re-link every later entry: a rewritten history."""
    values = [json.loads(leaf) for leaf in leaves]
    values[seq]["actor"] = {"id": 99, "email": "someone.else@council.example", "kind": "user"}
    rewritten, prev = [], GENESIS_PREV
    for value in values:
        value["prev"] = prev
        leaf = _dumps(value).encode()
        rewritten.append(leaf)
        prev = hashlib.sha256(leaf).hexdigest()
    return rewritten


def main(argv: Sequence[str] | None = None) -> int:
    """Write a demo export: ``python -m gateway.transparency.demo OUT_DIR [--posts N]``."""
    parser = argparse.ArgumentParser(prog="python -m gateway.transparency.demo")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--posts", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--key", type=Path, help="signing key file to use, created if missing (default OUT_DIR.key)"
    )
    parser.add_argument(
        "--rewrite",
        type=int,
        metavar="SEQ",
        help="practise: change entry SEQ's actor and recompute every later prev, as someone "
        "with database access could, before the gateway signs the export",
    )
    args = parser.parse_args(argv)
    key_path = args.key or args.out_dir.with_name(args.out_dir.name + ".key")
    key = load_signing_key(key_path) if key_path.exists() else generate_signing_key(key_path)
    log = DemoLog(args.posts, seed=args.seed)
    leaves: Iterable[bytes] = log.leaves()
    if args.rewrite is not None:
        leaves = rewrite_history(list(leaves), args.rewrite)
    summary = write_export(args.out_dir, leaves, log.content, private_key=key, origin=DEMO_ORIGIN)
    print(f"wrote {summary.entries} entries to {args.out_dir} (signing key: {key_path})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Adapter overhead against the bare HTTP call, both to the fake platform, in the same run.

    .venv/bin/python -m fakeplatform.bench [--posts 400] [--threads 8] [--latency-ms 50]

The fake runs in its own process (so its work does not share the benchmark's GIL). For each
platform, the same number of posts is sent by ``threads`` threads twice: as the bare HTTP
request (requests + the same auth, nothing else) and through the adapter (one adapter per post,
as a publish job makes one). Reports posts per second, per-post p50/p99, and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests
from requests_oauthlib import OAuth1

from fakeplatform.client import FakePlatformControl

X_ID = "2000"
PAGE_ID = "3000"
X_CREDS = {
    "consumer_key": "bench-ck",
    "consumer_secret": "bench-cs",  # nosec B105
    "access_token": f"{X_ID}-bench-at",
    "access_token_secret": "bench-ats",  # nosec B105
}
PAGE_TOKEN = "bench-page-token"  # noqa: S105 - a token only the local fake accepts  # nosec B105
# The same (connect, read) timeouts the adapters' transport applies.
TIMEOUT = (5.0, 15.0)
_SERVER = (
    "import sys; from fakeplatform.server import serve_forever; "
    "serve_forever('127.0.0.1', int(sys.argv[1]))"
)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(n: int, threads: int, send: Callable[[str], None]) -> tuple[float, list[float]]:
    durations: list[float] = []

    def one(i: int) -> None:
        text = f"bench {i} {uuid.uuid4().hex}"
        start = time.perf_counter()
        send(text)
        durations.append(time.perf_counter() - start)

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(n)))
    return n / (time.perf_counter() - start), durations


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def main() -> None:
    from gateway.platforms import ChannelConfig, DeliveryRequest, adapter_for

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=400)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", _SERVER, str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{base}/_fake/accounts", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        control = FakePlatformControl(base)
        control.register_account("x", X_ID, X_CREDS)
        control.register_account("facebook", PAGE_ID, {"access_token": PAGE_TOKEN})
        if args.latency_ms:
            control.inject_fault("latency", latency_ms=args.latency_ms, times=None)

        def bare_x(text: str) -> None:
            auth = OAuth1(
                X_CREDS["consumer_key"],
                client_secret=X_CREDS["consumer_secret"],
                resource_owner_key=X_CREDS["access_token"],
                resource_owner_secret=X_CREDS["access_token_secret"],
            )
            requests.post(
                f"{base}/2/tweets", json={"text": text}, auth=auth, timeout=TIMEOUT
            ).raise_for_status()

        def bare_facebook(text: str) -> None:
            requests.post(
                f"{base}/v23.0/{PAGE_ID}/feed",
                data={"message": text, "access_token": PAGE_TOKEN},
                timeout=TIMEOUT,
            ).raise_for_status()

        def via_adapter(
            platform: str, account: str, creds: dict[str, str]
        ) -> Callable[[str], None]:
            channel = ChannelConfig(platform, account, creds, base)  # type: ignore[arg-type]

            def send(text: str) -> None:
                adapter = adapter_for(channel)
                try:
                    adapter.publish(DeliveryRequest(1, "bench", text))
                finally:
                    adapter.close()

            return send

        cases = [
            ("x", bare_x, via_adapter("x", X_ID, X_CREDS)),
            (
                "facebook",
                bare_facebook,
                via_adapter("facebook", PAGE_ID, {"access_token": PAGE_TOKEN}),
            ),
        ]
        print(
            f"{args.posts} posts, {args.threads} threads, fake latency {args.latency_ms} ms "
            "(fake in its own process)"
        )
        print(f"{'platform':10} {'path':8} {'posts/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6}")
        for name, bare, adapter in cases:
            _run(20, args.threads, bare)  # warm up both paths
            _run(20, args.threads, adapter)
            bare_rate, bare_d = _run(args.posts, args.threads, bare)
            ad_rate, ad_d = _run(args.posts, args.threads, adapter)
            for path, rate, d in (("bare", bare_rate, bare_d), ("adapter", ad_rate, ad_d)):
                ratio = rate / bare_rate
                print(
                    f"{name:10} {path:8} {rate:8.1f} {_pct(d, 50):8.1f} {_pct(d, 99):8.1f} "
                    f"{ratio:6.2f}"
                )
        control.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()

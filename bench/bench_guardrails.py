"""Benchmark: guardrail checks per second on one core, for registers of 50, 500 and 5,000.

Run:  .venv/bin/python bench/bench_guardrails.py [--seconds 2] [--repeats 5]

Each check is a full ``check`` of one post (every rule) on X, inside a pre-election period and
in office hours, cycling through the labelled development posts plus posts that name synthetic
register members. The register sizes share the same posts, so the ratio 5,000/50 shows whether
name matching grows with the register (issue #4 aims: >= 5,000 checks/s, ratio < 1.5).
Not a test: timings go in docs/benchmarks.md, never in assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from datetime import date
from datetime import time as clock_time
from pathlib import Path

from gateway.domain.guardrails import (
    AllowedContacts,
    Election,
    ElectionKind,
    Person,
    PolicyContext,
    PostToCheck,
    Register,
    check,
    local_to_utc,
)

CORPUS = Path(os.environ.get("GUARDRAILS_CORPUS", "/work/shared/corpus"))
SIZES = (50, 500, 5_000)
SEED = 4  # fixed so every run builds the same synthetic registers
GIVEN = ["Alex", "Sam", "Jo", "Priya", "Tom", "Aisha", "Gareth", "Mei", "Olu", "Nina", "Ravi"]
PARTIES = ["Labour Party", "Conservative and Unionist Party", "Liberal Democrats", "Green Party"]


def synthetic_register(size: int, rng: random.Random) -> Register:
    """``size`` people with distinct invented surnames (syllable soup, so no real names)."""
    syllables = ["bar", "ken", "dol", "mir", "tas", "vel", "quin", "hob", "ral", "sut", "zen"]
    people, seen = [], set()
    while len(people) < size:
        surname = "".join(rng.choice(syllables) for _ in range(4)).capitalize()
        if surname in seen:
            continue
        seen.add(surname)
        people.append(
            Person(
                f"{rng.choice(GIVEN)} {surname}",
                rng.choice(PARTIES),
                rng.choice(["councillor", "candidate"]),
                f"Ward {len(people) % 40}",
            )
        )
    return Register(people)


def posts(register: Register, rng: random.Random) -> list[str]:
    texts = [json.loads(line)["text"] for line in (CORPUS / "posts-dev.jsonl").open()]
    named = rng.sample(list(register.people), 10)
    texts += [f"Cllr {p.name.split()[-1]} opened the new library in {p.ward} today." for p in named]
    return texts


def rate(context: PolicyContext, texts: list[str], seconds: float) -> float:
    at = local_to_utc(date(2027, 4, 20), clock_time(10, 0))
    prepared = [PostToCheck(t) for t in texts]
    for post in prepared:  # warm the caches (compiled matchers, holidays)
        check(post, "x", at, context)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for post in prepared:
            check(post, "x", at, context)
        done += len(prepared)
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    parser.add_argument("--repeats", type=int, default=5, help="measurements per size")
    args = parser.parse_args()
    contacts = AllowedContacts.from_text((CORPUS / "harbourside-contacts.txt").read_text())
    election = Election(ElectionKind.LOCAL, date(2027, 5, 6), notice_date=date(2027, 3, 29))
    rng = random.Random(SEED)
    largest = synthetic_register(max(SIZES), rng)
    # Nested registers (the 50 are in the 500, the 500 in the 5,000) and one post list naming
    # people of the smallest, so only the register size changes between rows.
    registers = {size: Register(largest.people[:size]) for size in SIZES}
    texts = posts(registers[SIZES[0]], rng)
    results: dict[int, list[float]] = {size: [] for size in SIZES}
    contexts = {size: PolicyContext(reg, (election,), contacts) for size, reg in registers.items()}
    # Interleave sizes so drift in machine load hits every size alike.
    for _ in range(args.repeats):
        for size in SIZES:
            results[size].append(rate(contexts[size], texts, args.seconds))
    medians = {size: statistics.median(r) for size, r in results.items()}
    print(f"posts per round: {len(texts)}; repeats: {args.repeats} x {args.seconds:.1f}s")
    for size in SIZES:
        print(
            f"register {size:>5}: {medians[size]:>8,.0f} checks/s "
            f"(min {min(results[size]):,.0f}, max {max(results[size]):,.0f})"
        )
    ratio = medians[50] / medians[5_000]  # = time per check at 5,000 / time per check at 50
    print(f"ratio 5,000/50 (time per check): {ratio:.3f}")


if __name__ == "__main__":
    main()

"""One pulse round to N people against the Slack sandbox with Slack's rate limits switched on.

Measures the wall time of the whole round (audience lookup, 2,000 DMs, bookkeeping) against
the floor the rate limits allow, and counts duplicate DMs (must be 0).

    .venv/bin/python -m bench.pulse_fanout --people 2000 [--workspace-cap 6000] [--postgres SERVER_URL]

Slack documents chat.postMessage at about one message per second per channel; every DM is a
channel of its own, so that limit alone allows the whole fan-out at once (floor: one second).
Slack also has an undocumented workspace-wide cap; `--workspace-cap N` (messages per minute)
models one, making the floor N/60 messages a second.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections import Counter

from bench.common import FIRST_ROUND, START, bench_database, machine, start_bot
from bot.domain.clock import ManualClock
from bot.sandbox.server import SlackSandbox
from bot.sandbox.workspace import generated_workspace


def run(people: int, workspace_cap: int | None, postgres: str | None) -> dict:
    logging.basicConfig(level=logging.WARNING)
    with bench_database(postgres) as url, SlackSandbox(generated_workspace(people)) as sandbox:
        clock = ManualClock(START)
        runtime = start_bot(sandbox, url, clock)
        limits = {"chat.postMessage": workspace_cap} if workspace_cap else None
        sandbox.enable_rate_limits(limits)
        clock.set(FIRST_ROUND)
        started = time.perf_counter()
        sent = 0
        while True:
            report = runtime.runner.run_due()
            sent += report.sent
            if sent + report.failed >= people or not (report.sent or report.rounds_started):
                break
        wall = time.perf_counter() - started
        posts = [
            c.params.get("channel") for c in sandbox.calls_to("chat.postMessage") if c.http_status == 200
        ]
        duplicates = sum(count - 1 for count in Counter(posts).values() if count > 1)
        floor = max(1.0, people / (workspace_cap / 60)) if workspace_cap else 1.0
        runtime.stop()
        return {
            "people": people,
            "database": runtime.database.backend,
            "workspace_cap": workspace_cap,
            "sent": sent,
            "wall_s": wall,
            "floor_s": floor,
            "rate_limited": sandbox.rate_limited_calls,
            "duplicates": duplicates,
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--workspace-cap", type=int, help="messages per minute across the workspace")
    parser.add_argument(
        "--postgres", help="a PostgreSQL server URL to use instead of SQLite (a scratch database)"
    )
    arguments = parser.parse_args()
    result = run(arguments.people, arguments.workspace_cap, arguments.postgres)
    print(f"machine: {machine()}")
    print("| people | store | cap /min | sent | wall (s) | floor (s) | wall/floor | 429s | duplicates |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {result['people']} | {result['database']} | {result['workspace_cap'] or '—'} | {result['sent']} "
        f"| {result['wall_s']:.1f} | {result['floor_s']:.1f} | {result['wall_s'] / result['floor_s']:.2f} "
        f"| {result['rate_limited']} | {result['duplicates']} |"
    )


if __name__ == "__main__":
    main()

"""One pulse round to N people against the Slack sandbox with Slack's rate limits switched on.

Measures the wall time of the whole round (audience lookup, 2,000 DMs, bookkeeping) against
the floor the rate limits allow, and counts duplicate DMs (must be 0).

    .venv/bin/python -m bench.pulse_fanout --people 2000 [--workspace-cap 6000] [--zones 5]
        [--postgres SERVER_URL]

Slack documents chat.postMessage at about one message per second per channel; every DM is a
channel of its own, so that limit alone would allow the whole fan-out at once. Slack also caps a
workspace's messages overall, unpublished ("several hundred a minute"): the bot keeps to
`SLACK_POSTS_PER_MINUTE` (300 unless set), so the floor is N ÷ that pace. `--workspace-cap N`
(messages per minute) makes the sandbox enforce such a cap and tells the bot the same pace.

`--zones K` spreads the people over K timezones (round-robin over ZONES) and runs the pulse at each
person's own 10:00: the round goes out in K batches, one as each zone reaches 10:00 (the clock
jumps between them; `--between-zones` real seconds, 20 unless given and not counted, pass between
two batches, so that Slack's per-minute allowances refill as they would over those hours). Wall
time is the bot's working time summed over the batches (the floor is the same N ÷ pace), and the
longest wait how long the last person of a batch waited behind their 10:00.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections import Counter
from datetime import time as wall_time

from bench.common import FIRST_ROUND, START, bench_database, machine, start_bot
from bot.domain import schedule
from bot.domain.clock import ManualClock
from bot.sandbox.server import SlackSandbox
from bot.sandbox.workspace import generated_workspace

#: Where `--zones K` puts people, round-robin: the sandbox's own zones first, then others.
ZONES = (
    "Asia/Tehran",
    "Europe/Berlin",
    "America/New_York",
    "Europe/London",
    "America/Los_Angeles",
    "Asia/Dubai",
    "Asia/Tokyo",
    "America/Sao_Paulo",
)
SEND_TIME = wall_time(10, 0)
#: Real seconds waited (and not counted) between two zones' 10:00, which are hours apart on the bot's
#: clock: enough for Slack's Tier 2 allowance (users.list, read again for who is away) to refill.
BETWEEN_ZONES = 20.0


def run(
    people: int,
    workspace_cap: int | None,
    postgres: str | None,
    zones: int = 0,
    between_zones: float = BETWEEN_ZONES,
) -> dict:
    logging.basicConfig(level=logging.WARNING)
    workspace = generated_workspace(people)
    if zones:  # Tuesday 3 March 2026 at 10:00 in each zone, earliest first
        for n, user in enumerate(workspace.users[:people]):
            user.tz = ZONES[n % zones]
        moments = sorted({schedule.local_to_utc(FIRST_ROUND.date(), SEND_TIME, z) for z in ZONES[:zones]})
    else:
        moments = [FIRST_ROUND]
    with bench_database(postgres) as url, SlackSandbox(workspace) as sandbox:
        clock = ManualClock(START)
        runtime = start_bot(
            sandbox, url, clock, each_persons_time=bool(zones), posts_per_minute=workspace_cap
        )
        pace = runtime.settings.slack_posts_per_minute
        limits = {"chat.postMessage": workspace_cap} if workspace_cap else None
        sandbox.enable_rate_limits(limits)
        wall, sent, batches, waits = 0.0, 0, [], []
        for number, moment in enumerate(moments):
            if number:  # hours pass between zones: Slack's (and the bot's) per-minute allowances refill
                time.sleep(between_zones)
            clock.set(moment)
            started, before = time.perf_counter(), sent
            while True:
                report = runtime.runner.run_due()
                sent += report.sent
                if sent + report.failed >= people or not (report.sent or report.rounds_started):
                    break
            waits.append(time.perf_counter() - started)
            wall += waits[-1]
            batches.append(sent - before)
        posts = [
            c.params.get("channel") for c in sandbox.calls_to("chat.postMessage") if c.http_status == 200
        ]
        duplicates = sum(count - 1 for count in Counter(posts).values() if count > 1)
        floor = people / (pace / 60)
        runtime.stop()
        return {
            "people": people,
            "database": runtime.database.backend,
            "zones": zones,
            "workspace_cap": workspace_cap,
            "pace": pace,
            "longest_wait_s": max(waits),
            "sent": sent,
            "largest_batch": max(batches),
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
    parser.add_argument(
        "--zones",
        type=int,
        default=0,
        choices=range(len(ZONES) + 1),
        help="people in this many timezones, the pulse at each person's own 10:00 (0: Berlin's, for all)",
    )
    parser.add_argument(
        "--between-zones",
        type=float,
        default=BETWEEN_ZONES,
        help="real seconds waited, not counted, between two zones' batches (0: none)",
    )
    arguments = parser.parse_args()
    result = run(
        arguments.people,
        arguments.workspace_cap,
        arguments.postgres,
        arguments.zones,
        arguments.between_zones,
    )
    timing = f"own, {result['zones']} zones" if result["zones"] else "Berlin's"
    print(f"machine: {machine()}")
    print(
        "| people | store | 10:00 | pace /min | sent | largest batch | wall (s) | floor (s) | wall/floor "
        "| longest wait (s) | 429s | duplicates |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {result['people']} | {result['database']} | {timing} | {result['pace']} | {result['sent']} "
        f"| {result['largest_batch']} | {result['wall_s']:.1f} | {result['floor_s']:.1f} "
        f"| {result['wall_s'] / result['floor_s']:.2f} | {result['longest_wait_s']:.1f} "
        f"| {result['rate_limited']} | {result['duplicates']} |"
    )


if __name__ == "__main__":
    main()

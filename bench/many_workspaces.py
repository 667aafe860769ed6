"""Many workspaces on one deployment: every workspace's pulse due at the same minute, then taps from
all of them, on one replica and on two (PostgreSQL, real `serve --http` processes, leader election on).

    .venv/bin/python -m bench.many_workspaces [--postgres SERVER_URL] [--workspaces 100] [--members 200]
        [--replicas 1 2] [--rtt-ms 100] [--workspace-cap 300] [--taps 2000] [--concurrency 50]

Each run: a fresh database; the app installed in every workspace through the OAuth flow; each
workspace set up with a weekly DM pulse on Tuesdays at 10:00 Berlin; then the replicas start on a
clock 20 s before that instant. The leader's scheduler sends every round; the sandbox (in this
process, with Slack's rate limits on) records when each DM arrives. Then `--taps` rating taps from
people of every workspace go to the replicas in turn (a round-robin load balancer), `--concurrency`
at a time.

The floor: Slack's limits are per workspace (and app), so workspaces do not slow each other down.
chat.postMessage allows about one message a second per channel, and every DM is a channel of its
own; `--workspace-cap N` models the workspace-wide cap Slack does not publish (N a minute, answered
`rate_limited` beyond it), and the replicas are told the same pace (SLACK_POSTS_PER_MINUTE). With
`--rtt-ms`, every request to the sandbox takes that round trip. The last DM can go out at the
earliest members / (N / 60) plus one round trip after the round starts (1 s without a cap).
`--taps 0` measures the fan-out alone.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from bench.common import FIRST_ROUND, SIGNING_SECRET, START, bench_database, machine, percentile, set_up
from bench.tap_latency import hammer
from bot.domain.clock import ManualClock
from bot.runtime.process import BotRuntime
from bot.runtime.settings import Settings
from bot.sandbox.driver import SlackDriver
from bot.sandbox.server import SlackSandbox
from bot.sandbox.workspace import generated_workspace
from storage.db import Database
from storage.models import Delivery, PostStatus
from tests.processes import BotProcess, bot_environment, readiness

#: The replicas start on a clock this long before the round falls due: time to boot and elect a leader.
LEAD = timedelta(seconds=20)


def sandbox_of(workspaces: int, members: int) -> SlackSandbox:
    teams = [generated_workspace(members, team_id=f"T0BENCH{n:03d}") for n in range(workspaces)]
    sandbox = SlackSandbox(teams[0])  # no round trip while installing: set-up is not measured
    for workspace in teams[1:]:
        sandbox.add_workspace(workspace)
    return sandbox


def install_and_set_up(sandbox: SlackSandbox, url: str) -> None:
    """Every workspace installs the app (OAuth, through a bot in this process) and is set up."""
    settings = Settings(
        _env_file=None,
        slack_client_id=sandbox.oauth.client_id,
        slack_client_secret=sandbox.oauth.client_secret,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=sandbox.api_url,
        database_url=url,
        log_level="WARNING",
    )
    with BotRuntime(settings, clock=ManualClock(START), scheduler=False) as runtime:
        driver = SlackDriver(runtime.url, SIGNING_SECRET, sandbox)
        for workspace in sandbox.workspaces.values():
            assert driver.for_workspace(workspace).install(workspace.users[0].id).status == 200
            set_up(runtime.services, workspace)


def round_posts(sandbox: SlackSandbox) -> list:
    """The DMs of the round Slack accepted (a lost or refused one is not a DM anyone got)."""
    return [
        call
        for call in sandbox.calls_to("chat.postMessage")
        if call.http_status == 200 and call.response.get("ok") and "delivery_id" in str(call.params)
    ]


def tap_payloads(sandbox: SlackSandbox, signers: dict[str, SlackDriver], taps: int) -> list[dict]:
    """`taps` rating taps, from each workspace in turn (signed as its people's), over their DMs."""
    by_team = {
        team: [m for user in workspace.users for m in sandbox.dms_to(user.id) if m.metadata]
        for team, workspace in sandbox.workspaces.items()
    }
    teams = list(by_team)
    payloads = []
    for number in range(taps):
        team = teams[number % len(teams)]
        message = by_team[team][(number // len(teams)) % len(by_team[team])]
        row = next(b for b in message.blocks if b.get("block_id", "").startswith("item:"))
        button = row["elements"][number % 5]
        payload = signers[team].button_payload(
            "U" + message.channel[1:],
            button["action_id"],
            button["value"],
            row["block_id"],
            message={"ts": message.ts, "channel": message.channel, "blocks": message.blocks},
        )
        payloads.append(payload)
    return payloads


def run(
    postgres: str,
    replicas: int,
    workspaces: int,
    members: int,
    cap: int | None,
    rtt_ms: float,
    taps: int,
    concurrency: int,
) -> dict:
    with bench_database(postgres) as url, sandbox_of(workspaces, members) as sandbox:
        started = time.perf_counter()
        install_and_set_up(sandbox, url)
        result = {"replicas": replicas, "setup_s": time.perf_counter() - started}
        sandbox.enable_rate_limits(workspace_cap=cap)
        sandbox.set_round_trip(rtt_ms)
        sandbox.clear()
        environment = bot_environment(
            sandbox,
            url,
            slack_client_id=sandbox.oauth.client_id,
            slack_client_secret=sandbox.oauth.client_secret,
            slack_signing_secret=SIGNING_SECRET,
            leader_check_seconds="1",
            **({"slack_posts_per_minute": str(cap)} if cap else {}),
        )
        with tempfile.TemporaryDirectory(prefix="alignbot-bench-") as folder:
            processes = [
                BotProcess.replica(environment, Path(folder) / f"replica{n}", FIRST_ROUND - LEAD)
                for n in range(replicas)
            ]
            try:
                urls = [process.wait_listening(timeout=120) for process in processes]  # a loaded machine
                result |= fan_out(sandbox, workspaces * members, cap, members, rtt_ms)
                result["failed"] = failed_deliveries(url)
                result["leaders"] = sum(readiness(url)[1]["leader"] for url in urls)
                if taps:
                    result |= tap_all(sandbox, urls, taps, concurrency)
            finally:
                for process in processes:
                    process.stop()
        return result


def failed_deliveries(url: str) -> int:
    """Deliveries recorded as failed (a rate limit must never be one)."""
    database = Database(url)
    try:
        with database.session() as session:
            return session.scalar(select(func.count()).where(Delivery.status == PostStatus.FAILED)) or 0
    finally:
        database.dispose()


def fan_out(sandbox: SlackSandbox, expected: int, cap: int | None, members: int, rtt_ms: float) -> dict:
    """Wait for the leader to send every DM; when the last went out, from the round's first call."""
    deadline = time.monotonic() + 1800
    while len(posts := round_posts(sandbox)) < expected and time.monotonic() < deadline:
        time.sleep(1)
    first_call = min(call.received_at for call in sandbox.calls if call.method != "auth.test")
    channels = Counter(call.params["channel"] for call in posts)
    return {
        "sent": len(posts),
        "round_s": max(call.received_at for call in posts) - first_call,
        "floor_s": (members / (cap / 60) if cap else 1.0) + rtt_ms / 1000,
        "rate_limited": sandbox.rate_limited_calls,
        "duplicates": sum(count - 1 for count in channels.values()),
    }


def tap_all(sandbox: SlackSandbox, urls: list[str], taps: int, concurrency: int) -> dict:
    """Taps from every workspace, dealt to the replicas in turn as a round-robin load balancer would,
    `concurrency` clients in all; acknowledged and fully processed (reply posted) rates."""
    signers = {
        team: SlackDriver(urls[0], SIGNING_SECRET, sandbox, workspace=workspace)
        for team, workspace in sandbox.workspaces.items()
    }
    payloads = tap_payloads(sandbox, signers, taps)
    replicas = [SlackDriver(url, SIGNING_SECRET, sandbox) for url in urls]
    shares = [
        (driver, payloads[n :: len(replicas)], max(1, concurrency // len(replicas)))
        for n, driver in enumerate(replicas)
    ]
    replies_before = len(sandbox.response_url_posts)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(replicas)) as pool:
        parts = list(pool.map(lambda share: hammer(*share), shares))
    wall = time.perf_counter() - started
    while len(sandbox.response_url_posts) - replies_before < taps and time.perf_counter() - started < 600:
        time.sleep(0.1)
    latencies = [latency for _, part in parts for latency in part]
    return {
        "taps": taps,
        "acked_per_s": taps / wall,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "processed_per_s": (len(sandbox.response_url_posts) - replies_before)
        / (time.perf_counter() - started),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--postgres",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server URL (scratch databases there)",
    )
    parser.add_argument("--workspaces", type=int, default=100)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--workspace-cap", type=int, help="messages per minute in each workspace")
    parser.add_argument("--rtt-ms", type=float, default=0, help="the round trip of every request")
    parser.add_argument("--taps", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("slack_bolt").setLevel(logging.ERROR)
    cap = arguments.workspace_cap
    print(
        f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}; "
        f"{arguments.workspaces} workspaces × {arguments.members} people; rtt {arguments.rtt_ms:g} ms"
    )
    print(
        "| replicas | cap /min | DMs | last DM after (s) | floor (s) | last/floor | rate-limited answers "
        "| failed | duplicates | taps acked/s | p50 ack (ms) | p99 ack (ms) | taps processed/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for replicas in arguments.replicas:
        row = run(
            arguments.postgres,
            replicas,
            arguments.workspaces,
            arguments.members,
            cap,
            arguments.rtt_ms,
            arguments.taps,
            arguments.concurrency,
        )
        taps = (
            f"{row['acked_per_s']:.0f} | {row['p50_ms']:.0f} | {row['p99_ms']:.0f} "
            f"| {row['processed_per_s']:.0f}"
            if arguments.taps
            else "— | — | — | —"
        )
        print(
            f"| {replicas} | {cap or '—'} | {row['sent']} | {row['round_s']:.1f} | {row['floor_s']:.1f} "
            f"| {row['round_s'] / row['floor_s']:.2f} | {row['rate_limited']} | {row['failed']} "
            f"| {row['duplicates']} | {taps} |",
            flush=True,
        )
        print(f"  (set-up {row['setup_s']:.0f} s; leaders among the replicas: {row['leaders']})", flush=True)


if __name__ == "__main__":
    main()

"""Many workspaces on one deployment: every workspace's pulse due at the same minute, then taps from
all of them, on one replica and on two (PostgreSQL, real `serve --http` processes, leader election on).

    .venv/bin/python -m bench.many_workspaces [--postgres SERVER_URL] [--workspaces 100] [--members 200]
        [--replicas 1 2] [--rtt-ms 100] [--workspace-cap 300] [--taps 2000] [--concurrency 50]

Each run: a fresh database; the app installed in every workspace through the OAuth flow; each
workspace set up with a weekly DM pulse on Tuesdays at 10:00 Berlin; then the replicas start on a
clock 20 s before that instant. The leader plans every round and every replica drains the outbox;
the sandbox, a process of its own (`python -m bot.sandbox --control`) with Slack's rate limits on,
records when each DM arrives. The replicas' CPU time (user + system, from /proc) over the fan-out,
divided by the DMs, is the bot's cost per DM: far less sensitive to other load on the machine than
the wall time; the sandbox's own CPU per DM is shown beside it (on one machine, it competes). Then
`--taps` rating taps from people of every workspace go to the replicas in turn (a round-robin load
balancer), `--concurrency` at a time.

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
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select

from bench.common import FIRST_ROUND, SIGNING_SECRET, START, bench_database, machine, percentile, set_up
from bench.tap_latency import hammer
from bot.domain.clock import ManualClock
from bot.runtime.process import BotRuntime
from bot.runtime.settings import Settings
from bot.sandbox.driver import SlackDriver
from bot.sandbox.workspace import SandboxWorkspace, generated_workspace
from storage.db import Database
from storage.models import Delivery, PostStatus
from tests.processes import BotProcess, bot_environment, metrics_of, readiness

#: The replicas start on a clock this long before the round falls due: time to boot and elect a leader.
LEAD = timedelta(seconds=20)


class SandboxProcess:
    """`python -m bot.sandbox --control` hosting `workspaces` generated workspaces of `members` people,
    driven over its standard input; as much of `SlackSandbox` as the benchmark and `SlackDriver` use.
    The workspaces are generated here too (the same ids and tokens) to address people and channels."""

    def __init__(self, workspaces: int, members: int) -> None:
        command = [sys.executable, "-m", "bot.sandbox", "--control"]
        command += ["--workspaces", str(workspaces), "--members", str(members)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        listening = json.loads(self.process.stdout.readline())
        self.api_url, self.base_url = listening["api_url"], listening["base_url"]
        self.oauth = SimpleNamespace(
            client_id=listening["client_id"], client_secret=listening["client_secret"]
        )
        self.workspaces: dict[str, SandboxWorkspace] = {
            team: generated_workspace(members, team) for team in listening["workspaces"]
        }
        self.workspace = next(iter(self.workspaces.values()))

    def do(self, name: str, *args: Any) -> Any:
        self.process.stdin.write(json.dumps({"do": name, "args": args}) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        if "error" in answer:
            raise RuntimeError(f"the sandbox could not {name}: {answer['error']}")
        return answer["result"]

    def approve_install(self, authorize_url: str, team_id: str, installer: str | None = None) -> dict:
        return self.do("approve_install", authorize_url, team_id, installer)

    def issue_response_url(self, channel_id: str, user_id: str, message_ts: str | None = None) -> str:
        return self.do("issue_response_url", channel_id, user_id, message_ts)

    def issue_trigger_id(self, user_id: str) -> str:
        return self.do("issue_trigger_id", user_id)

    def close(self) -> None:
        self.process.stdin.close()  # the sandbox stops when its input ends
        self.process.wait(timeout=30)

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far, user and system (Linux: /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def install_and_set_up(sandbox: SandboxProcess, url: str) -> None:
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


def tap_payloads(sandbox: SandboxProcess, signers: dict[str, SlackDriver], taps: int) -> list[dict]:
    """`taps` rating taps, from each workspace in turn (signed as its people's), over their DMs."""
    by_team = sandbox.do("dms_with_metadata")
    teams = list(by_team)
    payloads = []
    for number in range(taps):
        team = teams[number % len(teams)]
        message = by_team[team][(number // len(teams)) % len(by_team[team])]
        row = next(b for b in message["blocks"] if b.get("block_id", "").startswith("item:"))
        button = row["elements"][number % 5]
        payload = signers[team].button_payload(
            "U" + message["channel"][1:],
            button["action_id"],
            button["value"],
            row["block_id"],
            message={"ts": message["ts"], "channel": message["channel"], "blocks": message["blocks"]},
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
    with bench_database(postgres) as url, SandboxProcess(workspaces, members) as sandbox:
        started = time.perf_counter()
        install_and_set_up(sandbox, url)
        result = {"replicas": replicas, "setup_s": time.perf_counter() - started}
        sandbox.do("enable_rate_limits", None, 3, cap)
        sandbox.do("set_round_trip", rtt_ms)
        sandbox.do("clear")
        environment = bot_environment(
            sandbox,
            url,
            slack_client_id=sandbox.oauth.client_id,
            slack_client_secret=sandbox.oauth.client_secret,
            slack_signing_secret=SIGNING_SECRET,
            leader_check_seconds="1",
            slack_pace_ahead="true",  # this sandbox has Slack's limits on: keep to them, as in production
            **({"slack_posts_per_minute": str(cap)} if cap else {}),
        )
        with tempfile.TemporaryDirectory(prefix="alignbot-bench-") as folder:
            processes = [
                BotProcess.replica(environment, Path(folder) / f"replica{n}", FIRST_ROUND - LEAD)
                for n in range(replicas)
            ]
            try:
                urls = [process.wait_listening(timeout=120) for process in processes]  # a loaded machine
                pids = [process.process.pid for process in processes]
                cpu_before = sum(cpu_seconds(pid) for pid in pids)
                sandbox_before = cpu_seconds(sandbox.process.pid)
                result |= fan_out(sandbox, workspaces * members, cap, members, rtt_ms)
                sent = max(1, result["sent"])
                result["cpu_ms_per_dm"] = (sum(cpu_seconds(pid) for pid in pids) - cpu_before) * 1000 / sent
                result["sandbox_ms_per_dm"] = (
                    (cpu_seconds(sandbox.process.pid) - sandbox_before) * 1000 / sent
                )
                result["failed"] = failed_deliveries(url)
                result["leaders"] = sum(readiness(url)[1]["leader"] for url in urls)
                result["sent_by"] = sent_by_each(urls, result["sent"])
                if taps:
                    result |= tap_all(sandbox, urls, taps, concurrency)
            finally:
                for process in processes:
                    process.stop()
        return result


def sent_by_each(urls: list[str], sent: int) -> list[int]:
    """The DMs each replica says it sent (its metrics; a pass records its sends as it ends)."""
    deadline = time.monotonic() + 30
    while True:
        counts = [
            int(metrics_of(url).get(("alignbot_pulse_deliveries_total", (("outcome", "sent"),)), 0))
            for url in urls
        ]
        if sum(counts) >= sent or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)  # waiting on other processes


def failed_deliveries(url: str) -> int:
    """Deliveries recorded as failed (a rate limit must never be one)."""
    database = Database(url)
    try:
        with database.session() as session:
            return session.scalar(select(func.count()).where(Delivery.status == PostStatus.FAILED)) or 0
    finally:
        database.dispose()


def fan_out(sandbox: SandboxProcess, expected: int, cap: int | None, members: int, rtt_ms: float) -> dict:
    """Wait for the replicas to send every DM; when the last went out, from the round's first call."""
    deadline = time.monotonic() + 1800
    while sandbox.do("accepted_posts") < expected and time.monotonic() < deadline:
        time.sleep(0.5)
    posts = sandbox.do("posts", "delivery_id")
    keys = Counter(key for _, _, key in posts)
    return {
        "sent": len(keys),
        "round_s": max(at for at, _, _ in posts) - sandbox.do("first_call", "auth.test"),
        "floor_s": (members / (cap / 60) if cap else 1.0) + rtt_ms / 1000,
        "rate_limited": sandbox.do("rate_limited_calls"),
        "duplicates": sum(count - 1 for count in keys.values()),
    }


def tap_all(sandbox: SandboxProcess, urls: list[str], taps: int, concurrency: int) -> dict:
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
    replies_before = sandbox.do("response_url_posts")
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(replicas)) as pool:
        parts = list(pool.map(lambda share: hammer(*share), shares))
    wall = time.perf_counter() - started
    while (
        replied := sandbox.do("response_url_posts") - replies_before
    ) < taps and time.perf_counter() - started < 600:
        time.sleep(0.1)
    latencies = [latency for _, part in parts for latency in part]
    return {
        "taps": taps,
        "acked_per_s": taps / wall,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "processed_per_s": replied / (time.perf_counter() - started),
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
        "| replicas | cap /min | DMs | bot CPU ms per DM | sandbox CPU ms per DM | last DM after (s) "
        "| floor (s) | last/floor "
        "| rate-limited answers | failed | duplicates | taps acked/s | p50 ack (ms) | p99 ack (ms) "
        "| taps processed/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
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
            f"| {replicas} | {cap or '—'} | {row['sent']} | {row['cpu_ms_per_dm']:.2f} "
            f"| {row['sandbox_ms_per_dm']:.2f} "
            f"| {row['round_s']:.1f} | {row['floor_s']:.1f} "
            f"| {row['round_s'] / row['floor_s']:.2f} | {row['rate_limited']} | {row['failed']} "
            f"| {row['duplicates']} | {taps} |",
            flush=True,
        )
        print(
            f"  (set-up {row['setup_s']:.0f} s; leaders among the replicas: {row['leaders']}; "
            f"DMs sent by each: {' / '.join(map(str, row['sent_by']))})",
            flush=True,
        )


if __name__ == "__main__":
    main()

"""Tap handling: throughput and acknowledgement latency with many people tapping at once.

The same signed `block_actions` requests go to alignbot and to a bare Bolt app that only
acknowledges, both served by the same HTTP server (waitress, 16 threads), so the difference
is what alignbot adds before `ack()` and what its work after `ack()` costs the server.

    .venv/bin/python -m bench.tap_latency [--taps 2000] [--concurrency 50] [--postgres SERVER_URL]
"""

from __future__ import annotations

import argparse
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App

from bench.common import FIRST_ROUND, SIGNING_SECRET, START, bench_database, machine, percentile, start_bot
from bot.domain.clock import ManualClock
from bot.runtime.background import TrackedExecutor
from bot.runtime.server import create_http_server
from bot.sandbox.driver import SlackDriver
from bot.sandbox.server import SlackSandbox
from bot.sandbox.workspace import generated_workspace

PEOPLE = 200


def tap_payloads(driver: SlackDriver, sandbox: SlackSandbox, taps: int) -> list[dict]:
    """`taps` presses of rating buttons spread over everyone's pulse DM (some people change their mind)."""
    messages = [m for user in sandbox.workspace.users for m in sandbox.dms_to(user.id) if m.metadata]
    payloads = []
    for number in range(taps):
        message = messages[number % len(messages)]
        rows = [b for b in message.blocks if b.get("block_id", "").startswith("item:")]
        row = rows[(number // len(messages)) % len(rows)]
        button = row["elements"][number % 5]
        payloads.append(
            driver.button_payload(
                "U" + message.channel[1:],
                button["action_id"],
                button["value"],
                row["block_id"],
                message={"ts": message.ts, "channel": message.channel, "blocks": message.blocks},
            )
        )
    return payloads


def hammer(driver: SlackDriver, payloads: list[dict], concurrency: int) -> tuple[float, list[float]]:
    """Send every payload, `concurrency` at a time; the wall time and each request's latency."""

    def send(payload: dict) -> float:
        started = time.perf_counter()
        response = driver.interaction(payload)
        assert response.status == 200, response.body
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        latencies = list(pool.map(send, payloads))
    return time.perf_counter() - started, latencies


def bare_bolt_app(token: str, api_url: str) -> App:
    from slack_sdk import WebClient

    app = App(
        client=WebClient(token=token, base_url=api_url),
        signing_secret=SIGNING_SECRET,
        token_verification_enabled=False,
        listener_executor=TrackedExecutor(),
    )
    app.action(re.compile(".*"))(lambda ack: ack())
    return app


def run(taps: int, concurrency: int, postgres: str | None) -> list[dict]:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("slack_bolt").setLevel(logging.ERROR)
    results = []
    with bench_database(postgres) as url, SlackSandbox(generated_workspace(PEOPLE)) as sandbox:
        clock = ManualClock(START)
        runtime = start_bot(sandbox, url, clock).start()
        clock.set(FIRST_ROUND)
        runtime.runner.run_due()
        driver = SlackDriver(runtime.url, SIGNING_SECRET, sandbox)
        payloads = tap_payloads(driver, sandbox, taps)
        wall, latencies = hammer(driver, payloads, concurrency)
        runtime.wait_idle(timeout=600)
        processed = time.perf_counter()
        results.append(summary("alignbot", runtime.database.backend, wall, latencies))
        results[-1]["processed_per_s"] = taps / (wall + (time.perf_counter() - processed))
        bare = bare_bolt_app(sandbox.workspace.bot_token, sandbox.api_url)
        server = create_http_server(
            bare, SIGNING_SECRET, runtime.database, runtime.metrics, runtime.readiness, port=0
        )
        import threading

        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        bare_driver = SlackDriver(f"http://127.0.0.1:{server.effective_port}", SIGNING_SECRET, sandbox)
        wall, latencies = hammer(bare_driver, tap_payloads(bare_driver, sandbox, taps), concurrency)
        results.append(summary("bare Bolt (ack only)", "—", wall, latencies))
        server.trigger.pull_trigger(server.close)
        runtime.stop()
    return results


def summary(name: str, store: str, wall: float, latencies: list[float]) -> dict:
    return {
        "app": name,
        "store": store,
        "taps": len(latencies),
        "acked_per_s": len(latencies) / wall,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--taps", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--postgres", help="a PostgreSQL server URL: use a scratch database there, not SQLite"
    )
    arguments = parser.parse_args()
    print(f"machine: {machine()}; {arguments.concurrency} concurrent clients")
    print("| app | store | taps | acknowledged/s | p50 ack (ms) | p99 ack (ms) | fully processed/s |")
    print("|---|---|---|---|---|---|---|")
    for row in run(arguments.taps, arguments.concurrency, arguments.postgres):
        processed = f"{row['processed_per_s']:.0f}" if "processed_per_s" in row else "—"
        print(
            f"| {row['app']} | {row['store']} | {row['taps']} | {row['acked_per_s']:.0f} "
            f"| {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {processed} |"
        )


if __name__ == "__main__":
    main()

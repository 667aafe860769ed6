"""Tap handling at Slack's latency: alignbot against a floor Bolt app, open loop and closed loop.

Slack's side (the sandbox, with `--rtt-ms` on every Web API call and every `response_url` post, and
the people tapping) runs in a process of its own, so it does not share the bot's interpreter. The
same signed `block_actions` requests (rating taps on 200 people's pulse DMs) go to alignbot and to a
floor app: a plain slack_bolt `App` behind Bolt's own WSGI adapter, on the same kind of server as
alignbot's HTTP edge (waitress, the same limits; 16 threads to alignbot's 4, as the floor's request
threads wait for its listeners' `ack()`: with 4 it processed fewer taps) and with as many listener threads,
whose listener acknowledges and posts to the tap's `response_url` the same message (the pulse DM,
replacing the original) with Bolt's own `respond()`, touching no database.

- open loop (`--rate R --seconds S`): a tap every 1/R s whatever the answers;
- closed loop (`--concurrency N`, `--taps T`): N people, each tapping again once acknowledged.

Measured: the acknowledgement latency, and processed taps a second: `response_url` posts Slack
recorded, over the time from the first tap to the last post; also the time from a tap to its post,
and the CPU per tap: this process's CPU time (every thread) over a load, divided by its taps. Both
apps run in this process, one at a time, and Slack's side in the other, so each is its own work.

    .venv/bin/python -m bench.tap_latency [--rtt-ms 100] [--rate 50 --seconds 60]
        [--concurrency 50 --taps 3000] [--loops open closed] [--postgres SERVER_URL]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection

from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bench.common import FIRST_ROUND, SIGNING_SECRET, START, bench_database, machine, percentile, set_up
from bot.domain.clock import ManualClock
from bot.runtime.background import TrackedExecutor
from bot.runtime.process import BotRuntime, set_start_up_aside
from bot.runtime.server import waitress_server
from bot.runtime.settings import Settings
from bot.sandbox.driver import SlackDriver
from bot.sandbox.server import SlackSandbox, keep_full_collections_short
from bot.sandbox.workspace import generated_workspace

PEOPLE = 200
#: The floor's request threads (see the module's docstring).
FLOOR_REQUEST_THREADS = 16
#: How long to wait, after the last tap, for the last `response_url` post.
DRAIN_SECONDS = 300.0


# ----- Slack's side, in a process of its own ------------------------------------------------------


def slack_side(pipe: Connection) -> None:
    """The sandbox and the people tapping; commands come over `pipe` (see `SlackSide`)."""
    logging.basicConfig(level=logging.WARNING)
    sandbox = SlackSandbox(generated_workspace(PEOPLE)).start()
    keep_full_collections_short()  # its pauses would count as the bot's latency
    pipe.send({"api_url": sandbox.api_url, "bot_token": sandbox.workspace.bot_token})
    while True:
        command, *arguments = pipe.recv()
        if command == "stop":
            break
        if command == "rtt":
            sandbox.set_round_trip(arguments[0])
            pipe.send(None)
        elif command == "load":
            pipe.send(_load(sandbox, *arguments))
        elif command == "payloads":
            pipe.send(tap_payloads(SlackDriver("", SIGNING_SECRET, sandbox), sandbox, arguments[0]))
    sandbox.stop()


def _load(sandbox: SlackSandbox, bot_url: str, loop: str, rate: float, taps: int, concurrency: int) -> dict:
    driver = SlackDriver(bot_url, SIGNING_SECRET, sandbox)
    payloads = tap_payloads(driver, sandbox, taps)
    tokens = {payload["response_url"].rsplit("/", 1)[-1]: n for n, payload in enumerate(payloads)}
    sent_at = [0.0] * taps
    latencies = [0.0] * taps
    refused = [0]

    def send(number: int) -> None:
        sent_at[number] = time.time()
        started = time.perf_counter()
        response = driver.interaction(payloads[number])
        latencies[number] = time.perf_counter() - started
        if response.status != 200:
            refused[0] += 1

    started = time.time()
    if loop == "open":
        with ThreadPoolExecutor(max_workers=512) as pool:
            for number in range(taps):
                time.sleep(max(0.0, started + number / rate - time.time()))
                pool.submit(send, number)
    else:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(send, range(taps)))
    sending_ended = time.time()
    posted: dict[int, float] = {}
    statuses: dict[int, int | None] = {}
    while len(posted) < taps and time.time() < sending_ended + DRAIN_SECONDS:
        time.sleep(0.2)
        for post in list(sandbox.response_url_posts):
            number = tokens.get(post.token)
            if number is not None and number not in posted:
                posted[number], statuses[number] = post.received_at, post.http_status
    sandbox.clear()
    processing = [posted[n] - sent_at[n] for n in posted]
    return {
        "taps": taps,
        "refused": refused[0],
        "sending_s": sending_ended - started,
        "latencies": latencies,
        "processed": len(posted),
        "failed_posts": sum(1 for status in statuses.values() if status != 200),
        "processed_span_s": (max(posted.values()) - started) if posted else float("nan"),
        "processing": processing,
    }


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
    """Send every payload, `concurrency` at a time; the wall time and each request's latency (a closed
    loop, in the caller's process: `bench.many_workspaces` taps its replicas so)."""

    def send(payload: dict) -> float:
        started = time.perf_counter()
        response = driver.interaction(payload)
        assert response.status == 200, response.body
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        latencies = list(pool.map(send, payloads))
    return time.perf_counter() - started, latencies


class SlackSide:
    """The handle on Slack's process."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, theirs = context.Pipe()
        self._process = context.Process(target=slack_side, args=(theirs,), daemon=True)
        self._process.start()
        self.info = self._pipe.recv()

    def set_round_trip(self, rtt_ms: float) -> None:
        self._pipe.send(("rtt", rtt_ms))
        self._pipe.recv()

    def load(self, bot_url: str, loop: str, rate: float, taps: int, concurrency: int) -> dict:
        self._pipe.send(("load", bot_url, loop, rate, taps, concurrency))
        return self._pipe.recv()

    def payloads(self, taps: int) -> list[dict]:
        """`taps` rating taps' payloads, as `tap_payloads` makes them, for the bot's side to send."""
        self._pipe.send(("payloads", taps))
        return self._pipe.recv()

    def stop(self) -> None:
        self._pipe.send(("stop",))
        self._process.join(timeout=10)


# ----- the bot's side -----------------------------------------------------------------------------


def alignbot_runtime(slack: SlackSide, url: str) -> BotRuntime:
    """alignbot on `url`, talking to `slack`, set up as an admin would, with the first round sent."""
    settings = Settings(
        _env_file=None,
        slack_bot_token=slack.info["bot_token"],
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.info["api_url"],
        database_url=url,
        log_level="WARNING",
    )
    clock = ManualClock(START)
    runtime = BotRuntime(settings, clock=clock, scheduler=False)
    set_up(runtime.services, generated_workspace(PEOPLE))
    runtime.start()
    clock.set(FIRST_ROUND)
    runtime.runner.run_due()
    set_start_up_aside()  # as `serve` does once started
    return runtime


def floor_app(token: str, api_url: str, threads: int) -> App:
    """Bolt at its cheapest doing what alignbot does for a tap, as far as Slack can tell: acknowledge,
    then post the pulse DM back to the `response_url`, replacing the original."""
    app = App(
        client=WebClient(token=token, base_url=api_url),
        signing_secret=SIGNING_SECRET,
        token_verification_enabled=False,
        listener_executor=TrackedExecutor(threads),
    )

    def tap(ack: Ack, body: dict, respond: Respond) -> None:
        ack()
        message = body["message"]
        respond(replace_original=True, text=message.get("text") or "", blocks=message["blocks"])

    app.action(re.compile(".*"))(tap)
    return app


def run(
    rtt_ms: float,
    loops: list[str],
    rate: float,
    seconds: float,
    concurrency: int,
    taps: int,
    postgres: str | None,
) -> list[dict]:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("slack_bolt").setLevel(logging.ERROR)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # a queue is what a closed loop makes
    slack = SlackSide()
    results = []
    try:
        with bench_database(postgres) as url:
            runtime = alignbot_runtime(slack, url)
            threads = runtime.settings.listener_threads
            floor = floor_app(slack.info["bot_token"], slack.info["api_url"], threads)
            server = waitress_server(SlackRequestHandler(floor), "127.0.0.1", 0, FLOOR_REQUEST_THREADS)
            threading.Thread(target=server.run, daemon=True).start()
            floor_url = f"http://127.0.0.1:{server.effective_port}"
            slack.set_round_trip(rtt_ms)
            for loop in loops:
                count = int(rate * seconds) if loop == "open" else taps
                for name, bot_url in (("floor Bolt app", floor_url), ("alignbot", runtime.url)):
                    cpu = time.process_time()
                    measured = slack.load(bot_url, loop, rate, count, concurrency)
                    measured["cpu_s"] = time.process_time() - cpu
                    store = runtime.database.backend if name == "alignbot" else "—"
                    results.append(summary(name, store, loop, measured))
            server.trigger.pull_trigger(server.close)
            runtime.stop()
    finally:
        slack.stop()
    return results


def summary(name: str, store: str, loop: str, measured: dict) -> dict:
    latencies, processing = measured["latencies"], measured["processing"] or [float("nan")]
    return {
        "app": name,
        "store": store,
        "loop": loop,
        "taps": measured["taps"],
        "refused": measured["refused"] + measured["failed_posts"] + measured["taps"] - measured["processed"],
        "acked_per_s": measured["taps"] / measured["sending_s"],
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "processed_per_s": measured["processed"] / measured["processed_span_s"],
        "processing_p50_ms": percentile(processing, 0.50) * 1000,
        "processing_p99_ms": percentile(processing, 0.99) * 1000,
        "cpu_ms_per_tap": measured["cpu_s"] * 1000 / measured["taps"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rtt-ms", type=float, default=100, help="Slack's round trip, every call and post")
    parser.add_argument("--rate", type=float, default=50, help="open loop: taps a second")
    parser.add_argument("--seconds", type=float, default=60, help="open loop: for how long")
    parser.add_argument("--concurrency", type=int, default=50, help="closed loop: people tapping at once")
    parser.add_argument("--taps", type=int, default=3000, help="closed loop: taps in all")
    parser.add_argument("--loops", nargs="+", choices=("open", "closed"), default=["open", "closed"])
    parser.add_argument(
        "--postgres", help="a PostgreSQL server URL: use a scratch database there, not SQLite"
    )
    arguments = parser.parse_args()
    print(
        f"machine: {machine()}; round trip {arguments.rtt_ms:g} ms; open loop {arguments.rate:g} taps/s "
        f"for {arguments.seconds:g} s; closed loop {arguments.concurrency} people, {arguments.taps} taps"
    )
    print(
        "| loop | app | store | taps | lost | acked/s | p50 ack (ms) | p99 ack (ms) | processed/s "
        "| tap→post p50 (ms) | tap→post p99 (ms) | CPU per tap (ms) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = run(
        arguments.rtt_ms,
        arguments.loops,
        arguments.rate,
        arguments.seconds,
        arguments.concurrency,
        arguments.taps,
        arguments.postgres,
    )
    for row in rows:
        print(
            f"| {row['loop']} | {row['app']} | {row['store']} | {row['taps']} | {row['refused']} "
            f"| {row['acked_per_s']:.0f} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} "
            f"| {row['processed_per_s']:.1f} | {row['processing_p50_ms']:.0f} "
            f"| {row['processing_p99_ms']:.0f} | {row['cpu_ms_per_tap']:.1f} |"
        )
    for floor, bot in zip(rows[::2], rows[1::2], strict=True):
        ack, processed = bot["p99_ms"] / floor["p99_ms"], bot["processed_per_s"] / floor["processed_per_s"]
        print(
            f"{bot['loop']} loop, {bot['store']}: alignbot/floor ack p99 {ack:.2f}× "
            f"(target ≤ 1.25×), processed/s {processed:.2f}× "
            f"(target ≥ 0.8×), CPU per tap {bot['cpu_ms_per_tap'] / floor['cpu_ms_per_tap']:.2f}×"
        )


if __name__ == "__main__":
    main()

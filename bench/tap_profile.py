"""CPU per tap, and where it goes: N rating taps through alignbot's own HTTP entry point, one at a time.

The same signed `block_actions` requests as `bench.tap_latency` (Slack's side in a process of its own,
here with no round trip) are handed to the WSGI application the bot serves, in this thread, with the
listener run in this thread too (instead of Bolt's listener pool), so one cProfile sees a tap's whole
path: the door, Bolt, the middleware, the listener, the database, the rendering. The process CPU
per tap (every thread: the pooled `respond()` posts too) is measured over the same taps, without
the profiler.

    .venv/bin/python -m bench.tap_profile [--taps 1000] [--postgres SERVER_URL] [--top 40]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import time
from concurrent.futures import Executor, Future
from urllib.parse import urlencode

from bench.common import SIGNING_SECRET, bench_database, machine
from bench.tap_latency import SlackSide, alignbot_runtime
from bot.runtime.server import wsgi_app
from bot.sandbox.driver import sign


class InThisThread(Executor):
    """Bolt's listener pool replaced by the calling thread, so the profiler sees the listener."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def request_for(payload: dict) -> tuple[bytes, str, str]:
    """A tap's signed form body, made before the taps are measured: encoding and signing are Slack's work."""
    body = urlencode({"payload": json.dumps(payload)}).encode()
    timestamp = str(int(time.time()))
    return body, timestamp, sign(SIGNING_SECRET, int(timestamp), body)


def environ_for(request: tuple[bytes, str, str]) -> dict:
    body, timestamp, signature = request
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": timestamp,
        "HTTP_X_SLACK_SIGNATURE": signature,
        "wsgi.input": io.BytesIO(body),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--taps", type=int, default=1000, help="taps measured (after 100 to warm up)")
    parser.add_argument("--postgres", help="a PostgreSQL server URL: use a scratch database there")
    parser.add_argument("--top", type=int, default=40, help="functions listed, by their own time")
    arguments = parser.parse_args()
    slack = SlackSide()
    try:
        with bench_database(arguments.postgres) as url:
            runtime = alignbot_runtime(slack, url)
            runtime.app.listener_runner.listener_executor = InThisThread()
            application = wsgi_app(
                runtime.app, SIGNING_SECRET, runtime.database, runtime.metrics, runtime.readiness
            )
            requests = [request_for(payload) for payload in slack.payloads(100 + 2 * arguments.taps)]
            statuses: list[str] = []

            def tap(request: tuple[bytes, str, str]) -> None:
                b"".join(application(environ_for(request), lambda status, _headers: statuses.append(status)))

            for request in requests[:100]:
                tap(request)
            runtime.wait_idle()
            measured, profiled = requests[100 : 100 + arguments.taps], requests[100 + arguments.taps :]
            cpu = time.process_time()
            for request in measured:
                tap(request)
            runtime.wait_idle()
            cpu_ms = (time.process_time() - cpu) * 1000 / len(measured)
            profile = cProfile.Profile(time.thread_time)  # this thread's CPU, not the wall clock
            profile.enable()
            for request in profiled:
                tap(request)
            profile.disable()
            runtime.wait_idle()
            store = runtime.database.backend
            runtime.stop()
    finally:
        slack.stop()
    refused = sum(1 for status in statuses if not status.startswith("200"))
    print(f"machine: {machine()}; {store}; {len(measured)} taps; {refused} not answered 200")
    print(f"process CPU per tap: {cpu_ms:.2f} ms")
    output = io.StringIO()
    stats = pstats.Stats(profile, stream=output)
    stats.sort_stats("tottime").print_stats(arguments.top)
    stats.sort_stats("cumulative").print_stats(arguments.top)
    print(output.getvalue())


if __name__ == "__main__":
    main()

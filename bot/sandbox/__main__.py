"""`python -m bot.sandbox`: the Slack sandbox as a process of its own, so a benchmark's bot does not
share an interpreter with it.

    python -m bot.sandbox [--port 0] [--rtt-ms 100] [--workspaces 20 --members 200]
        [--rate-limits] [--workspace-cap 300] [--distributed-app] [--control]

It prints one JSON line (where it listens, each workspace's team id and bot token, the app's OAuth
client id and secret) and serves until interrupted (SIGINT or SIGTERM).

With `--control`, whoever started it drives it over its standard input instead: one JSON object a
line, `{"do": NAME, "args": [...]}` with NAME one of `CONTROL` (approve an install, turn the limits
on, set the round trip, forget the calls, read what was posted ...), answered with one JSON line
`{"result": ...}` (or `{"error": ...}`) on standard output; it stops when its input ends.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from bot.sandbox.server import SlackSandbox, keep_full_collections_short
from bot.sandbox.workspace import default_workspace, generated_workspace


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot.sandbox",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    parser.add_argument("--rtt-ms", type=float, default=0, help="the round trip of every request")
    parser.add_argument("--workspaces", type=int, default=0, help="generated workspaces (0: the Acme one)")
    parser.add_argument("--members", type=int, default=200, help="people in each generated workspace")
    parser.add_argument("--rate-limits", action="store_true", help="Slack's tiers and per-channel limit")
    parser.add_argument("--workspace-cap", type=int, help="chat.postMessage a minute per workspace")
    parser.add_argument(
        "--distributed-app", action="store_true", help="conversations.history at 1 a minute, 15 messages"
    )
    parser.add_argument("--control", action="store_true", help="driven over stdin (see above)")
    return parser


def _posts(sandbox: SlackSandbox, kind: str) -> list[list[Any]]:
    """Every chat.postMessage Slack accepted carrying `kind` in its metadata: when it came (sandbox
    clock), where it went (the channel asked for) and the key it carried."""
    found = []
    for call in sandbox.calls_to("chat.postMessage"):
        metadata = call.params.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        key = ((metadata or {}).get("event_payload") or {}).get(kind)
        if call.http_status == 200 and (call.response or {}).get("ok") and key is not None:
            found.append([call.received_at, call.params["channel"], key])
    return found


class _AcceptedPosts:
    """How many chat.postMessage calls Slack accepted, counted on from the last time asked: a benchmark
    asks twice a second, and counting from the first call each time would cost the sandbox CPU in
    proportion to everything sent so far (the calls are only appended, or all cleared)."""

    def __init__(self) -> None:
        self.seen = self.accepted = 0
        self.first: object = None

    def __call__(self, sandbox: SlackSandbox) -> int:
        calls = sandbox.calls
        if len(calls) < self.seen or (calls and calls[0] is not self.first):  # cleared since
            self.seen = self.accepted = 0
            self.first = calls[0] if calls else None
        new, self.seen = calls[self.seen :], len(calls)
        self.accepted += sum(
            call.method == "chat.postMessage"
            and call.http_status == 200
            and bool((call.response or {}).get("ok"))
            for call in new
        )
        return self.accepted


def _first_call(sandbox: SlackSandbox, besides: str) -> float | None:
    """When the first recorded call of any method but `besides` came (sandbox clock)."""
    return min((call.received_at for call in sandbox.calls if call.method != besides), default=None)


def _dms_with_metadata(sandbox: SlackSandbox) -> dict[str, list[dict[str, Any]]]:
    """Each workspace's DMs that carry message metadata (the bot's pulses): channel, ts and blocks."""
    return {
        team: [
            {"channel": m.channel, "ts": m.ts, "blocks": m.blocks}
            for user in workspace.users
            for m in sandbox.dms_to(user.id)
            if m.metadata
        ]
        for team, workspace in sandbox.workspaces.items()
    }


CONTROL: dict[str, Callable[..., Any]] = {
    "approve_install": SlackSandbox.approve_install,
    "issue_response_url": SlackSandbox.issue_response_url,
    "issue_trigger_id": SlackSandbox.issue_trigger_id,
    "enable_rate_limits": SlackSandbox.enable_rate_limits,
    "set_round_trip": SlackSandbox.set_round_trip,
    "clear": SlackSandbox.clear,
    "rate_limited_calls": lambda sandbox: sandbox.rate_limited_calls,
    "response_url_posts": lambda sandbox: len(sandbox.response_url_posts),
    "posts": _posts,
    "accepted_posts": _AcceptedPosts(),
    "first_call": _first_call,
    "dms_with_metadata": _dms_with_metadata,
}
"""What `--control` lets the driving process do, each called with the sandbox and the line's args."""


def serve_control(sandbox: SlackSandbox, commands: TextIO, answers: TextIO) -> None:
    """Answer each command line (see the module docstring) until the input ends."""
    for line in commands:
        if not line.strip():
            continue
        try:
            command = json.loads(line)
            answer = {"result": CONTROL[command["do"]](sandbox, *command.get("args", []))}
        except Exception as error:  # the driver hears what went wrong; the sandbox keeps serving
            answer = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), file=answers, flush=True)


def sandbox_from(arguments: argparse.Namespace) -> SlackSandbox:
    """The sandbox the command line describes, not yet started."""
    if arguments.workspaces:
        teams = [
            generated_workspace(arguments.members, f"T0BENCH{n:03d}") for n in range(arguments.workspaces)
        ]
    else:
        teams = [default_workspace()]
    sandbox = SlackSandbox(teams[0], rtt_ms=arguments.rtt_ms)
    for team in teams[1:]:
        sandbox.add_workspace(team)
    if arguments.rate_limits or arguments.workspace_cap or arguments.distributed_app:
        sandbox.enable_rate_limits(
            workspace_cap=arguments.workspace_cap, distributed_app=arguments.distributed_app
        )
    return sandbox


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    sandbox = sandbox_from(arguments).start(arguments.host, arguments.port)
    keep_full_collections_short()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    listening = {
        "base_url": sandbox.base_url,
        "api_url": sandbox.api_url,
        "client_id": sandbox.oauth.client_id,
        "client_secret": sandbox.oauth.client_secret,
        "workspaces": {team: ws.bot_token for team, ws in sandbox.workspaces.items()},
    }
    print(json.dumps(listening), flush=True)
    if arguments.control:
        serve_control(sandbox, sys.stdin, sys.stdout)
    else:
        stop.wait()
    sandbox.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

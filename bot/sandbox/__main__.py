"""`python -m bot.sandbox`: the Slack sandbox as a process of its own, so a benchmark's bot does not
share an interpreter with it.

    python -m bot.sandbox [--port 0] [--rtt-ms 100] [--workspaces 20 --members 200]
        [--rate-limits] [--workspace-cap 300] [--distributed-app]

It prints one JSON line (where it listens, each workspace's team id and bot token, the app's OAuth
client id and secret) and serves until interrupted (SIGINT or SIGTERM).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from collections.abc import Sequence

from bot.sandbox.server import SlackSandbox
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
    return parser


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
    stop.wait()
    sandbox.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

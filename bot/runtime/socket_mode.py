"""Socket Mode's client: which one, configured how, and measured like HTTP mode's requests.

slack-sdk has several Socket Mode clients. Its default (`builtin`, what
`slack_bolt.adapter.socket_mode.SocketModeHandler` uses) acked an envelope 3.06 s after a
`refresh_requested` reconnect (Slack allows 3 s) and noticed a connection dropped without a close
frame only after five failed health checks, 51 s. The client built on `websocket-client` reads each
connection on a thread of its own: it opens the next connection as soon as Slack asks, acks on it at
once, and sees a dropped socket the moment it reads end-of-file, reconnecting at once (tested in
tests/test_socket_mode.py).
"""

from __future__ import annotations

import time

from slack_bolt import App
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.websocket_client import SocketModeClient

from bot.runtime.metrics import Metrics

#: How often the client pings Slack, and checks that its connection is still there (reconnecting if
#: not): a connection lost without notice is replaced within this, well inside Slack's 5 s.
PING_INTERVAL_SECONDS = 3.0
#: Envelopes handled at once (each until its ack; the listener's work goes on the bot's executor).
CONCURRENCY = 10


class MeasuredSocketModeHandler(SocketModeHandler):
    """Bolt's websocket-client handler, counting each request and its ack latency in the metrics, as
    HTTP mode does (`alignbot_slack_requests_total`, `alignbot_slack_ack_seconds`)."""

    def __init__(self, app: App, app_token: str, metrics: Metrics) -> None:
        super().__init__(app, app_token, ping_interval=PING_INTERVAL_SECONDS, concurrency=CONCURRENCY)
        self.metrics = metrics

    def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        started = time.perf_counter()
        response = run_bolt_app(self.app, req)
        send_response(client, req, response, started)
        self.metrics.observe_request(request_kind(req), response.status, time.perf_counter() - started)


def request_kind(req: SocketModeRequest) -> str:
    """The same kinds HTTP mode counts: a slash command, an interaction's type, an Events API type."""
    if req.type == "slash_commands":
        return "slash_command"
    return str(req.payload.get("type"))

"""Socket Mode's client: which one, configured how, and measured like HTTP mode's requests.

slack-sdk has several Socket Mode clients. Its default (`builtin`, what
`slack_bolt.adapter.socket_mode.SocketModeHandler` uses) acked an envelope 3.06 s after a
`refresh_requested` reconnect (Slack allows 3 s) and noticed a connection dropped without a close
frame only after five failed health checks, 51 s. The client built on `websocket-client` reads each
connection on a thread of its own: it opens the next connection as soon as Slack asks and acks on it
at once, and sees a dropped socket the moment it reads end-of-file, reconnecting at once. Here it also
waits for each ping's pong, so a connection that dies silently (no end-of-file, as when a network path
is lost) is given up and replaced within `PING_INTERVAL_SECONDS + PONG_TIMEOUT_SECONDS`; the timeout
also bounds how long closing takes. tests/test_socket_mode.py holds these deadlines.
"""

from __future__ import annotations

import contextlib
import socket
import time
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode.base_handler import BaseSocketModeHandler
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.websocket_client import SocketModeClient
from websocket import WebSocketApp

from bot.runtime.metrics import Metrics

#: How often the client pings Slack, and checks that it still has a connection (reconnecting if not).
PING_INTERVAL_SECONDS = 3.0
#: A ping unanswered this long means the connection is gone: it is closed and replaced.
PONG_TIMEOUT_SECONDS = 2.0
#: Envelopes handled at once (each until its ack; the listener's work goes on the bot's executor).
CONCURRENCY = 10


class HealthCheckedClient(SocketModeClient):
    """slack-sdk's websocket-client client, reading each connection with a pong timeout (slack-sdk
    passes none, so a silently dead connection was read forever, and closing could wait on a read),
    and opening one new connection per reconnect, not two."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._reading: WebSocketApp | None = None  # the connection being read, set before the reader starts
        super().__init__(*args, **kwargs)

    def connect_to_new_endpoint(self, force: bool = False) -> None:
        """Slack-sdk also calls this when the connection being replaced closes, or finds the one just
        opened not reading yet (it starts within half a second): that is no reason for another."""
        if not force and self.current_session is not None and self.current_session is not self._reading:
            return
        super().connect_to_new_endpoint(force)

    def connect(self) -> None:
        """Open a new connection (Slack's URL is already issued) in place of the one being read."""
        self._stop_reading()
        super().connect()

    def disconnect(self) -> None:
        self._stop_reading()
        super().disconnect()

    def _stop_reading(self) -> None:
        """End the reading of the current connection at once. websocket-client closes a connection from
        another thread than its reader's, and the reader could miss it and wait out its timeout before
        the next connection may start; with the socket shut for reading it sees end-of-file at once,
        while the close frame still goes out."""
        websocket = self._reading.sock if self._reading is not None else None
        if websocket is not None and websocket.sock is not None:
            with contextlib.suppress(OSError):
                websocket.sock.shutdown(socket.SHUT_RD)

    def _run_current_session(self) -> None:
        session = self._reading = self.current_session
        if session is None:
            return
        try:
            session.run_forever(
                ping_interval=self.ping_interval,
                ping_timeout=PONG_TIMEOUT_SECONDS,
                http_proxy_host=self.http_proxy_host,
                http_proxy_port=self.http_proxy_port,
                http_proxy_auth=self.http_proxy_auth,
                proxy_type=self.proxy_type,
            )
        except Exception as error:  # the connection failed: closing it lets the monitor reconnect
            self.logger.warning("Socket Mode connection failed: %s", error)
            session.close()


class MeasuredSocketModeHandler(BaseSocketModeHandler):
    """Bolt's Socket Mode adapter on `HealthCheckedClient`, counting each request and its ack latency
    in the metrics as HTTP mode does (`alignbot_slack_requests_total`, `alignbot_slack_ack_seconds`)."""

    def __init__(self, app: App, app_token: str, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.client = HealthCheckedClient(
            app_token=app_token,
            logger=app.logger,
            web_client=app.client,
            ping_interval=PING_INTERVAL_SECONDS,
            concurrency=CONCURRENCY,
        )
        self.client.socket_mode_request_listeners.append(self.handle)

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

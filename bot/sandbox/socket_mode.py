"""The sandbox's Socket Mode: Slack's side of the WebSocket an app opens with its app-level token.

`apps.connections.open` (answered through the sandbox's Web API) hands out a one-use `ws://` URL with
a ticket; the app connects there and gets `hello`. Requests then travel as envelopes (`events_api`,
`interactive`, `slash_commands`), each with an `envelope_id` the app acks on the same socket, with a
payload where the request takes one (a slash command's reply, a view submission's `response_action`).
Like Slack, the sandbox spreads envelopes over the app's open connections (up to 10), retries an
Events API envelope that is not acked within 3 s (`retry_attempt`, `retry_reason`), asks a connection
to go (`disconnect` with `refresh_requested`, `warning` or `link_disabled`), and can drop one without
a close frame, as a network failure does. Every connection, envelope and ack is recorded with the
(real, monotonic) time it happened, so tests can hold the protocol's deadlines.

The server is the `websockets` library's threaded one: one thread per connection.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from bot.sandbox.state import SlackState
from bot.sandbox.workspace import SandboxWorkspace

CONNECTIONS_OPEN = "apps.connections.open"
#: Slack waits this long for an ack before it retries an Events API envelope (or shows an error).
ACK_DEADLINE_SECONDS = 3.0
#: An event is retried up to three times, as over HTTP.
MAX_EVENT_RETRIES = 3
#: Slack keeps at most this many connections per app open at once.
MAX_CONNECTIONS = 10
#: How long a delivery waits for the app to have a connection (as while it reconnects).
CONNECTION_WAIT_SECONDS = 10.0
#: After the closing handshake, how long the server waits for the client to end the TCP connection before
#: ending it itself (websockets' default, 10 s, would hold a closing client that long).
CLOSE_TIMEOUT_SECONDS = 1.0
ENVELOPE_TYPES = ("events_api", "interactive", "slash_commands")
DISCONNECT_REASONS = ("refresh_requested", "warning", "link_disabled")


@dataclass
class Ack:
    """What the app sent back for an envelope: its id, and the payload if it gave one."""

    envelope_id: str
    payload: dict[str, Any] | None
    received_at: float
    link_id: int


@dataclass
class Envelope:
    """One request sent to the app over a connection, and its ack once it came."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    retry_attempt: int
    retry_reason: str
    sent_at: float
    link_id: int
    ack: Ack | None = None

    def message(self) -> dict[str, Any]:
        """The envelope as Slack writes it on the socket."""
        message = {
            "envelope_id": self.envelope_id,
            "type": self.type,
            "payload": self.payload,
            "accepts_response_payload": self.accepts_response_payload,
        }
        if self.type == "events_api":
            message |= {"retry_attempt": self.retry_attempt, "retry_reason": self.retry_reason}
        return message

    @property
    def ack_seconds(self) -> float | None:
        return None if self.ack is None else self.ack.received_at - self.sent_at


@dataclass
class Link:
    """One WebSocket connection of the app, from the handshake to its end."""

    id: int
    team_id: str
    opened_at: float
    connection: ServerConnection = field(repr=False)
    closed_at: float | None = None
    ended: str | None = None
    """How it ended: "closed" (a close frame, either side) or "dropped" (no close frame)."""
    leaving: bool = False
    """Asked to go (a `disconnect` was sent): no new envelopes go to it."""

    @property
    def open(self) -> bool:
        return self.closed_at is None


class SocketModeError(Exception):
    """`apps.connections.open` refused; `error` is Slack's code."""

    def __init__(self, error: str):
        super().__init__(error)
        self.error = error


class SandboxSocketMode:
    """Serves the Socket Mode side on an ephemeral localhost port between `start` and `stop`."""

    def __init__(self, state: SlackState) -> None:
        self._state = state
        self._changed = threading.Condition()
        self._tickets: dict[str, str] = {}  # ticket -> team id, each usable once
        self._link_ids = itertools.count(1)
        self._envelope_ids = itertools.count(1)
        self._next_link = itertools.count()
        self.ack_deadline = ACK_DEADLINE_SECONDS
        self.links: list[Link] = []
        self.envelopes: list[Envelope] = []
        self.stray_acks: list[Ack] = []
        """Acks naming no envelope sent, or one already acked."""
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # ----- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        self._server = serve(
            self._serve_link,
            "127.0.0.1",
            0,
            process_request=self._check_ticket,
            close_timeout=CLOSE_TIMEOUT_SECONDS,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="slack-sandbox-socket-mode", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            for link in self.open_links():
                with contextlib.suppress(OSError):
                    link.connection.close()
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}"

    # ----- apps.connections.open -------------------------------------------------------------------

    def connections_open(self, token: str | None) -> dict[str, Any]:
        """Slack's answer to `apps.connections.open`: a one-use URL for an app-level token only."""
        if not token:
            raise SocketModeError("not_authed")
        workspace = self._workspace_of_app_token(token)
        if workspace is None:
            known = any(token == ws.bot_token for ws in self._state.workspaces.values())
            raise SocketModeError(
                "not_allowed_token_type" if known or not token.startswith("xapp-") else "invalid_auth"
            )
        ticket = secrets.token_hex(16)
        with self._changed:
            self._tickets[ticket] = workspace.team_id
        return {"ok": True, "url": f"{self.url}/link/?ticket={ticket}&app_id={workspace.app_id}"}

    def _workspace_of_app_token(self, token: str) -> SandboxWorkspace | None:
        return next((ws for ws in self._state.workspaces.values() if ws.app_token == token), None)

    # ----- connections (server threads) ------------------------------------------------------------

    def _check_ticket(self, connection: ServerConnection, request: Any) -> Any:
        """Refuse a handshake without a valid, unused ticket, as Slack's edge does."""
        ticket = parse_qs(urlsplit(request.path).query).get("ticket", [""])[0]
        with self._changed:
            team_id = self._tickets.pop(ticket, None)
            crowded = team_id is not None and len(self.open_links(team_id)) >= MAX_CONNECTIONS
        if team_id is None:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid or used ticket\n")
        if crowded:
            return connection.respond(HTTPStatus.TOO_MANY_REQUESTS, "too many connections\n")
        connection.team_id = team_id  # read by _serve_link
        return None

    def _serve_link(self, connection: ServerConnection) -> None:
        with self._changed:
            link = Link(next(self._link_ids), connection.team_id, time.monotonic(), connection)
            self.links.append(link)
            self._changed.notify_all()
        ended = "closed"
        try:
            connection.send(json.dumps(self._hello(link)))
            for message in connection:
                self._receive(link, message)
        except ConnectionClosed as closed:
            ended = "closed" if closed.rcvd is not None or closed.sent is not None else "dropped"
        finally:
            with self._changed:
                link.closed_at = time.monotonic()
                link.ended = link.ended or ended
                self._changed.notify_all()

    def _hello(self, link: Link) -> dict[str, Any]:
        workspace = self._state.workspaces[link.team_id]
        return {
            "type": "hello",
            "num_connections": len(self.open_links(link.team_id)),
            "debug_info": {"host": "sandbox-socket-mode", "approximate_connection_time": 18060},
            "connection_info": {"app_id": workspace.app_id},
        }

    def _receive(self, link: Link, message: str | bytes) -> None:
        """An ack: `{"envelope_id": …, "payload": {…}}`; anything else is ignored, as by Slack."""
        try:
            decoded = json.loads(message)
        except (ValueError, UnicodeDecodeError):
            return
        if not isinstance(decoded, dict) or "envelope_id" not in decoded:
            return
        payload = decoded.get("payload")
        ack = Ack(str(decoded["envelope_id"]), payload if isinstance(payload, dict) else None, 0.0, link.id)
        with self._changed:
            ack.received_at = time.monotonic()
            envelope = next((e for e in self.envelopes if e.envelope_id == ack.envelope_id), None)
            if envelope is None or envelope.ack is not None:
                self.stray_acks.append(ack)
            else:
                envelope.ack = ack
            self._changed.notify_all()

    # ----- what tests and the driver do ------------------------------------------------------------

    def open_links(self, team_id: str | None = None) -> list[Link]:
        with self._changed:
            return [link for link in self.links if link.open and team_id in (None, link.team_id)]

    def wait_for_links(self, count: int = 1, team_id: str | None = None, timeout: float = 10.0) -> list[Link]:
        """The open connections not asked to leave, once there are at least `count` of them."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._serving(team_id)) >= count, timeout)
            return self._serving(team_id)

    def _serving(self, team_id: str | None) -> list[Link]:
        return [link for link in self.open_links(team_id) if not link.leaving]

    def deliver(
        self,
        team_id: str,
        kind: str,
        payload: dict[str, Any],
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        link: Link | None = None,
    ) -> Envelope:
        """Send one envelope to one of the team's serving connections (in turn, as Slack spreads them);
        waits for a connection while there is none."""
        assert kind in ENVELOPE_TYPES, kind
        if link is None:
            serving = self.wait_for_links(1, team_id, CONNECTION_WAIT_SECONDS)
            assert serving, f"the app has no Socket Mode connection for {team_id}"
            link = serving[next(self._next_link) % len(serving)]
        envelope = Envelope(
            envelope_id=f"{next(self._envelope_ids):08x}-sandbox-{secrets.token_hex(4)}",
            type=kind,
            payload=payload,
            accepts_response_payload=kind != "events_api",
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
            sent_at=0.0,
            link_id=link.id,
        )
        with self._changed:
            envelope.sent_at = time.monotonic()
            self.envelopes.append(envelope)
        with contextlib.suppress(ConnectionClosed):  # lost with its connection: unacked, as on Slack
            link.connection.send(json.dumps(envelope.message()))
        return envelope

    def wait_for_ack(self, envelope: Envelope, timeout: float | None = None) -> Ack | None:
        with self._changed:
            self._changed.wait_for(lambda: envelope.ack is not None, timeout or self.ack_deadline)
            return envelope.ack

    def request(
        self, team_id: str, kind: str, payload: dict[str, Any], retry_attempt: int = 0, retry_reason: str = ""
    ) -> list[Envelope]:
        """Deliver a request as Slack does: an event not acked within the deadline is sent again (up to
        three retries, `retry_reason` "timeout"); an interaction or command is not. Every envelope sent."""
        sent = [self.deliver(team_id, kind, payload, retry_attempt=retry_attempt, retry_reason=retry_reason)]
        while (
            self.wait_for_ack(sent[-1]) is None
            and kind == "events_api"
            and sent[-1].retry_attempt < MAX_EVENT_RETRIES
        ):
            sent.append(
                self.deliver(
                    team_id, kind, payload, retry_attempt=sent[-1].retry_attempt + 1, retry_reason="timeout"
                )
            )
        return sent

    def disconnect(self, link: Link, reason: str) -> None:
        """Ask a connection to go: `refresh_requested` (Slack refreshes connections every few hours),
        `warning` (it will be closed soon) or `link_disabled` (Socket Mode was turned off; Slack closes
        it). No new envelopes go to it; the app opens another and closes this one."""
        assert reason in DISCONNECT_REASONS, reason
        with self._changed:
            link.leaving = True
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "sandbox-socket-mode"}}
        with contextlib.suppress(ConnectionClosed):
            link.connection.send(json.dumps(message))
            if reason == "link_disabled":
                link.connection.close()

    def drop(self, link: Link) -> None:
        """End a connection the way a network failure does: the socket closes, no close frame sent."""
        with self._changed:
            link.ended = "dropped"
            link.leaving = True
        with contextlib.suppress(OSError):
            link.connection.socket.shutdown(socket.SHUT_RDWR)
        link.connection.socket.close()

"""The sandbox's HTTP side: a localhost server that routes each request to the Web API, an upload URL
or a response_url, as Slack's edge would.

It works out which workspace a token acts in, answers the OAuth exchange, applies injected faults
and rate limits, and records every request in the state, whatever it answered. With a round trip
set (``rtt_ms``), every answer (Web API, upload URL, response_url) comes that much later, half on
the way in and half on the way out, as it would from Slack over the internet.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from bot.sandbox.blockkit import validate_payload
from bot.sandbox.faults import RESPONSE_URL_FAULT_NAME, Fault, FaultKind, Faults
from bot.sandbox.oauth import OAuthError, SandboxOAuth
from bot.sandbox.ratelimits import RateLimiter
from bot.sandbox.socket_mode import CONNECTIONS_OPEN, SandboxSocketMode, SocketModeError
from bot.sandbox.state import (
    RESPONSE_URL_MAX_USES,
    RESPONSE_URL_TTL_SECONDS,
    IssuedResponseUrl,
    RecordedCall,
    ResponseUrlPost,
    SandboxEphemeral,
    SlackState,
)
from bot.sandbox.webapi import METHODS, ApiError
from bot.sandbox.webapi.files import visible_to
from bot.sandbox.workspace import SandboxWorkspace

OAUTH_ACCESS = "oauth.v2.access"

_RATELIMITED = {"ok": False, "error": "ratelimited"}
_EDGE_ERROR_PAGE = b"<html><head><title>Server Error</title></head><body><h1>Server Error</h1></body></html>"


class Reply(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes


class SandboxHttp:
    """Serves the state on an ephemeral localhost port, in a daemon thread, between start and stop."""

    def __init__(
        self,
        state: SlackState,
        oauth: SandboxOAuth,
        faults: Faults,
        rate_limits: RateLimiter,
        socket_mode: SandboxSocketMode,
    ):
        self._state = state
        self._oauth = oauth
        self._socket_mode = socket_mode
        self._faults = faults
        self._rate_limits = rate_limits
        self.rtt_seconds = 0.0
        """The round trip every request takes (0: answered at once, as tests want)."""
        self._lock = state.lock
        self._stopping = threading.Event()
        self._server: _SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._stopping.clear()
        self._server = _SandboxHTTPServer((host, port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},  # how long stop() waits; the 0.5 s default slows every test
            name="slack-sandbox",
            daemon=True,
        )
        self._thread.start()
        self._state.base_url = self.base_url

    def stop(self) -> None:
        """Stop serving; requests held by a timeout fault are released and dropped."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None
        self._state.base_url = ""

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ----- routing (called from the server threads) -------------------------------------------------

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> Reply | None:
        """The reply to one request; None to drop the connection unanswered (a timeout fault)."""
        if self.rtt_seconds:
            time.sleep(self.rtt_seconds / 2)  # the request's way to Slack
        reply = self._route(path, headers, body)
        if self.rtt_seconds:
            time.sleep(self.rtt_seconds / 2)  # the answer's way back
        return reply

    def _route(self, path: str, headers: dict[str, str], body: bytes) -> Reply | None:
        url = urlsplit(path)
        kind, _, rest = url.path.strip("/").partition("/")
        if kind == "api" and rest:
            return self._handle_api(rest, url.query, headers, body)
        if kind == "upload" and rest:
            return self._handle_upload(rest, body)
        if kind == "files" and rest:
            return self._handle_download(rest.partition("/")[0], headers)
        if kind == "response" and rest:
            return self._handle_response_url(rest, body)
        return _text_reply(404, "not_found")

    # ----- the Web API ------------------------------------------------------------------------------

    def _handle_api(self, method: str, query: str, headers: dict[str, str], body: bytes) -> Reply | None:
        received_at = self._state.clock()
        params, parse_error = _parse_params(query, headers, body)
        with self._lock:
            caller = self._caller(params, headers)

        def record(
            response: dict[str, Any] | None, status: int | None, kind: FaultKind | None = None
        ) -> None:
            call = RecordedCall(
                method, params, body, headers, received_at, response, status, kind, _team(caller)
            )
            with self._lock:
                self._state.calls.append(call)

        fault = self._take_fault(method, params)
        if fault is not None and fault.kind == "lost_response":
            with self._lock:
                response, status, _headers = self._answer(method, params, headers, caller, parse_error)
                record(response, status, fault.kind)
            self._stopping.wait(fault.delay)
            return None
        if fault is not None:
            reply = _fault_reply(fault)
            response = {
                "rate_limited": dict(_RATELIMITED),
                "slack_error": {"ok": False, "error": fault.error},
            }.get(fault.kind)
            record(response, reply.status if reply else None, fault.kind)
            if fault.kind == "timeout":
                self._stopping.wait(fault.delay)
            return reply
        with self._lock:
            response, status, extra_headers = self._answer(method, params, headers, caller, parse_error)
            record(response, status)
        return _json_reply(response, status, extra_headers)

    def _caller(self, params: dict[str, Any], headers: dict[str, str]) -> SandboxWorkspace | str:
        """The workspace the call's token acts in, or Slack's error code for the token."""
        token = _bearer_token(headers) or params.get("token")
        if not token:
            return "not_authed"
        static = next((ws for ws in self._state.workspaces.values() if ws.bot_token == token), None)
        if static is not None:
            return static
        try:
            team_id = self._oauth.team_of(token)
        except OAuthError as error:
            return error.error
        return self._state.workspaces[team_id] if team_id else "invalid_auth"

    def _answer(
        self,
        method: str,
        params: dict[str, Any],
        headers: dict[str, str],
        caller: SandboxWorkspace | str,
        parse_error: str | None,
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        if method not in METHODS and method not in (OAUTH_ACCESS, CONNECTIONS_OPEN):
            return {"ok": False, "error": "unknown_method"}, 200, {}
        if parse_error:
            return {"ok": False, "error": parse_error}, 200, {}
        if method == CONNECTIONS_OPEN:  # an app-level token, not a bot token
            try:
                return (
                    self._socket_mode.connections_open(_bearer_token(headers) or params.get("token")),
                    200,
                    {},
                )
            except SocketModeError as error:
                return {"ok": False, "error": error.error}, 200, {}
        if method == OAUTH_ACCESS:  # the app's client credentials, not a token
            try:
                return self._oauth.access(params, headers, self._state.workspaces), 200, {}
            except OAuthError as error:
                return {"ok": False, "error": error.error}, 200, {}
        if isinstance(caller, str):
            return {"ok": False, "error": caller}, 200, {}
        limited = self._rate_limits.check(caller.team_id, method, params)
        if limited is not None:
            self._state.rate_limited_calls += 1
            retry_after = {"Retry-After": str(limited.retry_after)} if limited.retry_after else {}
            return {"ok": False, "error": limited.error}, limited.status, retry_after
        if method == "conversations.history":
            params = self._rate_limits.history_page(params)
        try:
            return METHODS[method](self._state, caller, params), 200, {}
        except ApiError as error:
            return error.response, 200, {}

    def _take_fault(self, method: str, params: dict[str, Any] | None = None) -> Fault | None:
        with self._lock:
            return self._faults.take(method, params)

    # ----- upload URLs and response URLs ------------------------------------------------------------

    def _handle_upload(self, file_id: str, body: bytes) -> Reply:
        with self._lock:
            file = self._state.files.get(file_id)
            if file is None:
                return _text_reply(404, "file_not_found")
            file.content = body
        return _text_reply(200, f"OK - {len(body)}")

    def _handle_download(self, file_id: str, headers: dict[str, str]) -> Reply:
        """A file's `url_private`: its bytes for a bot token of a workspace that may see it."""
        with self._lock:
            caller = self._caller({}, headers)
            file = self._state.files.get(file_id)
            if isinstance(caller, str) or file is None or not visible_to(caller, file):
                return _text_reply(404, "file_not_found")
            content = file.content or b""
        return Reply(200, {"Content-Type": "application/octet-stream"}, content)

    def _handle_response_url(self, token: str, raw: bytes) -> Reply | None:
        received_at = self._state.clock()
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = raw
        fault = self._take_fault(RESPONSE_URL_FAULT_NAME)
        with self._lock:
            url = self._state.response_urls.get(token)
            channel_id, user_id = (url.channel_id, url.user_id) if url else (None, None)
            post = ResponseUrlPost(token, channel_id, user_id, body, received_at, None, "")
            self._state.response_url_posts.append(post)
            reply = _fault_reply(fault) if fault else self._answer_response_url(url, body)
            post.fault = fault.kind if fault else None
            post.http_status = reply.status if reply else None
            post.answer = reply.body.decode() if reply else ""
        if fault is not None and fault.kind == "timeout":
            self._stopping.wait(fault.delay)
        return reply

    def _answer_response_url(self, url: IssuedResponseUrl | None, body: Any) -> Reply:
        state = self._state
        if url is None:
            return _text_reply(404, "no_service")
        if state.clock() - url.issued_at > RESPONSE_URL_TTL_SECONDS:
            return _text_reply(404, "expired_url")
        if url.uses >= RESPONSE_URL_MAX_USES:
            return _text_reply(404, "used_url")
        if not isinstance(body, dict):
            return _text_reply(400, "invalid_payload")
        if validate_payload("response_url", body):
            return _text_reply(400, "invalid_blocks")
        url.uses += 1
        text = body.get("text") or ""
        blocks, attachments = body.get("blocks"), body.get("attachments")
        original = _truthy(body.get("delete_original")) or _truthy(body.get("replace_original"))
        if original and self._change_original(url, body):
            return _text_reply(200, "ok")
        if body.get("response_type") == "in_channel":
            ws = state.workspace_of_user(url.user_id) or state.workspace
            state.store_message(
                url.channel_id, ws.bot_user_id, text, blocks, attachments, body.get("thread_ts"), ws.bot_id
            )
        else:
            state.ephemerals.append(
                SandboxEphemeral(url.channel_id, url.user_id, state.next_ts(), text, blocks, attachments)
            )
        return _text_reply(200, "ok")

    def _change_original(self, url: IssuedResponseUrl, body: dict[str, Any]) -> bool:
        """Replace or delete the message the response_url came from, as Slack does; False when there is
        none (a slash command's response_url, or a message since deleted)."""
        state = self._state
        if url.message_ts is None:
            return False
        messages = state.messages.get(url.channel_id, [])
        message = next((m for m in messages if m.ts == url.message_ts), None)
        ephemeral = next(
            (e for e in state.ephemerals if e.ts == url.message_ts and e.user == url.user_id), None
        )
        original = message or ephemeral
        if original is None:
            return False
        if _truthy(body.get("delete_original")):
            if message is not None:
                messages.remove(message)
            else:
                state.ephemerals.remove(ephemeral)
            return True
        original.text = body.get("text") or ""
        original.blocks, original.attachments = body.get("blocks"), body.get("attachments")
        if message is not None:
            message.edited_ts = state.next_ts()
        return True


def _truthy(value: Any) -> bool:
    """A JSON flag as Slack reads it: true, or the strings "true"/"1"."""
    return value is True or str(value).lower() in ("true", "1")


def _fault_reply(fault: Fault) -> Reply | None:
    """What Slack's edge answers for ``fault``; None to drop the connection (timeout, lost_response)."""
    if fault.kind == "server_error":
        return Reply(fault.status, {"Content-Type": "text/html"}, _EDGE_ERROR_PAGE)
    if fault.kind == "rate_limited":
        return _json_reply(_RATELIMITED, 429, {"Retry-After": str(fault.retry_after)})
    if fault.kind == "slack_error":
        return _json_reply({"ok": False, "error": fault.error}, 200)
    return None


def _json_reply(response: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps(response).encode()
    return Reply(status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, body)


def _text_reply(status: int, text: str) -> Reply:
    return Reply(status, {"Content-Type": "text/plain; charset=utf-8"}, text.encode())


def _parse_params(query: str, headers: dict[str, str], body: bytes) -> tuple[dict[str, Any], str | None]:
    """Merge the query string and the body (form-encoded or JSON); values are kept as sent."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if not body:
        return params, None
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    try:
        if content_type.startswith("application/json"):
            decoded = json.loads(body)
            if not isinstance(decoded, dict):
                return params, "invalid_json"
            params.update(decoded)
        else:
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return params, "invalid_json" if content_type.startswith("application/json") else "invalid_form_data"
    return params, None


def _bearer_token(headers: dict[str, str]) -> str | None:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _team(caller: SandboxWorkspace | str) -> str | None:
    return caller.team_id if isinstance(caller, SandboxWorkspace) else None


class _SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # Slack takes a burst of new connections (many replicas starting to send)

    def __init__(self, address: tuple[str, int], http: SandboxHttp):
        super().__init__(address, _RequestHandler)
        self.http = http


class _RequestHandler(BaseHTTPRequestHandler):
    server: _SandboxHTTPServer
    protocol_version = "HTTP/1.1"
    """Connections kept alive between requests, as Slack's are (every answer has a Content-Length)."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the default access log would drown test and demo output."""

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.server.http.handle(self.path, dict(self.headers.items()), body)
        if reply is None:  # a timeout fault: drop the connection unanswered
            self.close_connection = True
            return
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (e.g. its timeout was shorter than a fault's delay)

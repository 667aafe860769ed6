"""A local HTTP server that speaks the Slack Web API methods the bot uses.

Tests and ``alignbot demo`` point a real ``slack_sdk.WebClient`` at it (``base_url=sandbox.api_url``),
so the bot's Slack traffic runs unmodified and offline. The sandbox answers with Slack's response
shapes and error codes, validates every Block Kit payload, records every call for assertions, and
can imitate Slack's rate limits and edge failures on demand.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import mimetypes
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, NamedTuple
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from bot.sandbox.blockkit import MAX_MESSAGE_TEXT, validate_payload
from bot.sandbox.oauth import OAuthError, SandboxOAuth
from bot.sandbox.workspace import SandboxChannel, SandboxUser, SandboxWorkspace, default_workspace

TRIGGER_TTL_SECONDS = 3.0
RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_TTL_SECONDS = 30 * 60

TIER_2, TIER_3, TIER_4 = 20, 50, 100
DEFAULT_RATE_LIMITS: dict[str, int] = {
    "users.list": TIER_2,
    "conversations.open": TIER_3,
    "conversations.info": TIER_3,
    "chat.update": TIER_3,
    "conversations.history": TIER_3,
    "auth.test": TIER_4,
    "chat.postEphemeral": TIER_4,
    "users.info": TIER_4,
    "conversations.members": TIER_4,
    "views.open": TIER_4,
    "views.push": TIER_4,
    "views.update": TIER_4,
    "views.publish": TIER_4,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
}
"""Calls per minute per method (Slack's tiers); chat.postMessage is limited per channel instead."""
MESSAGES_PER_SECOND = 1.0
OAUTH_ACCESS = "oauth.v2.access"

FaultKind = Literal["server_error", "timeout", "rate_limited", "lost_response", "slack_error"]
RESPONSE_URL_FAULT_NAME = "response_url"
"""The method name under which faults for response_url POSTs are injected."""

# zoneinfo only knows abbreviations; Slack shows the long names.
_TZ_LABELS = {
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "+0330": "Iran Standard Time",
}
_RATELIMITED = {"ok": False, "error": "ratelimited"}
_EDGE_ERROR_PAGE = b"<html><head><title>Server Error</title></head><body><h1>Server Error</h1></body></html>"


@dataclass
class RecordedCall:
    """One Web API request as received, and what the sandbox answered."""

    method: str
    params: dict[str, Any]
    body: bytes
    headers: dict[str, str]
    received_at: float
    response: dict[str, Any] | None
    http_status: int | None
    """None when the connection was dropped (a timeout fault)."""
    fault: FaultKind | None = None
    team_id: str | None = None
    """The workspace the call's token acts in (None for a call without a valid token)."""


@dataclass
class ResponseUrlPost:
    """One POST to a response_url (Bolt's ``respond()``), accepted or not."""

    token: str
    channel_id: str | None
    user_id: str | None
    body: Any
    received_at: float
    http_status: int | None
    answer: str
    fault: FaultKind | None = None


@dataclass
class SandboxMessage:
    """A message in a channel's history; chat.update edits it in place."""

    channel: str
    ts: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    bot_id: str | None = None
    files: list[str] = field(default_factory=list)
    edited_ts: str | None = None
    metadata: dict[str, Any] | None = None
    """Slack's message metadata (event_type + event_payload), returned when asked for."""

    def to_api(self, team_id: str, app_id: str | None, include_metadata: bool = False) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": self.user,
            "text": self.text,
            "ts": self.ts,
            "team": team_id,
        }
        if self.bot_id:
            message.update(bot_id=self.bot_id, app_id=app_id)
        optional = {"blocks": self.blocks, "attachments": self.attachments, "thread_ts": self.thread_ts}
        message.update({k: v for k, v in optional.items() if v is not None})
        if self.files:
            message["files"] = [{"id": file_id} for file_id in self.files]
        if self.edited_ts:
            message["edited"] = {"user": self.user, "ts": self.edited_ts}
        if include_metadata and self.metadata:
            message["metadata"] = self.metadata
        return message


@dataclass
class SandboxEphemeral:
    """A message only ``user`` sees: chat.postEphemeral, or an ephemeral response_url answer."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    thread_ts: str | None = None


@dataclass
class SandboxView:
    """A modal or Home tab; ``view`` is the current version as the API answered it."""

    id: str
    user_id: str
    view: dict[str, Any]
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    external_id: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    """Every version as the API answered it: opened/pushed/published first, then each update."""


@dataclass
class SandboxFile:
    """A file uploaded through files.getUploadURLExternal + upload URL + files.completeUploadExternal."""

    id: str
    name: str
    length: int
    user: str
    created: int
    title: str | None = None
    content: bytes | None = None
    channels: list[str] = field(default_factory=list)
    completed: bool = False

    @property
    def channel(self) -> str | None:
        return self.channels[0] if self.channels else None


@dataclass
class _Fault:
    method: str
    kind: FaultKind
    remaining: int
    retry_after: int
    status: int
    delay: float
    error: str = "internal_error"
    when: dict[str, Any] | None = None
    """Only calls whose parameters include all of these."""


@dataclass
class _Trigger:
    user_id: str
    issued_at: float
    used: bool = False


@dataclass
class _ResponseUrl:
    channel_id: str
    user_id: str
    issued_at: float
    uses: int = 0


@dataclass
class _TokenBucket:
    capacity: float
    per_second: float
    tokens: float
    updated_at: float

    def wait_needed(self, now: float) -> float:
        """Take a token and return 0, or return the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.updated_at) * self.per_second)
        self.updated_at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.per_second


class _Reply(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes


class _ApiError(Exception):
    """A Slack error answer (``ok: false``) raised from inside a method handler."""

    def __init__(self, error: str, **extra: Any):
        super().__init__(error)
        self.response = {"ok": False, "error": error, **extra}


def _invalid_arguments(*messages: str) -> _ApiError:
    return _ApiError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {m}" for m in messages]})


def _is_true(value: Any) -> bool:
    """Booleans arrive as true/false in JSON and as "1"/"true" in form and query strings."""
    return value is True or value in ("1", "true", 1)


def _json_reply(response: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> _Reply:
    body = json.dumps(response).encode()
    return _Reply(status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, body)


def _text_reply(status: int, text: str) -> _Reply:
    return _Reply(status, {"Content-Type": "text/plain; charset=utf-8"}, text.encode())


class SlackSandbox:
    """The sandbox server plus the workspace state it keeps; see the module docstring.

    State that tests inspect (mutated under one lock by the server threads): ``calls``,
    ``response_url_posts``, ``messages`` (channel id -> messages in order), ``ephemerals``,
    ``views`` (view id -> SandboxView), ``home_views`` (user id -> SandboxView), ``files``
    (file id -> SandboxFile) and ``rate_limited_calls``.

    It hosts ``workspace`` and any added with ``add_workspace``; a token acts in its own workspace
    only, and every method answers with that workspace's people and channels alone (another
    workspace's channel is ``channel_not_found``, as in Slack). Each workspace's ``bot_token`` is
    valid from the start (the single-token mode); ``oauth`` issues tokens through the install flow.
    """

    def __init__(self, workspace: SandboxWorkspace | None = None, clock: Callable[[], float] = time.time):
        self.workspace = workspace or default_workspace()
        """The first workspace hosted, where the single-workspace helpers act."""
        self.workspaces: dict[str, SandboxWorkspace] = {}
        self.oauth = SandboxOAuth(clock)
        self._clock = clock
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: _SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

        self.calls: list[RecordedCall] = []
        self.response_url_posts: list[ResponseUrlPost] = []
        self.messages: dict[str, list[SandboxMessage]] = {}
        self.ephemerals: list[SandboxEphemeral] = []
        self.views: dict[str, SandboxView] = {}
        self.home_views: dict[str, SandboxView] = {}
        self.files: dict[str, SandboxFile] = {}
        self.rate_limited_calls = 0

        self._dms: dict[str, SandboxChannel] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._view_changes: dict[str, int] = {}
        self._faults: list[_Fault] = []
        self._id_counters: dict[str, itertools.count[int]] = {}
        self._last_ts_micros = 0
        self._rate_limits: dict[str, int] | None = None
        self._message_burst = 3
        self._method_windows: dict[tuple[str, str], deque[float]] = {}
        """(team id, method) -> when its recent calls came: limits are per workspace, as in Slack."""
        self._channel_buckets: dict[str, _TokenBucket] = {}
        self._methods: dict[str, Callable[[SandboxWorkspace, dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "conversations.open": self._conversations_open,
            "conversations.members": self._conversations_members,
            "conversations.info": self._conversations_info,
            "conversations.history": self._conversations_history,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
        }
        self.add_workspace(self.workspace)

    def add_workspace(self, workspace: SandboxWorkspace) -> SandboxWorkspace:
        """Host another workspace; its ids must be its own, as Slack's are."""
        with self._lock:
            for other in self.workspaces.values():
                shared = ({u.id for u in workspace.users} & {u.id for u in other.users}) | (
                    {c.id for c in workspace.channels} & {c.id for c in other.channels}
                )
                if workspace.team_id == other.team_id or workspace.bot_token == other.bot_token or shared:
                    raise ValueError(f"{workspace.team_id} shares ids with {other.team_id}: {sorted(shared)}")
            self.workspaces[workspace.team_id] = workspace
        return workspace

    def workspace_of_user(self, user_id: str) -> SandboxWorkspace | None:
        return next((ws for ws in self.workspaces.values() if ws.user(user_id) is not None), None)

    # ----- installing the app (OAuth) --------------------------------------------------------------

    def approve_install(
        self, authorize_url: str, team_id: str, installer: str | None = None
    ) -> dict[str, str]:
        """Play Slack's authorize page: `installer` (by default the workspace's first admin) approves
        the install at `authorize_url` for workspace `team_id`. Returns the query Slack's redirect back
        to the app carries: the code to exchange at oauth.v2.access, and the app's state."""
        workspace = self.workspaces[team_id]
        installer = installer or next(u.id for u in workspace.users if u.is_admin or u.is_owner)
        with self._lock:
            return self.oauth.approve(authorize_url, workspace, installer)

    def uninstall(self, team_id: str) -> None:
        """Someone removed the app from the workspace: the tokens it was given stop working at once."""
        with self._lock:
            self.oauth.revoke(team_id)

    # ----- lifecycle -------------------------------------------------------------------------------

    def start(self) -> SlackSandbox:
        """Listen on an ephemeral localhost port in a daemon thread."""
        self._stopping.clear()
        self._server = _SandboxHTTPServer(("127.0.0.1", 0), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},  # how long stop() waits; the 0.5 s default slows every test
            name="slack-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; requests held by a timeout fault are released and dropped."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> SlackSandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """What ``WebClient(base_url=...)`` takes."""
        return self.base_url + "/api/"

    # ----- recorded calls and inspection helpers ----------------------------------------------------

    def calls_to(self, method: str) -> list[RecordedCall]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def calls_in(self, team_id: str) -> list[RecordedCall]:
        """The calls made with a token of workspace `team_id`."""
        with self._lock:
            return [call for call in self.calls if call.team_id == team_id]

    def clear(self) -> None:
        """Forget the recorded calls and response_url posts; the workspace state stays."""
        with self._lock:
            self.calls.clear()
            self.response_url_posts.clear()
            self.rate_limited_calls = 0

    def dm_channel_for(self, user_id: str) -> str:
        """The id of the bot's DM with ``user_id`` (stable, whether or not it was opened yet)."""
        return "D" + user_id[1:]

    def messages_in(self, channel_id: str) -> list[SandboxMessage]:
        with self._lock:
            return list(self.messages.get(channel_id, []))

    def dms_to(self, user_id: str) -> list[SandboxMessage]:
        return self.messages_in(self.dm_channel_for(user_id))

    def ephemerals_to(self, user_id: str) -> list[SandboxEphemeral]:
        with self._lock:
            return [e for e in self.ephemerals if e.user == user_id]

    def latest_view_for(self, user_id: str) -> SandboxView | None:
        """The modal most recently opened, pushed or updated for ``user_id``."""
        with self._lock:
            return self._latest_modal(user_id)

    def invalid_payloads(self) -> list[tuple[RecordedCall | ResponseUrlPost, list[str]]]:
        """Every recorded call or response_url post whose Block Kit Slack would reject."""
        with self._lock:
            calls, posts = list(self.calls), list(self.response_url_posts)
        found: list[tuple[RecordedCall | ResponseUrlPost, list[str]]] = []
        for call in calls:
            if problems := validate_payload(call.method, call.params):
                found.append((call, problems))
        for post in posts:
            if isinstance(post.body, dict) and (problems := validate_payload("response_url", post.body)):
                found.append((post, problems))
        return found

    def add_user_message(
        self, channel_id: str, user_id: str, text: str, thread_ts: str | None = None
    ) -> SandboxMessage:
        """Put a message from a person into a channel, as if they had typed it."""
        with self._lock:
            return self._store_message(channel_id, user_id, text, thread_ts=thread_ts, bot_id=None)

    # ----- interactions: trigger ids and response URLs ----------------------------------------------

    def issue_trigger_id(self, user_id: str) -> str:
        """A trigger_id as Slack puts in interaction payloads: usable once, for 3 s of sandbox clock."""
        with self._lock:
            n = self._next_number("trigger")
            trigger_id = f"{13000000000 + n}.7001.{n:032x}"
            self._triggers[trigger_id] = _Trigger(user_id, self._clock())
            return trigger_id

    def issue_response_url(self, channel_id: str, user_id: str) -> str:
        """A response_url on the sandbox: 5 uses within 30 minutes of sandbox clock."""
        with self._lock:
            token = self._next_id("R")
            self._response_urls[token] = _ResponseUrl(channel_id, user_id, self._clock())
        return f"{self.base_url}/response/{token}"

    # ----- rate limits and faults ------------------------------------------------------------------

    def enable_rate_limits(self, per_minute: dict[str, int] | None = None, message_burst: int = 3) -> None:
        """Answer 429 like Slack once a method exceeds its tier (``per_minute`` overrides the tiers).

        chat.postMessage is limited per channel: a burst of ``message_burst``, then 1 per second.
        """
        with self._lock:
            self._rate_limits = {**DEFAULT_RATE_LIMITS, **(per_minute or {})}
            self._message_burst = message_burst
            self._method_windows.clear()
            self._channel_buckets.clear()

    def inject_fault(
        self,
        method: str,
        kind: FaultKind,
        times: int = 1,
        retry_after: int = 1,
        status: int = 500,
        delay: float = 2.0,
        error: str = "internal_error",
        when: dict[str, Any] | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` ("*": any) fail the way Slack's edge can.

        server_error answers ``status`` with an HTML page; rate_limited answers 429 with
        ``Retry-After: retry_after``; timeout holds the request ``delay`` seconds, then drops the
        connection unanswered (and unprocessed), so a client with a shorter timeout times out;
        lost_response processes the call (a message really is posted) and then drops the
        connection the same way, as when a process dies before it reads Slack's answer;
        slack_error answers HTTP 200 with ``{"ok": false, "error": error}`` (e.g. a workspace
        policy, ``restricted_action``). ``when`` limits the fault to calls whose parameters
        include those values (e.g. ``{"channel": "U0SALES01"}``).
        Use ``"response_url"`` as the method to fault response_url POSTs.
        """
        with self._lock:
            self._faults.append(_Fault(method, kind, times, retry_after, status, delay, error, when))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # ----- request handling (called from the server threads) ----------------------------------------

    def _handle(self, path: str, headers: dict[str, str], body: bytes) -> _Reply | None:
        url = urlsplit(path)
        kind, _, rest = url.path.strip("/").partition("/")
        if kind == "api" and rest:
            return self._handle_api(rest, url.query, headers, body)
        if kind == "upload" and rest:
            return self._handle_upload(rest, body)
        if kind == "response" and rest:
            return self._handle_response_url(rest, body)
        return _text_reply(404, "not_found")

    def _handle_api(self, method: str, query: str, headers: dict[str, str], body: bytes) -> _Reply | None:
        received_at = self._clock()
        params, parse_error = _parse_params(query, headers, body)
        with self._lock:
            caller = self._caller(params, headers)

        def record(
            response: dict[str, Any] | None, status: int | None, kind: FaultKind | None = None
        ) -> None:
            call = RecordedCall(
                method, params, body, headers, received_at, response, status, kind, _team(caller)
            )
            self._record(call)

        fault = self._take_fault(method, params)
        if fault is not None and fault.kind == "lost_response":
            with self._lock:
                response, status, _headers = self._answer(method, params, headers, caller, parse_error)
                record(response, status, fault.kind)
            self._stopping.wait(fault.delay)
            return None
        if fault is not None:
            reply = self._fault_reply(fault)
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
        static = next((ws for ws in self.workspaces.values() if ws.bot_token == token), None)
        if static is not None:
            return static
        try:
            team_id = self.oauth.team_of(token)
        except OAuthError as error:
            return error.error
        return self.workspaces[team_id] if team_id else "invalid_auth"

    def _answer(
        self,
        method: str,
        params: dict[str, Any],
        headers: dict[str, str],
        caller: SandboxWorkspace | str,
        parse_error: str | None,
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        if method not in self._methods and method != OAUTH_ACCESS:
            return {"ok": False, "error": "unknown_method"}, 200, {}
        if parse_error:
            return {"ok": False, "error": parse_error}, 200, {}
        if method == OAUTH_ACCESS:  # the app's client credentials, not a token
            try:
                return self.oauth.access(params, headers, self.workspaces), 200, {}
            except OAuthError as error:
                return {"ok": False, "error": error.error}, 200, {}
        if isinstance(caller, str):
            return {"ok": False, "error": caller}, 200, {}
        retry_after = self._rate_limit_wait(caller.team_id, method, params)
        if retry_after:
            self.rate_limited_calls += 1
            return dict(_RATELIMITED), 429, {"Retry-After": str(retry_after)}
        try:
            return self._methods[method](caller, params), 200, {}
        except _ApiError as error:
            return error.response, 200, {}

    def _record(self, call: RecordedCall) -> None:
        with self._lock:
            self.calls.append(call)

    def _take_fault(self, method: str, params: dict[str, Any] | None = None) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                matches = all((params or {}).get(key) == value for key, value in (fault.when or {}).items())
                if fault.method in (method, "*") and matches:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    @staticmethod
    def _fault_reply(fault: _Fault) -> _Reply | None:
        if fault.kind == "server_error":
            return _Reply(fault.status, {"Content-Type": "text/html"}, _EDGE_ERROR_PAGE)
        if fault.kind == "rate_limited":
            return _json_reply(_RATELIMITED, 429, {"Retry-After": str(fault.retry_after)})
        if fault.kind == "slack_error":
            return _json_reply({"ok": False, "error": fault.error}, 200)
        return None

    def _rate_limit_wait(self, team_id: str, method: str, params: dict[str, Any]) -> int:
        """0 when the call may proceed, else the whole seconds to put in Retry-After.

        Limits are per workspace. chat.postMessage is limited per channel; a `chat.postMessage`
        entry in the per-minute limits adds a workspace-wide cap on top (Slack has one, without a
        documented number).
        """
        if self._rate_limits is None:
            return 0
        now = self._clock()
        wait = self._window_wait(team_id, method, now)
        if wait <= 0 and method == "chat.postMessage":
            channel = str(params.get("channel", ""))
            bucket = self._channel_buckets.setdefault(
                channel, _TokenBucket(self._message_burst, MESSAGES_PER_SECOND, self._message_burst, now)
            )
            wait = bucket.wait_needed(now)
        if wait > 0:
            return max(1, math.ceil(wait))
        if method in self._rate_limits:
            self._method_windows.setdefault((team_id, method), deque()).append(now)
        return 0

    def _window_wait(self, team_id: str, method: str, now: float) -> float:
        """Seconds until `method` is back under its per-minute limit in the workspace (0 when it is, or
        has none)."""
        if method not in self._rate_limits:
            return 0
        window = self._method_windows.setdefault((team_id, method), deque())
        while window and window[0] <= now - 60:
            window.popleft()
        return 0 if len(window) < self._rate_limits[method] else window[0] + 60 - now

    def _handle_upload(self, file_id: str, body: bytes) -> _Reply:
        with self._lock:
            file = self.files.get(file_id)
            if file is None:
                return _text_reply(404, "file_not_found")
            file.content = body
        return _text_reply(200, f"OK - {len(body)}")

    def _handle_response_url(self, token: str, raw: bytes) -> _Reply | None:
        received_at = self._clock()
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = raw
        fault = self._take_fault(RESPONSE_URL_FAULT_NAME)
        with self._lock:
            url = self._response_urls.get(token)
            channel_id, user_id = (url.channel_id, url.user_id) if url else (None, None)
            post = ResponseUrlPost(token, channel_id, user_id, body, received_at, None, "")
            self.response_url_posts.append(post)
            reply = self._fault_reply(fault) if fault else self._answer_response_url(url, body)
            post.fault = fault.kind if fault else None
            post.http_status = reply.status if reply else None
            post.answer = reply.body.decode() if reply else ""
        if fault is not None and fault.kind == "timeout":
            self._stopping.wait(fault.delay)
        return reply

    def _answer_response_url(self, url: _ResponseUrl | None, body: Any) -> _Reply:
        if url is None:
            return _text_reply(404, "no_service")
        if self._clock() - url.issued_at > RESPONSE_URL_TTL_SECONDS:
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
        if body.get("response_type") == "in_channel":
            ws = self.workspace_of_user(url.user_id) or self.workspace
            self._store_message(
                url.channel_id, ws.bot_user_id, text, blocks, attachments, body.get("thread_ts"), ws.bot_id
            )
        else:
            self.ephemerals.append(
                SandboxEphemeral(url.channel_id, url.user_id, self._next_ts(), text, blocks, attachments)
            )
        return _text_reply(200, "ok")

    # ----- ids, timestamps, lookups ---------------------------------------------------------------

    def _next_number(self, kind: str) -> int:
        return next(self._id_counters.setdefault(kind, itertools.count(1)))

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{self._next_number(prefix):010d}"

    def _next_ts(self) -> str:
        """A message ts: the sandbox clock in microseconds, nudged to stay unique and increasing."""
        micros = max(int(self._clock() * 1_000_000), self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _user(self, ws: SandboxWorkspace, user_id: Any) -> SandboxUser:
        user = ws.user(user_id) if isinstance(user_id, str) else None
        if user is None:
            raise _ApiError("user_not_found")
        return user

    def _dm(self, ws: SandboxWorkspace, user: SandboxUser) -> SandboxChannel:
        dm_id = self.dm_channel_for(user.id)
        if dm_id not in self._dms:
            self._dms[dm_id] = SandboxChannel(
                dm_id, user.id, is_private=True, members=[user.id, ws.bot_user_id], is_im=True
            )
        return self._dms[dm_id]

    def _conversation(self, ws: SandboxWorkspace, channel_id: Any) -> SandboxChannel | None:
        """A channel by id (or by name, as chat methods allow), or the DM a D… id stands for."""
        if not isinstance(channel_id, str) or not channel_id:
            return None
        if channel_id.startswith("D"):
            user = ws.user("U" + channel_id[1:])
            return self._dm(ws, user) if user is not None and not user.is_bot else None
        return ws.channel(channel_id) or ws.channel_by_name(channel_id)

    def _visible_conversation(self, ws: SandboxWorkspace, channel_id: Any) -> SandboxChannel:
        """Private channels the bot isn't in don't exist as far as the bot can tell."""
        channel = self._conversation(ws, channel_id)
        if channel is None or (channel.is_private and ws.bot_user_id not in channel.members):
            raise _ApiError("channel_not_found")
        return channel

    def _postable_conversation(self, ws: SandboxWorkspace, channel_id: Any) -> SandboxChannel:
        """Where chat methods may post: a user id means the DM with that user.

        As in Slack, posting to a deactivated user's DM succeeds (nobody will read it).
        """
        if isinstance(channel_id, str) and channel_id[:1] in ("U", "W"):
            user = ws.user(channel_id)
            if user is None:
                raise _ApiError("channel_not_found")
            if user.is_bot:
                raise _ApiError("cannot_dm_bot")
            return self._dm(ws, user)
        channel = self._visible_conversation(ws, channel_id)
        if ws.bot_user_id not in channel.members:
            raise _ApiError("not_in_channel")
        if channel.is_archived:
            raise _ApiError("is_archived")
        return channel

    def _store_message(
        self,
        channel_id: str,
        user_id: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        attachments: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        bot_id: str | None = None,
        files: list[str] | None = None,
    ) -> SandboxMessage:
        message = SandboxMessage(
            channel_id, self._next_ts(), user_id, text, blocks, attachments, thread_ts, bot_id, files or []
        )
        self.messages.setdefault(channel_id, []).append(message)
        return message

    def _latest_modal(self, user_id: str) -> SandboxView | None:
        modals = [v for v in self.views.values() if v.user_id == user_id and v.view.get("type") == "modal"]
        return max(modals, key=lambda v: self._view_changes[v.id], default=None)

    def _message_content(self, method: str, params: dict[str, Any]) -> tuple[str, Any, Any]:
        """text, blocks and attachments of a chat call, after Slack's length and Block Kit checks."""
        text = params.get("text") or ""
        if len(text) > MAX_MESSAGE_TEXT:
            raise _ApiError("msg_too_long")
        if problems := validate_payload(method, params):
            raise _ApiError(
                "invalid_blocks",
                errors=problems,
                response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
            )
        return text, _decoded(params.get("blocks")), _decoded(params.get("attachments"))

    def _user_object(self, ws: SandboxWorkspace, user: SandboxUser, include_locale: bool) -> dict[str, Any]:
        now = datetime.fromtimestamp(self._clock(), ZoneInfo(user.tz))
        offset = now.utcoffset()
        abbreviation = now.tzname() or ""
        profile: dict[str, Any] = {
            "real_name": user.real_name,
            "real_name_normalized": user.real_name,
            "display_name": user.display_name,
            "display_name_normalized": user.display_name,
            "team": ws.team_id,
        }
        if user.bot_id:
            profile["bot_id"] = user.bot_id
        obj: dict[str, Any] = {
            "id": user.id,
            "team_id": ws.team_id,
            "name": user.name,
            "deleted": user.deleted,
            "real_name": user.real_name,
            "tz": user.tz,
            "tz_label": _TZ_LABELS.get(abbreviation, abbreviation),
            "tz_offset": int(offset.total_seconds()) if offset else 0,
            "profile": profile,
            "is_admin": user.is_admin,
            "is_owner": user.is_owner,
            "is_primary_owner": user.is_owner,
            "is_restricted": user.is_restricted,
            "is_ultra_restricted": user.is_ultra_restricted,
            "is_bot": user.is_bot,
            "is_app_user": user.is_app_user,
            "updated": int(self._clock()),
        }
        if include_locale:
            obj["locale"] = user.locale
        return obj

    def _page(self, items: list[Any], params: dict[str, Any], default_limit: int) -> tuple[list[Any], str]:
        """One page of ``items`` and the next cursor ("" on the last page), as Slack paginates."""
        try:
            limit = int(params.get("limit") or 0) or default_limit
        except (TypeError, ValueError):
            raise _ApiError("invalid_limit") from None
        start = 0
        if cursor := params.get("cursor"):
            try:
                kind, _, offset = base64.b64decode(cursor, validate=True).decode().partition(":")
                start = int(offset) if kind == "offset" else -1
            except ValueError:
                start = -1
            if not 0 <= start <= len(items):
                raise _ApiError("invalid_cursor")
        end = start + limit
        next_cursor = base64.b64encode(f"offset:{end}".encode()).decode() if end < len(items) else ""
        return items[start:end], next_cursor

    # ----- Web API methods -------------------------------------------------------------------------

    def _auth_test(self, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
        bot = ws.user(ws.bot_user_id)
        return {
            "ok": True,
            "url": ws.url,
            "team": ws.team_name,
            "user": bot.name if bot else "bot",
            "team_id": ws.team_id,
            "user_id": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._postable_conversation(ws, params.get("channel"))
        text, blocks, attachments = self._message_content("chat.postMessage", params)
        if not (text or blocks or attachments):
            raise _ApiError("no_text")
        message = self._store_message(
            channel.id,
            ws.bot_user_id,
            text,
            blocks,
            attachments,
            params.get("thread_ts") or None,
            ws.bot_id,
        )
        metadata = _decoded(params.get("metadata"))
        if metadata is not None:
            if not isinstance(metadata, dict) or not metadata.get("event_type"):
                raise _ApiError("invalid_metadata_format")
            message.metadata = metadata
        api_message = message.to_api(ws.team_id, ws.app_id)
        return {"ok": True, "channel": channel.id, "ts": message.ts, "message": api_message}

    def _conversations_history(self, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
        """Newest first, as Slack answers; `oldest`/`latest` bound the ts, metadata on request."""
        channel = self._visible_conversation(ws, params.get("channel"))
        if not channel.is_im and ws.bot_user_id not in channel.members:
            raise _ApiError("not_in_channel")
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or "inf")
        include_metadata = str(params.get("include_all_metadata", "")).lower() in ("true", "1")
        messages = [
            m.to_api(ws.team_id, ws.app_id, include_metadata)
            for m in reversed(self.messages.get(channel.id, []))
            if oldest < float(m.ts) <= latest and m.thread_ts in (None, m.ts)
        ]
        page, next_cursor = self._page(messages, params, default_limit=100)
        return {
            "ok": True,
            "messages": page,
            "has_more": bool(next_cursor),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _chat_update(self, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._visible_conversation(ws, params.get("channel"))
        ts = params.get("ts")
        message = next((m for m in self.messages.get(channel.id, []) if m.ts == ts), None)
        if message is None:
            raise _ApiError("message_not_found")
        if message.user != ws.bot_user_id:
            raise _ApiError("cant_update_message")
        text, blocks, attachments = self._message_content("chat.update", params)
        if not (text or blocks or attachments):
            raise _ApiError("no_text")
        message.text = text
        if "blocks" in params:
            message.blocks = blocks
        if "attachments" in params:
            message.attachments = attachments
        message.edited_ts = self._next_ts()
        api_message = message.to_api(ws.team_id, ws.app_id)
        return {"ok": True, "channel": channel.id, "ts": message.ts, "text": text, "message": api_message}

    def _chat_post_ephemeral(self, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._postable_conversation(ws, params.get("channel"))
        user = self._user(ws, params.get("user"))
        if user.id not in channel.members:
            raise _ApiError("user_not_in_channel")
        text, blocks, attachments = self._message_content("chat.postEphemeral", params)
        if not (text or blocks or attachments):
            raise _ApiError("no_text")
        ephemeral = SandboxEphemeral(
            channel.id, user.id, self._next_ts(), text, blocks, attachments, params.get("thread_ts") or None
        )
        self.ephemerals.append(ephemeral)
        return {"ok": True, "message_ts": ephemeral.ts}

    def _conversations_open(self, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
        user_ids = [u for u in str(params.get("users") or "").split(",") if u]
        if not user_ids:
            raise _ApiError("users_list_not_supplied")
        if len(user_ids) > 1:
            raise _invalid_arguments("the sandbox opens DMs with one user only, not group DMs")
        user = self._user(ws, user_ids[0])
        if user.is_bot:
            raise _ApiError("cannot_dm_bot")
        if user.deleted:
            raise _ApiError("user_disabled")
        already_open = self.dm_channel_for(user.id) in self._dms
        response: dict[str, Any] = {"ok": True, "channel": {"id": self._dm(ws, user).id}}
        if already_open:
            response.update(no_op=True, already_open=True)
        return response

    def _conversations_members(self, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._conversation(ws, params.get("channel"))
        if channel is None:
            raise _ApiError("channel_not_found")
        if channel.is_private and ws.bot_user_id not in channel.members:
            raise _ApiError("not_in_channel")
        members, next_cursor = self._page(channel.members, params, default_limit=100)
        return {"ok": True, "members": members, "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_info(self, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._visible_conversation(ws, params.get("channel"))
        if channel.is_im:
            user_id = channel.members[0]
            user = ws.user(user_id)
            deleted = bool(user and user.deleted)
            return {"ok": True, "channel": _im_info(channel.id, user_id, deleted)}
        info = {
            "id": channel.id,
            "name": channel.name,
            "name_normalized": channel.name,
            "is_channel": not channel.is_private,
            "is_group": channel.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": channel.is_private,
            "is_archived": channel.is_archived,
            "is_general": channel.name == "general",
            "is_member": ws.bot_user_id in channel.members,
            "num_members": len(channel.members),
        }
        return {"ok": True, "channel": info}

    def _users_info(self, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
        user = self._user(ws, params.get("user"))
        return {"ok": True, "user": self._user_object(ws, user, _is_true(params.get("include_locale")))}

    def _users_list(self, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
        users, next_cursor = self._page(ws.users, params, default_limit=len(ws.users))
        include_locale = _is_true(params.get("include_locale"))
        return {
            "ok": True,
            "members": [self._user_object(ws, u, include_locale) for u in users],
            "cache_ts": int(self._clock()),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _take_trigger(
        self, ws: SandboxWorkspace, params: dict[str, Any], method: str
    ) -> tuple[_Trigger, dict[str, Any]]:
        """The valid trigger and checked view of a views.open/push call; marks the trigger used."""
        trigger_id = params.get("trigger_id")
        if not trigger_id:
            raise _invalid_arguments("missing required field: trigger_id")
        trigger = self._triggers.get(trigger_id)
        if trigger is None or ws.user(trigger.user_id) is None:  # another workspace's trigger
            raise _ApiError("invalid_trigger_id")
        if trigger.used or self._clock() - trigger.issued_at > TRIGGER_TTL_SECONDS:
            raise _ApiError("expired_trigger_id")
        view = self._checked_view(method, params)
        trigger.used = True
        return trigger, view

    def _checked_view(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if problems := validate_payload(method, params):
            raise _invalid_arguments(*problems)
        return _decoded(params["view"])

    def _new_view(
        self,
        ws: SandboxWorkspace,
        user_id: str,
        view: dict[str, Any],
        root_view_id: str | None,
        previous_view_id: str | None,
    ) -> SandboxView:
        view_id = self._next_id("V")
        stored = SandboxView(
            view_id, user_id, {}, "", root_view_id or view_id, previous_view_id, view.get("external_id")
        )
        self._set_view_version(ws, stored, view)
        self.views[view_id] = stored
        return stored

    def _set_view_version(self, ws: SandboxWorkspace, stored: SandboxView, view: dict[str, Any]) -> None:
        """Make ``view`` the current version of ``stored``, shaped as Slack answers it."""
        stored.hash = f"{int(self._clock())}.{self._next_number('hash'):08x}"
        stored.view = {
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
            "title": None,
            "close": None,
            "submit": None,
            **view,
            "id": stored.id,
            "team_id": ws.team_id,
            "app_installed_team_id": ws.team_id,
            "state": {"values": {}},
            "hash": stored.hash,
            "root_view_id": stored.root_view_id,
            "previous_view_id": stored.previous_view_id,
            "app_id": ws.app_id,
            "bot_id": ws.bot_id,
        }
        stored.history.append(stored.view)
        self._view_changes[stored.id] = self._next_number("view change")

    def _views_open(self, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
        trigger, view = self._take_trigger(ws, params, "views.open")
        return {"ok": True, "view": self._new_view(ws, trigger.user_id, view, None, None).view}

    def _views_push(self, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
        trigger, view = self._take_trigger(ws, params, "views.push")
        below = self._latest_modal(trigger.user_id)
        root_view_id, previous_view_id = (below.root_view_id, below.id) if below else (None, None)
        stored = self._new_view(ws, trigger.user_id, view, root_view_id, previous_view_id)
        return {"ok": True, "view": stored.view}

    def _views_update(self, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
        view_id, external_id = params.get("view_id"), params.get("external_id")
        if not (view_id or external_id):
            raise _invalid_arguments("one of view_id or external_id is required")
        stored = (
            self.views.get(view_id)
            if view_id
            else next((v for v in self.views.values() if v.external_id == external_id), None)
        )
        if stored is None or ws.user(stored.user_id) is None:  # none, or another workspace's
            raise _ApiError("not_found")
        if params.get("hash") and params["hash"] != stored.hash:
            raise _ApiError("hash_conflict")
        self._set_view_version(ws, stored, self._checked_view("views.update", params))
        return {"ok": True, "view": stored.view}

    def _views_publish(self, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("user_id"):
            raise _invalid_arguments("missing required field: user_id")
        user = self._user(ws, params["user_id"])
        view = self._checked_view("views.publish", params)
        stored = self.home_views.get(user.id)
        if stored is None:
            stored = self.home_views[user.id] = self._new_view(ws, user.id, view, None, None)
            return {"ok": True, "view": stored.view}
        if params.get("hash") and params["hash"] != stored.hash:
            raise _ApiError("hash_conflict")
        self._set_view_version(ws, stored, view)
        return {"ok": True, "view": stored.view}

    def _files_get_upload_url_external(self, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
        filename, length = params.get("filename"), params.get("length")
        if not filename:
            raise _invalid_arguments("missing required field: filename")
        try:
            size = int(length)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise _invalid_arguments("missing or non-numeric field: length") from None
        file_id = self._next_id("F")
        bot_user_id = ws.bot_user_id
        self.files[file_id] = SandboxFile(file_id, filename, size, bot_user_id, int(self._clock()))
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(self, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
        try:
            entries = _decoded(params.get("files"))
        except json.JSONDecodeError:
            entries = None
        if not isinstance(entries, list) or not entries:
            raise _invalid_arguments("files must be a non-empty JSON array of {id, title}")
        files = []
        for entry in entries:
            file = self.files.get(entry.get("id")) if isinstance(entry, dict) else None
            if file is None or file.content is None or file.user != ws.bot_user_id:
                raise _ApiError("file_not_found")
            files.append((file, entry.get("title") or file.name))
        channel_ids = [params["channel_id"]] if params.get("channel_id") else []
        channel_ids += [c for c in str(params.get("channels") or "").split(",") if c]
        channels = [self._postable_conversation(ws, channel_id) for channel_id in channel_ids]
        for file, title in files:
            file.title, file.completed = title, True
            file.channels += [c.id for c in channels]
        for channel in channels:
            self._store_message(
                channel.id,
                ws.bot_user_id,
                params.get("initial_comment") or "",
                thread_ts=params.get("thread_ts") or None,
                bot_id=ws.bot_id,
                files=[file.id for file, _ in files],
            )
        return {"ok": True, "files": [self._file_object(ws, file) for file, _ in files]}

    def _file_object(self, ws: SandboxWorkspace, file: SandboxFile) -> dict[str, Any]:
        mimetype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        return {
            "id": file.id,
            "created": file.created,
            "timestamp": file.created,
            "name": file.name,
            "title": file.title,
            "mimetype": mimetype,
            "filetype": file.name.rpartition(".")[2].lower() if "." in file.name else "binary",
            "user": file.user,
            "size": len(file.content or b""),
            "url_private": f"{self.base_url}/files/{file.id}/{file.name}",
            "permalink": f"{ws.url}files/{file.user}/{file.id}/{file.name}",
            "channels": list(file.channels),
        }


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


def _im_info(channel_id: str, user_id: str, user_deleted: bool) -> dict[str, Any]:
    return {"id": channel_id, "is_im": True, "user": user_id, "is_user_deleted": user_deleted}


def _bearer_token(headers: dict[str, str]) -> str | None:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _team(caller: SandboxWorkspace | str) -> str | None:
    return caller.team_id if isinstance(caller, SandboxWorkspace) else None


def _decoded(value: Any) -> Any:
    """A JSON-string field (form-encoded calls) as data; JSON calls already have data."""
    return json.loads(value) if isinstance(value, str) else value


class _SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], sandbox: SlackSandbox):
        super().__init__(address, _RequestHandler)
        self.sandbox = sandbox


class _RequestHandler(BaseHTTPRequestHandler):
    server: _SandboxHTTPServer

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the default access log would drown test and demo output."""

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.server.sandbox._handle(self.path, dict(self.headers.items()), body)
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

"""What the sandbox's Slack stores: workspaces, messages, views, files, the ids it handed out, and a
record of every request it received.

Nothing here answers a request or checks an argument (the Web API methods and the HTTP side do),
nor takes the lock: its users hold ``SlackState.lock``.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.faults import FaultKind
from bot.sandbox.workspace import SandboxChannel, SandboxUser, SandboxWorkspace

TRIGGER_TTL_SECONDS = 3.0
RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_TTL_SECONDS = 30 * 60


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
class IssuedTrigger:
    """A trigger_id put in an interaction payload: views.open/push may use it once, briefly."""

    user_id: str
    issued_at: float
    used: bool = False


@dataclass
class IssuedResponseUrl:
    """A response_url put in an interaction payload; ``uses`` counts the posts it accepted."""

    channel_id: str
    user_id: str
    issued_at: float
    uses: int = 0
    message_ts: str | None = None
    """The message the interaction came from: `replace_original` / `delete_original` act on it."""


class SlackState:
    """The workspaces hosted and everything Slack keeps about them, read and written by the Web API
    methods, the response_url endpoint and the tests (through ``SlackSandbox``)."""

    def __init__(self, workspace: SandboxWorkspace, clock: Callable[[], float]):
        self.clock = clock
        self.lock = threading.RLock()
        """Held for every read and write of the state, and of the faults and rate limits that go with
        it: the server answers requests on many threads while a test inspects and arranges."""
        self.workspace = workspace
        """The first workspace hosted, where the single-workspace helpers act."""
        self.workspaces: dict[str, SandboxWorkspace] = {}
        self.base_url = ""
        """Where the sandbox is served (set while it runs), for the links Slack's answers carry."""

        self.calls: list[RecordedCall] = []
        self.response_url_posts: list[ResponseUrlPost] = []
        self.rate_limited_calls = 0
        self.messages: dict[str, list[SandboxMessage]] = {}
        self.ephemerals: list[SandboxEphemeral] = []
        self.views: dict[str, SandboxView] = {}
        self.home_views: dict[str, SandboxView] = {}
        self.files: dict[str, SandboxFile] = {}

        self.dms: dict[str, SandboxChannel] = {}
        self.triggers: dict[str, IssuedTrigger] = {}
        self.response_urls: dict[str, IssuedResponseUrl] = {}
        self.view_changes: dict[str, int] = {}
        """View id -> the number of its latest change, to tell which modal a user saw last."""
        self._id_counters: dict[str, itertools.count[int]] = {}
        self._last_ts_micros = 0
        self.add_workspace(workspace)

    def add_workspace(self, workspace: SandboxWorkspace) -> SandboxWorkspace:
        """Host another workspace; its ids must be its own, as Slack's are."""
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

    # ----- ids and timestamps ----------------------------------------------------------------------

    def next_number(self, kind: str) -> int:
        return next(self._id_counters.setdefault(kind, itertools.count(1)))

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{self.next_number(prefix):010d}"

    def next_ts(self) -> str:
        """A message ts: the sandbox clock in microseconds, nudged to stay unique and increasing."""
        micros = max(int(self.clock() * 1_000_000), self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def issue_trigger(self, user_id: str) -> str:
        n = self.next_number("trigger")
        trigger_id = f"{13000000000 + n}.7001.{n:032x}"
        self.triggers[trigger_id] = IssuedTrigger(user_id, self.clock())
        return trigger_id

    def issue_response_url(self, channel_id: str, user_id: str, message_ts: str | None = None) -> str:
        """The token of a new response_url (its path on the sandbox is ``/response/{token}``)."""
        token = self.next_id("R")
        self.response_urls[token] = IssuedResponseUrl(
            channel_id, user_id, self.clock(), message_ts=message_ts
        )
        return token

    # ----- conversations, messages, views ----------------------------------------------------------

    @staticmethod
    def dm_channel_for(user_id: str) -> str:
        """The id of the bot's DM with ``user_id`` (stable, whether or not it was opened yet)."""
        return "D" + user_id[1:]

    def dm(self, ws: SandboxWorkspace, user: SandboxUser) -> SandboxChannel:
        """The bot's DM with ``user``, opened on first use."""
        dm_id = self.dm_channel_for(user.id)
        if dm_id not in self.dms:
            self.dms[dm_id] = SandboxChannel(
                dm_id, user.id, is_private=True, members=[user.id, ws.bot_user_id], is_im=True
            )
        return self.dms[dm_id]

    def conversation(self, ws: SandboxWorkspace, channel_id: Any) -> SandboxChannel | None:
        """A channel by id (or by name, as chat methods allow), or the DM a D… id stands for."""
        if not isinstance(channel_id, str) or not channel_id:
            return None
        if channel_id.startswith("D"):
            user = ws.user("U" + channel_id[1:])
            return self.dm(ws, user) if user is not None and not user.is_bot else None
        return ws.channel(channel_id) or ws.channel_by_name(channel_id)

    def store_message(
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
            channel_id, self.next_ts(), user_id, text, blocks, attachments, thread_ts, bot_id, files or []
        )
        self.messages.setdefault(channel_id, []).append(message)
        return message

    def latest_modal(self, user_id: str) -> SandboxView | None:
        """The modal most recently opened, pushed or updated for ``user_id``."""
        modals = [v for v in self.views.values() if v.user_id == user_id and v.view.get("type") == "modal"]
        return max(modals, key=lambda v: self.view_changes[v.id], default=None)

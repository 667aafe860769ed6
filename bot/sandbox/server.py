"""SlackSandbox: a local stand-in for Slack that speaks the Web API methods the bot uses.

Tests and ``alignbot demo`` point a real ``slack_sdk.WebClient`` at it (``base_url=sandbox.api_url``),
so the bot's Slack traffic runs unmodified and offline. The sandbox answers with Slack's response
shapes and error codes, validates every Block Kit payload, records every call for assertions, and
can imitate Slack's rate limits and edge failures on demand.

This module is what tests and the demo hold; the parts live beside it: ``http`` (the server and its
routing), ``webapi`` (the methods), ``state`` (what Slack stores), ``socket_mode`` (Slack's side of
Socket Mode), ``faults`` (injected failures), ``ratelimits`` (Slack's limits per workspace and
method), ``oauth`` (installs and tokens) and
``blockkit`` (payload validation).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from bot.sandbox.blockkit import validate_payload
from bot.sandbox.faults import Fault, FaultKind, Faults
from bot.sandbox.http import SandboxHttp
from bot.sandbox.oauth import SandboxOAuth
from bot.sandbox.ratelimits import RateLimiter
from bot.sandbox.socket_mode import SandboxSocketMode
from bot.sandbox.state import (
    RecordedCall,
    ResponseUrlPost,
    SandboxEphemeral,
    SandboxFile,
    SandboxMessage,
    SandboxView,
    SlackState,
)
from bot.sandbox.webapi.files import file_object
from bot.sandbox.workspace import SandboxWorkspace, default_workspace


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

    def __init__(
        self,
        workspace: SandboxWorkspace | None = None,
        clock: Callable[[], float] = time.time,
        rtt_ms: float = 0,
    ):
        self._state = SlackState(workspace or default_workspace(), clock)
        self.oauth = SandboxOAuth(clock)
        self._lock = self._state.lock
        self._faults = Faults()
        self._rate_limits = RateLimiter(clock)
        self.socket_mode = SandboxSocketMode(self._state)
        """Slack's side of Socket Mode: connections, envelopes, acks (see `bot.sandbox.socket_mode`)."""
        self._http = SandboxHttp(self._state, self.oauth, self._faults, self._rate_limits, self.socket_mode)
        self.set_round_trip(rtt_ms)

    # ----- what tests inspect, kept in the state ----------------------------------------------------

    @property
    def workspace(self) -> SandboxWorkspace:
        """The first workspace hosted, where the single-workspace helpers act."""
        return self._state.workspace

    @property
    def workspaces(self) -> dict[str, SandboxWorkspace]:
        return self._state.workspaces

    @property
    def calls(self) -> list[RecordedCall]:
        return self._state.calls

    @property
    def response_url_posts(self) -> list[ResponseUrlPost]:
        """The posts so far, each with Slack's answer to it: a copy taken under the lock, which a post
        holds from the moment it is recorded until its answer is (a reader in another thread saw a
        post answered "None" otherwise)."""
        with self._lock:
            return list(self._state.response_url_posts)

    @property
    def rate_limited_calls(self) -> int:
        return self._state.rate_limited_calls

    @property
    def messages(self) -> dict[str, list[SandboxMessage]]:
        return self._state.messages

    @property
    def ephemerals(self) -> list[SandboxEphemeral]:
        return self._state.ephemerals

    @property
    def views(self) -> dict[str, SandboxView]:
        return self._state.views

    @property
    def home_views(self) -> dict[str, SandboxView]:
        return self._state.home_views

    @property
    def files(self) -> dict[str, SandboxFile]:
        return self._state.files

    # ----- workspaces and installing the app (OAuth) -----------------------------------------------

    def add_workspace(self, workspace: SandboxWorkspace) -> SandboxWorkspace:
        """Host another workspace; its ids must be its own, as Slack's are."""
        with self._lock:
            return self._state.add_workspace(workspace)

    def workspace_of_user(self, user_id: str) -> SandboxWorkspace | None:
        return self._state.workspace_of_user(user_id)

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

    def start(self, host: str = "127.0.0.1", port: int = 0) -> SlackSandbox:
        """Listen (by default on ephemeral localhost ports: the Web API, Socket Mode) in daemon threads."""
        self._http.start(host, port)
        self.socket_mode.start()
        return self

    def set_round_trip(self, rtt_ms: float) -> None:
        """Answer every request (Web API, upload URL, response_url) `rtt_ms` after it was sent, as
        Slack does across the internet (about 100 ms from Europe). Wall time, not the clock: keep it 0
        in tests."""
        self._http.rtt_seconds = rtt_ms / 1000

    def stop(self) -> None:
        """Stop serving; requests held by a timeout fault are released and dropped."""
        self.socket_mode.stop()
        self._http.stop()

    def __enter__(self) -> SlackSandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self._http.base_url

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
            self._state.calls.clear()
            self._state.response_url_posts.clear()
            self._state.rate_limited_calls = 0

    def dm_channel_for(self, user_id: str) -> str:
        """The id of the bot's DM with ``user_id`` (stable, whether or not it was opened yet)."""
        return self._state.dm_channel_for(user_id)

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
            return self._state.latest_modal(user_id)

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
            return self._state.store_message(channel_id, user_id, text, thread_ts=thread_ts, bot_id=None)

    def share_file(
        self, user_id: str, name: str, content: bytes, channel_id: str | None = None
    ) -> dict[str, Any]:
        """A person uploads a file (into `channel_id`, as a message, when given); the file object Slack
        would put in a `file_input`'s state or return from files.info."""
        workspace = self.workspace_of_user(user_id)
        assert workspace is not None, f"{user_id} is in no workspace of the sandbox"
        with self._lock:
            file_id = self._state.next_id("F")
            file = SandboxFile(file_id, name, len(content), user_id, int(self._state.clock()), title=name)
            file.content, file.completed = content, True
            if channel_id:
                file.channels.append(channel_id)
                self._state.store_message(channel_id, user_id, "", files=[file_id])
            self._state.files[file_id] = file
            return file_object(self._state, workspace, file)

    # ----- interactions: trigger ids and response URLs ----------------------------------------------

    def issue_trigger_id(self, user_id: str) -> str:
        """A trigger_id as Slack puts in interaction payloads: usable once, for 3 s of sandbox clock."""
        with self._lock:
            return self._state.issue_trigger(user_id)

    def issue_response_url(self, channel_id: str, user_id: str, message_ts: str | None = None) -> str:
        """A response_url on the sandbox: 5 uses within 30 minutes of sandbox clock. `message_ts` is the
        message the interaction came from, which `replace_original` and `delete_original` act on."""
        with self._lock:
            token = self._state.issue_response_url(channel_id, user_id, message_ts)
        return f"{self.base_url}/response/{token}"

    # ----- rate limits and faults ------------------------------------------------------------------

    def enable_rate_limits(
        self,
        per_minute: dict[str, int] | None = None,
        message_burst: int = 3,
        workspace_cap: int | None = None,
        distributed_app: bool = False,
    ) -> None:
        """Answer 429 like Slack once a method exceeds its tier (``per_minute`` overrides the tiers).

        chat.postMessage is limited per channel: a burst of ``message_burst``, then 1 per second;
        with ``workspace_cap``, also to that many a minute in each workspace, answered HTTP 200
        ``rate_limited``. ``distributed_app``: conversations.history as Slack limits a commercially
        distributed app outside the Marketplace, one call a minute of at most 15 messages.
        """
        with self._lock:
            self._rate_limits.enable(per_minute, message_burst, workspace_cap, distributed_app)

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
            self._faults.add(Fault(method, kind, times, retry_after, status, delay, error, when))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()


def keep_full_collections_short() -> None:
    """For a process that is Slack's side (`python -m bot.sandbox`, a benchmark's), once its sandbox is
    built: set what is alive now aside for good (`gc.freeze`), and again after each full collection.

    The sandbox's records (every call, every message) only grow, and a full collection walks all of
    them: at 20,000 DMs it held the sandbox for 0.7 s, so the posts of every workspace queued up and
    were then answered as one burst, over Slack's cap; in a benchmark the people tapping in the same
    process stalled too, and the stall was counted as the bot's. Slack does not stall like that. Frozen
    records are never walked again, so a collection's pause stays as short as what came in since the
    last one."""
    gc.collect()
    gc.freeze()
    gc.callbacks.append(_freeze_survivors)


def _freeze_survivors(phase: str, info: dict[str, int]) -> None:
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()

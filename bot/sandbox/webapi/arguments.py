"""How the Web API methods read their arguments and say what is wrong with them, as Slack does."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from bot.sandbox.state import SlackState
from bot.sandbox.workspace import SandboxChannel, SandboxUser, SandboxWorkspace

Method = Callable[[SlackState, SandboxWorkspace, dict[str, Any]], dict[str, Any]]
"""A Web API method: answers a call's parameters for the workspace its token acts in."""


class ApiError(Exception):
    """A Slack error answer (``ok: false``) raised from inside a method."""

    def __init__(self, error: str, **extra: Any):
        super().__init__(error)
        self.response = {"ok": False, "error": error, **extra}


def invalid_arguments(*messages: str) -> ApiError:
    return ApiError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {m}" for m in messages]})


def is_true(value: Any) -> bool:
    """Booleans arrive as true/false in JSON and as "1"/"true" in form and query strings."""
    return value is True or value in ("1", "true", 1)


def decoded(value: Any) -> Any:
    """A JSON-string field (form-encoded calls) as data; JSON calls already have data."""
    return json.loads(value) if isinstance(value, str) else value


def known_user(ws: SandboxWorkspace, user_id: Any) -> SandboxUser:
    user = ws.user(user_id) if isinstance(user_id, str) else None
    if user is None:
        raise ApiError("user_not_found")
    return user


def visible_conversation(state: SlackState, ws: SandboxWorkspace, channel_id: Any) -> SandboxChannel:
    """Private channels the bot isn't in don't exist as far as the bot can tell."""
    channel = state.conversation(ws, channel_id)
    if channel is None or (channel.is_private and ws.bot_user_id not in channel.members):
        raise ApiError("channel_not_found")
    return channel


def postable_conversation(state: SlackState, ws: SandboxWorkspace, channel_id: Any) -> SandboxChannel:
    """Where chat methods may post: a user id means the DM with that user.

    As in Slack, posting to a deactivated user's DM succeeds (nobody will read it).
    """
    if isinstance(channel_id, str) and channel_id[:1] in ("U", "W"):
        user = ws.user(channel_id)
        if user is None:
            raise ApiError("channel_not_found")
        if user.is_bot:
            raise ApiError("cannot_dm_bot")
        return state.dm(ws, user)
    channel = visible_conversation(state, ws, channel_id)
    if ws.bot_user_id not in channel.members:
        raise ApiError("not_in_channel")
    if channel.is_archived:
        raise ApiError("is_archived")
    return channel


def page(items: list[Any], params: dict[str, Any], default_limit: int) -> tuple[list[Any], str]:
    """One page of ``items`` and the next cursor ("" on the last page), as Slack paginates."""
    try:
        limit = int(params.get("limit") or 0) or default_limit
    except (TypeError, ValueError):
        raise ApiError("invalid_limit") from None
    start = 0
    if cursor := params.get("cursor"):
        try:
            kind, _, offset = base64.b64decode(cursor, validate=True).decode().partition(":")
            start = int(offset) if kind == "offset" else -1
        except ValueError:
            start = -1
        if not 0 <= start <= len(items):
            raise ApiError("invalid_cursor")
    end = start + limit
    next_cursor = base64.b64encode(f"offset:{end}".encode()).decode() if end < len(items) else ""
    return items[start:end], next_cursor

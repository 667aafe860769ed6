"""conversations.open (DMs only), .members, .info and .history."""

from __future__ import annotations

from typing import Any

from bot.sandbox.state import SlackState
from bot.sandbox.webapi.arguments import (
    ApiError,
    Method,
    invalid_arguments,
    known_user,
    page,
    visible_conversation,
)
from bot.sandbox.workspace import SandboxWorkspace


def conversations_open(state: SlackState, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    user_ids = [u for u in str(params.get("users") or "").split(",") if u]
    if not user_ids:
        raise ApiError("users_list_not_supplied")
    if len(user_ids) > 1:
        raise invalid_arguments("the sandbox opens DMs with one user only, not group DMs")
    user = known_user(ws, user_ids[0])
    if user.is_bot:
        raise ApiError("cannot_dm_bot")
    if user.deleted:
        raise ApiError("user_disabled")
    already_open = state.dm_channel_for(user.id) in state.dms
    response: dict[str, Any] = {"ok": True, "channel": {"id": state.dm(ws, user).id}}
    if already_open:
        response.update(no_op=True, already_open=True)
    return response


def conversations_members(state: SlackState, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = state.conversation(ws, params.get("channel"))
    if channel is None:
        raise ApiError("channel_not_found")
    if channel.is_private and ws.bot_user_id not in channel.members:
        raise ApiError("not_in_channel")
    members, next_cursor = page(channel.members, params, default_limit=100)
    return {"ok": True, "members": members, "response_metadata": {"next_cursor": next_cursor}}


def conversations_info(state: SlackState, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = visible_conversation(state, ws, params.get("channel"))
    if channel.is_im:
        user_id = channel.members[0]
        user = ws.user(user_id)
        deleted = bool(user and user.deleted)
        return {
            "ok": True,
            "channel": {"id": channel.id, "is_im": True, "user": user_id, "is_user_deleted": deleted},
        }
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


def conversations_history(state: SlackState, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    """Newest first, as Slack answers; `oldest`/`latest` bound the ts, metadata on request."""
    channel = visible_conversation(state, ws, params.get("channel"))
    if not channel.is_im and ws.bot_user_id not in channel.members:
        raise ApiError("not_in_channel")
    oldest = float(params.get("oldest") or 0)
    latest = float(params.get("latest") or "inf")
    include_metadata = str(params.get("include_all_metadata", "")).lower() in ("true", "1")
    messages = [
        m.to_api(ws.team_id, ws.app_id, include_metadata)
        for m in reversed(state.messages.get(channel.id, []))
        if oldest < float(m.ts) <= latest and m.thread_ts in (None, m.ts)
    ]
    page_of_messages, next_cursor = page(messages, params, default_limit=100)
    return {
        "ok": True,
        "messages": page_of_messages,
        "has_more": bool(next_cursor),
        "response_metadata": {"next_cursor": next_cursor},
    }


METHODS: dict[str, Method] = {
    "conversations.open": conversations_open,
    "conversations.members": conversations_members,
    "conversations.info": conversations_info,
    "conversations.history": conversations_history,
}

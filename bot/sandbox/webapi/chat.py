"""chat.postMessage, chat.update and chat.postEphemeral."""

from __future__ import annotations

from typing import Any

from bot.sandbox.blockkit import MAX_MESSAGE_TEXT, validate_payload
from bot.sandbox.state import SandboxEphemeral, SlackState
from bot.sandbox.webapi.arguments import (
    ApiError,
    Method,
    decoded,
    known_user,
    postable_conversation,
    visible_conversation,
)
from bot.sandbox.workspace import SandboxWorkspace


def chat_post_message(state: SlackState, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = postable_conversation(state, ws, params.get("channel"))
    text, blocks, attachments = _message_content("chat.postMessage", params)
    if not (text or blocks or attachments):
        raise ApiError("no_text")
    message = state.store_message(
        channel.id,
        ws.bot_user_id,
        text,
        blocks,
        attachments,
        params.get("thread_ts") or None,
        ws.bot_id,
    )
    metadata = decoded(params.get("metadata"))
    if metadata is not None:
        if not isinstance(metadata, dict) or not metadata.get("event_type"):
            raise ApiError("invalid_metadata_format")
        message.metadata = metadata
    api_message = message.to_api(ws.team_id, ws.app_id)
    return {"ok": True, "channel": channel.id, "ts": message.ts, "message": api_message}


def chat_update(state: SlackState, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = visible_conversation(state, ws, params.get("channel"))
    ts = params.get("ts")
    message = next((m for m in state.messages.get(channel.id, []) if m.ts == ts), None)
    if message is None:
        raise ApiError("message_not_found")
    if message.user != ws.bot_user_id:
        raise ApiError("cant_update_message")
    text, blocks, attachments = _message_content("chat.update", params)
    if not (text or blocks or attachments):
        raise ApiError("no_text")
    message.text = text
    if "blocks" in params:
        message.blocks = blocks
    if "attachments" in params:
        message.attachments = attachments
    message.edited_ts = state.next_ts()
    api_message = message.to_api(ws.team_id, ws.app_id)
    return {"ok": True, "channel": channel.id, "ts": message.ts, "text": text, "message": api_message}


def chat_post_ephemeral(state: SlackState, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = postable_conversation(state, ws, params.get("channel"))
    user = known_user(ws, params.get("user"))
    if user.id not in channel.members:
        raise ApiError("user_not_in_channel")
    text, blocks, attachments = _message_content("chat.postEphemeral", params)
    if not (text or blocks or attachments):
        raise ApiError("no_text")
    ephemeral = SandboxEphemeral(
        channel.id, user.id, state.next_ts(), text, blocks, attachments, params.get("thread_ts") or None
    )
    state.ephemerals.append(ephemeral)
    return {"ok": True, "message_ts": ephemeral.ts}


def _message_content(method: str, params: dict[str, Any]) -> tuple[str, Any, Any]:
    """text, blocks and attachments of a chat call, after Slack's length and Block Kit checks."""
    text = params.get("text") or ""
    if len(text) > MAX_MESSAGE_TEXT:
        raise ApiError("msg_too_long")
    if problems := validate_payload(method, params):
        raise ApiError(
            "invalid_blocks",
            errors=problems,
            response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
        )
    return text, decoded(params.get("blocks")), decoded(params.get("attachments"))


METHODS: dict[str, Method] = {
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.postEphemeral": chat_post_ephemeral,
}

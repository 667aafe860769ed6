"""files.getUploadURLExternal and files.completeUploadExternal (the bytes go to the upload URL between),
and files.info; a file's bytes are read from its `url_private` with a bot token that may see it."""

from __future__ import annotations

import json
import mimetypes
from typing import Any
from urllib.parse import quote

from bot.sandbox.state import SandboxFile, SlackState
from bot.sandbox.webapi.arguments import ApiError, Method, decoded, invalid_arguments, postable_conversation
from bot.sandbox.workspace import SandboxWorkspace


def files_get_upload_url_external(
    state: SlackState, ws: SandboxWorkspace, params: dict[str, Any]
) -> dict[str, Any]:
    filename, length = params.get("filename"), params.get("length")
    if not filename:
        raise invalid_arguments("missing required field: filename")
    try:
        size = int(length)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise invalid_arguments("missing or non-numeric field: length") from None
    file_id = state.next_id("F")
    bot_user_id = ws.bot_user_id
    state.files[file_id] = SandboxFile(file_id, filename, size, bot_user_id, int(state.clock()))
    return {"ok": True, "upload_url": f"{state.base_url}/upload/{file_id}", "file_id": file_id}


def files_complete_upload_external(
    state: SlackState, ws: SandboxWorkspace, params: dict[str, Any]
) -> dict[str, Any]:
    try:
        entries = decoded(params.get("files"))
    except json.JSONDecodeError:
        entries = None
    if not isinstance(entries, list) or not entries:
        raise invalid_arguments("files must be a non-empty JSON array of {id, title}")
    files = []
    for entry in entries:
        file = state.files.get(entry.get("id")) if isinstance(entry, dict) else None
        if file is None or file.content is None or file.user != ws.bot_user_id:
            raise ApiError("file_not_found")
        files.append((file, entry.get("title") or file.name))
    channel_ids = [params["channel_id"]] if params.get("channel_id") else []
    channel_ids += [c for c in str(params.get("channels") or "").split(",") if c]
    channels = [postable_conversation(state, ws, channel_id) for channel_id in channel_ids]
    for file, title in files:
        file.title, file.completed = title, True
        file.channels += [c.id for c in channels]
    for channel in channels:
        state.store_message(
            channel.id,
            ws.bot_user_id,
            params.get("initial_comment") or "",
            thread_ts=params.get("thread_ts") or None,
            bot_id=ws.bot_id,
            files=[file.id for file, _ in files],
        )
    return {"ok": True, "files": [file_object(state, ws, file) for file, _ in files]}


def files_info(state: SlackState, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    file = state.files.get(params.get("file") or "")
    if file is None or not visible_to(ws, file):
        raise ApiError("file_not_found")
    return {"ok": True, "file": file_object(state, ws, file)}


def visible_to(ws: SandboxWorkspace, file: SandboxFile) -> bool:
    """A workspace's bot sees the files its own people and its bot shared, once they are complete."""
    return file.completed and (file.user == ws.bot_user_id or ws.user(file.user) is not None)


def file_object(state: SlackState, ws: SandboxWorkspace, file: SandboxFile) -> dict[str, Any]:
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
        "url_private": f"{state.base_url}/files/{file.id}/{quote(file.name)}",
        "permalink": f"{ws.url}files/{file.user}/{file.id}/{quote(file.name)}",
        "channels": list(file.channels),
    }


METHODS: dict[str, Method] = {
    "files.getUploadURLExternal": files_get_upload_url_external,
    "files.completeUploadExternal": files_complete_upload_external,
    "files.info": files_info,
}

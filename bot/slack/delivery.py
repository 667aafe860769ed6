"""Posting to Slack exactly once: each message carries a key in its metadata, so a post whose
answer never came back (a crash, a dropped connection, a 5xx) can be looked up before it is
ever sent again. Used by the pulse, digest and meeting runners."""

from __future__ import annotations

import http.client
import logging
import socket
import urllib.error
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

logger = logging.getLogger(__name__)

METADATA_EVENT = "alignbot"
#: Slack errors worth another try later; any other error is final for that message.
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
#: What a dropped connection or a timeout looks like from slack_sdk: we cannot know if Slack acted.
UNCERTAIN = (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException)


@dataclass(frozen=True)
class SendResult:
    """`sent`; `failed` (final); `retry` (Slack said no, for now); `check` (Slack answered 5xx: it
    may have posted, look in the channel now); `uncertain` (no answer: look once the send is stale)."""

    status: str
    channel: str | None = None
    ts: str | None = None
    error: str | None = None


def find_in_history(client: WebClient, channel: str, since: datetime, key: str, value: object) -> str | None:
    """The ts of our message carrying `key: value` in its metadata, posted since `since`."""
    try:
        history = client.conversations_history(
            channel=channel, oldest=f"{since.timestamp() - 5:.6f}", include_all_metadata=True, limit=200
        )
    except SlackApiError as error:
        logger.warning(
            "could not read %s's history to look for %s=%s: %s",
            channel,
            key,
            value,
            error.response.get("error"),
        )
        return None
    for message in history["messages"]:
        metadata = message.get("metadata") or {}
        if (
            metadata.get("event_type") == METADATA_EVENT
            and metadata.get("event_payload", {}).get(key) == value
        ):
            return message["ts"]
    return None


def find_in_dm(
    client: WebClient, user_id: str, since: datetime, key: str, value: object
) -> tuple[str, str] | None:
    """The DM channel and ts of our message to `user_id` carrying `key: value`, if it was posted after all."""
    try:
        channel = client.conversations_open(users=user_id)["channel"]["id"]
    except SlackApiError as error:
        logger.warning(
            "could not open %s's DM to look for %s=%s: %s", user_id, key, value, error.response.get("error")
        )
        return None
    ts = find_in_history(client, channel, since, key, value)
    return (channel, ts) if ts else None


def channel_members(client: WebClient, channel: str) -> list[str]:
    """Everyone in a channel, page by page; whoever Slack would not list (with a warning) is left out."""
    members: list[str] = []
    try:
        for page in client.conversations_members(channel=channel, limit=200):
            members += page["members"]
    except SlackApiError as error:
        logger.warning("conversations.members %s failed: %s", channel, error.response.get("error"))
    return members


def post_once(
    client: WebClient, channel: str, message: dict[str, Any], payload: dict[str, Any]
) -> SendResult:
    """chat.postMessage with our key in the message metadata, classified for the caller."""
    try:
        answer = client.chat_postMessage(
            channel=channel, metadata={"event_type": METADATA_EVENT, "event_payload": payload}, **message
        )
    except SlackApiError as error:
        status = error.response.status_code
        if status >= 500:
            return SendResult("check", error=f"http_{status}")
        code = str(error.response.get("error") or f"http_{status}")[:64]
        return SendResult("retry" if code in TRANSIENT_ERRORS else "failed", error=code)
    except UNCERTAIN as error:
        return SendResult("uncertain", error=type(error).__name__)
    return SendResult("sent", answer["channel"], answer["ts"])

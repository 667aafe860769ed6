"""The Web API client every Slack call goes through: it waits out 429s and retries what is safe to retry."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

logger = logging.getLogger(__name__)

#: Methods that must not be sent twice: after a dropped connection Slack may already have acted.
NOT_IDEMPOTENT = ("chat.postMessage", "chat.postEphemeral", "files.completeUploadExternal")


class _SparingPosts:
    """Leaves calls that post a message to the caller: a dropped connection or a 5xx may come
    after Slack already posted, and slack_sdk's handlers would post it again. Scheduled posts
    look such messages up by their metadata instead (see `bot.slack.outbox`)."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        if request.url.rstrip("/").rsplit("/", 1)[-1] in NOT_IDEMPOTENT:
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)


class SafeConnectionErrorRetryHandler(_SparingPosts, ConnectionErrorRetryHandler):
    """Retries dropped connections, except for posts."""


class SafeServerErrorRetryHandler(_SparingPosts, ServerErrorRetryHandler):
    """Retries Slack's 5xx answers, except for posts."""


def build_client(
    token: str | None, api_url: str, timeout: int = 30, observer: RetryHandler | None = None
) -> WebClient:
    """A Web API client that waits out 429s and retries 5xx and (safely) dropped connections.

    Bolt copies these retry handlers into the client each request gets, so listeners
    inherit them; they sleep inside the call, which is why nothing rate-limited runs
    before `ack()`. An `observer` goes first and sees every attempt (for the metrics).
    """
    return WebClient(
        token=token,
        base_url=api_url,
        timeout=timeout,
        retry_handlers=[
            *([observer] if observer else []),
            SafeConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=5),
            SafeServerErrorRetryHandler(max_retry_count=3),
        ],
    )


def channel_members(client: WebClient, channel: str) -> list[str]:
    """Everyone in a channel, page by page; whoever Slack would not list (with a warning) is left out."""
    members: list[str] = []
    try:
        for page in client.conversations_members(channel=channel, limit=200):
            members += page["members"]
    except SlackApiError as error:
        logger.warning("conversations.members %s failed: %s", channel, error.response.get("error"))
    return members

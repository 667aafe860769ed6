"""Bolt's `respond()`, sent over the outbox's pooled connections instead of a new connection per call
on the listener's thread."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from slack_bolt import Respond
from slack_bolt.context.respond.internals import _build_message

from bot.slack.client import Answer, PooledSlack


class PooledRespond(Respond):
    """What a listener's `respond(...)` does, with Bolt's arguments and the same message (Bolt builds
    it), posted by `transport` on its event loop: the listener's thread goes on at once instead of
    waiting out Slack's round trip. Posts of one request keep their order. `track` is given each post in
    flight (the listener pool counts it as work, so waiting for the bot to be idle, or a graceful
    shutdown, waits for it too). A failed post is logged by the transport, never raised."""

    def __init__(
        self, response_url: str | None, transport: PooledSlack, track: Callable[[Future], None]
    ) -> None:
        super().__init__(response_url=response_url)
        self._transport = transport
        self._track = track
        self._last: Future[Answer] | None = None

    def __call__(
        self,
        text: str | dict = "",
        blocks: Sequence[dict] | None = None,
        attachments: Sequence[dict] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Future[Answer]:
        if self.response_url is None:
            raise ValueError("respond is unsupported here as there is no response_url")
        if isinstance(text, dict):
            message = _build_message(**text)
        else:
            message = _build_message(
                text=text,
                blocks=blocks,
                attachments=attachments,
                response_type=response_type,
                replace_original=replace_original,
                delete_original=delete_original,
                unfurl_links=unfurl_links,
                unfurl_media=unfurl_media,
                thread_ts=thread_ts,
                metadata=metadata,
            )
        self._last = self._transport.post_to(self.response_url, message, after=self._last)
        self._track(self._last)
        return self._last

"""Reading a file someone shared with the bot: its `url_private`, fetched with the bot token.

The token goes only to Slack's own hosts (the Web API's, or files.slack.com), never to a URL a payload
could point elsewhere; the bytes land in a temporary file, so a large export is not held in memory."""

from __future__ import annotations

import tempfile
import urllib.request
from typing import IO
from urllib.parse import urlsplit

from slack_sdk import WebClient

MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024
IN_MEMORY_BYTES = 1024 * 1024
SLACK_FILE_HOSTS = ("files.slack.com", "slack-files.com")


class DownloadRefused(Exception):
    """The file is not Slack's to give, too large, or Slack would not give it."""


def download_private(client: WebClient, url: str, head: int | None = None) -> IO[bytes]:
    """The file's bytes, in a seekable temporary file (the caller closes it); only about its first
    `head` bytes when given (enough for a header row)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or host not in (
        urlsplit(client.base_url).hostname,
        *SLACK_FILE_HOSTS,
    ):
        raise DownloadRefused(f"not a Slack file URL: {host}")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {client.token}"})
    spool = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES)  # noqa: SIM115 (handed to the caller)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            while chunk := response.read(64 * 1024):
                spool.write(chunk)
                if head is not None and spool.tell() >= head:
                    break
                if spool.tell() > MAX_DOWNLOAD_BYTES:
                    raise DownloadRefused(f"larger than {MAX_DOWNLOAD_BYTES} bytes")
    except (OSError, ValueError) as error:
        spool.close()
        raise DownloadRefused(str(error)) from None
    except DownloadRefused:
        spool.close()
        raise
    spool.seek(0)
    return spool

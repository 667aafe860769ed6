"""Make user-supplied text safe to put into Slack `mrkdwn`."""

from __future__ import annotations


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters.

    Without this, anyone could type `<!channel>` or `<@U123>` into a field and make the
    bot ping the whole channel on their behalf.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Keep text within a Block Kit limit, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""Slack's rate limits, per workspace and method, as the sandbox imposes them once asked to.

- the tiers: so many calls a minute per method and workspace (``DEFAULT_RATE_LIMITS``);
- chat.postMessage: about one message a second per channel after a short burst, and, on top, a
  workspace-wide cap (Slack has one and publishes no number: ``workspace_cap`` a minute, paced
  evenly after a burst of one second's worth);
- conversations.history for a commercially distributed app outside the Marketplace (since
  2025-05-29): one call a minute, at most 15 messages a page.

Slack answers a call over a limit in two shapes, both imitated: HTTP 429 with ``Retry-After`` and
``{"ok": false, "error": "ratelimited"}``, and, for chat.postMessage over the workspace cap, HTTP 200
with ``{"ok": false, "error": "rate_limited"}`` and no hint of when to try again. The limiter only
decides; the HTTP side answers. It takes no lock: its users hold the sandbox state's.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TIER_2, TIER_3, TIER_4 = 20, 50, 100
DEFAULT_RATE_LIMITS: dict[str, int] = {
    "users.list": TIER_2,
    "conversations.open": TIER_3,
    "conversations.info": TIER_3,
    "chat.update": TIER_3,
    "conversations.history": TIER_3,
    "auth.test": TIER_4,
    "chat.postEphemeral": TIER_4,
    "users.info": TIER_4,
    "conversations.members": TIER_4,
    "views.open": TIER_4,
    "views.push": TIER_4,
    "views.update": TIER_4,
    "views.publish": TIER_4,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
}
"""Calls per minute per method and workspace (Slack's tiers); chat.postMessage is limited per
channel and per workspace instead."""
MESSAGES_PER_SECOND = 1.0
DISTRIBUTED_HISTORY_PER_MINUTE = 1
DISTRIBUTED_HISTORY_PAGE = 15


@dataclass(frozen=True)
class Limited:
    """How Slack refuses a call over a limit: the HTTP status, the error, and Retry-After (if any)."""

    status: int
    error: str
    retry_after: int | None


@dataclass
class _TokenBucket:
    capacity: float
    per_second: float
    tokens: float
    updated_at: float

    def take(self, now: float) -> float:
        """Take a token and return 0, or return the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.updated_at) * self.per_second)
        self.updated_at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.per_second


class RateLimiter:
    """Slack's rate limits (see the module docstring), off until ``enable``."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._per_minute: dict[str, int] | None = None
        self._message_burst = 3
        self._workspace_cap: int | None = None
        self._distributed_app = False
        self._method_windows: dict[tuple[str, str], deque[float]] = {}
        """(team id, method) -> when its recent calls came: limits are per workspace, as in Slack."""
        self._channel_buckets: dict[str, _TokenBucket] = {}
        self._workspace_buckets: dict[str, _TokenBucket] = {}

    def enable(
        self,
        per_minute: dict[str, int] | None,
        message_burst: int,
        workspace_cap: int | None = None,
        distributed_app: bool = False,
    ) -> None:
        self._per_minute = {**DEFAULT_RATE_LIMITS, **(per_minute or {})}
        if distributed_app:
            self._per_minute["conversations.history"] = DISTRIBUTED_HISTORY_PER_MINUTE
        self._message_burst = message_burst
        self._workspace_cap = workspace_cap
        self._distributed_app = distributed_app
        self._method_windows.clear()
        self._channel_buckets.clear()
        self._workspace_buckets.clear()

    def check(self, team_id: str, method: str, params: dict[str, Any]) -> Limited | None:
        """None when the call may proceed (and it counts against its limits), else Slack's refusal."""
        if self._per_minute is None:
            return None
        now = self._clock()
        wait = self._window_wait(team_id, method, now)
        if wait <= 0 and method == "chat.postMessage":
            channel = str(params.get("channel", ""))
            bucket = self._channel_buckets.setdefault(
                channel, _TokenBucket(self._message_burst, MESSAGES_PER_SECOND, self._message_burst, now)
            )
            wait = bucket.take(now)
            if wait <= 0 and self._over_workspace_cap(team_id, now):
                bucket.tokens += 1  # the channel's token goes back: the message was not posted
                return Limited(200, "rate_limited", None)
        if wait > 0:
            return Limited(429, "ratelimited", max(1, math.ceil(wait)))
        if method in self._per_minute:
            self._method_windows.setdefault((team_id, method), deque()).append(now)
        return None

    def history_page(self, params: dict[str, Any]) -> dict[str, Any]:
        """conversations.history's parameters with `limit` cut to what the app may read in one page."""
        if not self._distributed_app:
            return params
        asked = int(params.get("limit") or DISTRIBUTED_HISTORY_PAGE)
        return {**params, "limit": min(asked, DISTRIBUTED_HISTORY_PAGE)}

    def _over_workspace_cap(self, team_id: str, now: float) -> bool:
        if self._workspace_cap is None:
            return False
        per_second = self._workspace_cap / 60
        burst = max(1.0, per_second)
        bucket = self._workspace_buckets.setdefault(team_id, _TokenBucket(burst, per_second, burst, now))
        return bucket.take(now) > 0

    def _window_wait(self, team_id: str, method: str, now: float) -> float:
        """Seconds until `method` is back under its per-minute limit in the workspace (0 when it is, or
        has none)."""
        if method not in self._per_minute:
            return 0
        window = self._method_windows.setdefault((team_id, method), deque())
        while window and window[0] <= now - 60:
            window.popleft()
        return 0 if len(window) < self._per_minute[method] else window[0] + 60 - now

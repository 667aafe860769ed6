"""The ways Slack's edge can fail a request, injected on demand, and Slack's rate limits.

Both only decide; the HTTP side turns a fault or a wait into the answer Slack would give. Neither
takes a lock: their users hold the sandbox state's.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

FaultKind = Literal["server_error", "timeout", "rate_limited", "lost_response", "slack_error"]
RESPONSE_URL_FAULT_NAME = "response_url"
"""The method name under which faults for response_url POSTs are injected."""

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
"""Calls per minute per method (Slack's tiers); chat.postMessage is limited per channel instead."""
MESSAGES_PER_SECOND = 1.0


@dataclass
class Fault:
    """How the next ``remaining`` calls of ``method`` ("*": any) fail; see ``SlackSandbox.inject_fault``."""

    method: str
    kind: FaultKind
    remaining: int
    retry_after: int
    status: int
    delay: float
    error: str = "internal_error"
    when: dict[str, Any] | None = None
    """Only calls whose parameters include all of these."""


class Faults:
    """The faults injected and not yet used up, in the order they were injected."""

    def __init__(self) -> None:
        self._pending: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self._pending.append(fault)

    def clear(self) -> None:
        self._pending.clear()

    def take(self, method: str, params: dict[str, Any] | None = None) -> Fault | None:
        """The first fault that applies to this call, used up once it has failed ``remaining`` calls."""
        for fault in self._pending:
            matches = all((params or {}).get(key) == value for key, value in (fault.when or {}).items())
            if fault.method in (method, "*") and matches:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._pending.remove(fault)
                return fault
        return None


@dataclass
class _TokenBucket:
    capacity: float
    per_second: float
    tokens: float
    updated_at: float

    def wait_needed(self, now: float) -> float:
        """Take a token and return 0, or return the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.updated_at) * self.per_second)
        self.updated_at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.per_second


class RateLimiter:
    """Slack's rate limits, off until ``enable``: per-minute tiers per method and workspace, and
    chat.postMessage's per-channel burst then 1 per second."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._per_minute: dict[str, int] | None = None
        self._message_burst = 3
        self._method_windows: dict[tuple[str, str], deque[float]] = {}
        """(team id, method) -> when its recent calls came: limits are per workspace, as in Slack."""
        self._channel_buckets: dict[str, _TokenBucket] = {}

    def enable(self, per_minute: dict[str, int] | None, message_burst: int) -> None:
        self._per_minute = {**DEFAULT_RATE_LIMITS, **(per_minute or {})}
        self._message_burst = message_burst
        self._method_windows.clear()
        self._channel_buckets.clear()

    def wait(self, team_id: str, method: str, params: dict[str, Any]) -> int:
        """0 when the call may proceed, else the whole seconds to put in Retry-After.

        Limits are per workspace. chat.postMessage is limited per channel; a `chat.postMessage`
        entry in the per-minute limits adds a workspace-wide cap on top (Slack has one, without a
        documented number).
        """
        if self._per_minute is None:
            return 0
        now = self._clock()
        wait = self._window_wait(team_id, method, now)
        if wait <= 0 and method == "chat.postMessage":
            channel = str(params.get("channel", ""))
            bucket = self._channel_buckets.setdefault(
                channel, _TokenBucket(self._message_burst, MESSAGES_PER_SECOND, self._message_burst, now)
            )
            wait = bucket.wait_needed(now)
        if wait > 0:
            return max(1, math.ceil(wait))
        if method in self._per_minute:
            self._method_windows.setdefault((team_id, method), deque()).append(now)
        return 0

    def _window_wait(self, team_id: str, method: str, now: float) -> float:
        """Seconds until `method` is back under its per-minute limit in the workspace (0 when it is, or
        has none)."""
        if method not in self._per_minute:
            return 0
        window = self._method_windows.setdefault((team_id, method), deque())
        while window and window[0] <= now - 60:
            window.popleft()
        return 0 if len(window) < self._per_minute[method] else window[0] + 60 - now

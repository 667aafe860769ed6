"""The ways Slack's edge can fail a request, injected on demand (Slack's rate limits are in
`ratelimits`).

It only decides; the HTTP side turns a fault into the answer Slack would give. It takes no lock:
its users hold the sandbox state's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

FaultKind = Literal["server_error", "timeout", "rate_limited", "lost_response", "slack_error"]
RESPONSE_URL_FAULT_NAME = "response_url"
"""The method name under which faults for response_url POSTs are injected."""


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

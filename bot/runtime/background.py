"""The thread pool Bolt runs listeners on after `ack()`, with a way to wait until it is idle (no
listener running or queued, and none of their replies to Slack still in flight).

Tests and the demo wait for it instead of sleeping; a shutting-down server waits for it so
in-flight work finishes instead of being cut off.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor


class TrackedExecutor(ThreadPoolExecutor):
    def __init__(self, max_workers: int = 32) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="alignbot-listener")
        self._pending = 0
        self._idle = threading.Condition()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        with self._idle:
            self._pending += 1
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._done)
        return future

    def track(self, future: Future) -> None:
        """Count work a listener left running elsewhere (a reply in flight) until it is done."""
        with self._idle:
            self._pending += 1
        future.add_done_callback(self._done)

    def _done(self, _future: Future) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no listener is running or queued and nothing tracked is in flight; False if
        `timeout` ran out first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

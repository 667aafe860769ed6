"""Every replica sends: the leader plans (rounds and their deliveries, as rows), and each replica,
leader or not, drains the pending deliveries through its own outbox, claiming them with
`FOR UPDATE SKIP LOCKED` so replicas take different rows (see `storage.workspaces.claim_some`).

A replica that dies mid-batch leaves its claims `sending`; once stale, the leader's next run looks
each one up in Slack before anything is sent again (see `bot.slack.outbox`).

Slack's posting cap is per workspace, whoever sends: before each drain a replica reads which
replicas are live (`replicas`: their ids, and its own) and posts only to the workspaces that fall to
it, at their whole pace (`Pacer.share_posts`), so that together they keep to each cap instead of
bouncing off it, and a second replica takes half the work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from bot.jobs.pulse_rounds import PulseRunner, RunReport

logger = logging.getLogger(__name__)

#: How often a replica looks for deliveries nobody has claimed.
DRAIN_EVERY_SECONDS = 1.0


class Drainer:
    """A daemon thread that drains the runner's pending DMs every DRAIN_EVERY_SECONDS until stopped."""

    def __init__(
        self,
        runner: PulseRunner,
        every: float = DRAIN_EVERY_SECONDS,
        replicas: Callable[[], tuple[Sequence[int], int | None]] | None = None,
        observe: Callable[[RunReport], None] = lambda _report: None,
    ) -> None:
        self.runner = runner
        self.observe = observe
        self.every = every
        self.replicas = replicas
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="alignbot-drain", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Claim nothing more; the posts in flight are answered and recorded first."""
        self._stop.set()
        self.runner.drain_stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                if self.replicas is not None:
                    self.runner.outbox.share_posts(*self.replicas())
                self.observe(self.runner.drain())
            except Exception:
                logger.exception("draining the outbox failed; the next round retries")

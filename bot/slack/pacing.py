"""Slack's rate limits as the bot keeps to them: a token bucket per workspace and method.

Slack limits each app per workspace and per method: the tiers (Tier 3, about 50 calls a minute, for
`chat.update` and `conversations.history`; Tier 4, about 100, for `views.publish` ...), and for
`chat.postMessage` about one message a second per channel plus a workspace-wide cap it does not
publish ("several hundred a minute"; `posts_per_minute`, 300 unless configured). A bucket spaces its
method's calls evenly at that rate, so the bot stays under the limit instead of bouncing off it.

When Slack says to slow down all the same, the bucket pauses: for `Retry-After` after a 429, or,
after a `rate_limited` with no time given, a second, and it halves its rate; each call Slack
accepts then wins back a little of it, up to the nominal rate.
Buckets let a short burst through first (Slack's tiers welcome them), then space calls evenly.
A commercially distributed app outside the Marketplace reads `conversations.history` once a minute
(since 2025-05-29): `distributed_app` paces it so.

Buckets are shared by every thread and coroutine of the process (under one lock): they reserve
slots, they never sleep themselves. When several replicas send, the workspaces are split among them
(`share_posts`): each workspace's posts go out from one replica at the workspace's whole pace, so
together they keep to it and no replica's share sits unused while it sends another workspace.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

TIER_2, TIER_3, TIER_4 = 20, 50, 100
PER_MINUTE: dict[str, float] = {
    "users.list": TIER_2,
    "conversations.open": TIER_3,
    "conversations.info": TIER_3,
    "conversations.history": TIER_3,
    "chat.update": TIER_3,
    "auth.test": TIER_4,
    "users.info": TIER_4,
    "conversations.members": TIER_4,
    "chat.postEphemeral": TIER_4,
    "views.publish": TIER_4,
}
"""Calls a minute per workspace, by method (Slack's tiers); a method not named here is not paced."""
POSTS_PER_MINUTE = 300
"""chat.postMessage a minute per workspace when nothing else is configured."""
DISTRIBUTED_HISTORY_PER_MINUTE = 1
#: How many calls may go at once, as a share of the calls a minute: the tiers welcome sporadic
#: bursts (15 s worth); chat.postMessage's workspace cap is kept to evenly (half a second's worth).
BURST_SHARE = {False: 1 / 4, True: 1 / 120}
#: The least share of its nominal rate a bucket slows down to.
SLOWEST_SHARE = 1 / 16
#: What each accepted call wins back of a rate Slack made the bucket halve.
RECOVERY = 1.05
#: How long to pause when Slack says to slow down without saying for how long.
DEFAULT_PAUSE = 1.0


@dataclass
class Bucket:
    """One workspace's allowance for one method: up to `burst` calls at once, then calls spaced 1/rate
    apart (a generic cell rate algorithm), none before `paused_until`."""

    nominal: float
    """Calls a second Slack allows."""
    rate: float
    burst: int
    next_free: float = 0.0
    """When the next call would be due if calls came evenly (the theoretical arrival time)."""
    paused_until: float = 0.0

    def reserve(self, now: float) -> float:
        """Take the next slot: the seconds to wait before making the call."""
        due = max(self.next_free, now)
        at = max(now, due - (self.burst - 1) / self.rate, self.paused_until)
        self.next_free = max(due, at) + 1 / self.rate
        return at - now

    def slow_down(self, now: float, retry_after: float | None) -> None:
        """Slack said to slow down: pause as long as it said; without a time, also halve the rate
        (once per pause: the calls already in flight bring the same news)."""
        if retry_after is None and now >= self.paused_until:
            self.rate = max(self.nominal * SLOWEST_SHARE, self.rate / 2)
        self.paused_until = max(self.paused_until, now + (retry_after or DEFAULT_PAUSE))
        self.next_free = max(self.next_free, self.paused_until)

    def accepted(self) -> None:
        self.rate = min(self.nominal, self.rate * RECOVERY)


class Pacer:
    """Every bucket of the process, by (workspace, method); see the module docstring."""

    def __init__(
        self,
        posts_per_minute: float = POSTS_PER_MINUTE,
        distributed_app: bool = False,
        clock: Callable[[], float] = time.monotonic,
        ahead: bool = True,
    ) -> None:
        #: False: no bucket until Slack first says to slow down (for a sandbox without limits).
        self.ahead = ahead
        self.per_minute = dict(PER_MINUTE, **{"chat.postMessage": posts_per_minute})
        if distributed_app:
            self.per_minute["conversations.history"] = DISTRIBUTED_HISTORY_PER_MINUTE
        self.clock = clock
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._lock = threading.Lock()
        self._sharers = 1
        """How many processes share each workspace's chat.postMessage pace."""
        self._replicas: tuple[int, ...] = ()
        self._me: int | None = None
        self._posts_here: dict[str, bool] = {}

    def share_posts(self, replicas: Sequence[int], me: int | None) -> None:
        """Split the workspaces among the live replicas (`replicas`: their ids; `me`: this one's).

        Each workspace is posted to by the replica that ranks first for it (rendezvous hashing: a
        replica that joins or leaves moves only the workspaces it takes or had), at the workspace's
        whole pace. A replica that cannot tell its own id (its session is reconnecting) posts to every
        workspace at 1/n of its pace instead, as n replicas sending at once must."""
        live = tuple(sorted(replicas))
        sharers = 1 if me in live else max(1, len(live))
        with self._lock:
            if (live, me) != (self._replicas, self._me):
                self._replicas, self._me, self._posts_here = live, me, {}
            if sharers == self._sharers:
                return
            for (_, method), bucket in self._buckets.items():
                if method == "chat.postMessage":
                    bucket.rate *= self._sharers / sharers
                    bucket.nominal *= self._sharers / sharers
            self._sharers = sharers

    def posts_here(self, team_id: str) -> bool:
        """Whether this process posts the workspace's messages (see `share_posts`)."""
        with self._lock:
            if self._me not in self._replicas or len(self._replicas) < 2:
                return True
            here = self._posts_here.get(team_id)
            if here is None:
                first = max(self._replicas, key=lambda replica: _rank(team_id, replica))
                here = self._posts_here[team_id] = first == self._me
            return here

    def reserve(self, team_id: str, method: str) -> float:
        """The seconds to wait before calling `method` in the workspace (its slot is then taken)."""
        with self._lock:
            bucket = self._bucket(team_id, method)
            return 0.0 if bucket is None else bucket.reserve(self.clock())

    def slow_down(self, team_id: str, method: str, retry_after: float | None) -> None:
        """Slack said to slow down (for `retry_after` seconds, if it said)."""
        with self._lock:
            bucket = self._bucket(team_id, method, create=True)
            if bucket is not None:
                bucket.slow_down(self.clock(), retry_after)

    def accepted(self, team_id: str, method: str) -> None:
        with self._lock:
            bucket = self._bucket(team_id, method)
            if bucket is not None:
                bucket.accepted()

    def per_second(self, team_id: str, method: str) -> float | None:
        """How many calls a second the workspace may make now (None: not paced)."""
        with self._lock:
            bucket = self._bucket(team_id, method)
            return None if bucket is None else bucket.rate

    def _bucket(self, team_id: str, method: str, create: bool = False) -> Bucket | None:
        bucket = self._buckets.get((team_id, method))
        if bucket is None and method in self.per_minute and (self.ahead or create):
            per_minute = self.per_minute[method] / (self._sharers if method == "chat.postMessage" else 1)
            burst = max(1, int(per_minute * BURST_SHARE[method == "chat.postMessage"]))
            bucket = self._buckets[(team_id, method)] = Bucket(per_minute / 60, per_minute / 60, burst)
        return bucket


def _rank(team_id: str, replica: int) -> bytes:
    """The replica's rank for the workspace: the same in every process, spread evenly."""
    return hashlib.blake2b(f"{team_id}/{replica}".encode(), digest_size=8).digest()

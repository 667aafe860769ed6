"""Everything the bot posts on a schedule goes through here, and goes out exactly once.

A runner describes each kind of row it posts from as a `Mailbox`: which rows are due (claimed in the
database), where each goes, its key, what it says, and how its outcome is written down. The `Outbox`
drives any mailbox through one state machine:

    claim       pending → sending, by a conditional update: one process wins each row
    post        chat.postMessage with the row's key in the message metadata
    look up     after a 5xx (Slack may have posted) the key is looked for in the conversation's
                history at once; after no answer at all, once the claim is stale
    record      sent, failed (for good), pending (try again) — or nothing while the answer is unknown
    recover     claims older than STALE_AFTER: found in Slack → sent; not found → pending again

Nothing is posted again before a look-up says it is not there. A Slack error is one row's outcome,
so one workspace's trouble (a revoked token, a full rate limit) holds up no other.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ALL_COMPLETED, Future, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from slack_sdk import WebClient
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from bot.domain.clock import Clock
from bot.slack.client import Answer, PooledSlack, Transport, with_shared
from bot.slack.pacing import Pacer
from storage.db import Database
from storage.models import UNCONFIRMED, Base, PostStatus
from storage.workspaces import claim_pending, stale_claims

logger = logging.getLogger(__name__)

#: How long a claim may go unsettled before its post is looked up in Slack (the sender is presumed gone).
STALE_AFTER = timedelta(minutes=2)
#: Claims of a row that counts them, after which an unsettled answer is final.
MAX_ATTEMPTS = 5
#: How long a post may stay unconfirmed (no look-up possible) before it is reported and given up.
UNCONFIRMED_AFTER = timedelta(hours=1)
#: How often a batch mailbox is claimed again and its answers recorded, while posts are in flight.
CLAIM_EVERY = 0.2
#: How often a long send reads each workspace's token afresh (a refresh, a revocation, a reinstall):
#: at every claim, that was a read per workspace five times a second.
CREDENTIALS_EVERY = 30.0
#: A workspace's posts are claimed this far ahead of its pace: enough to keep it busy between claims.
CLAIM_AHEAD = 2.0
#: Posts claimed at once per workspace from a transport that does not pace.
MAX_IN_FLIGHT = 64
#: Answers in a row, all unsettled, after which a run stops claiming (Slack is struggling).
STRUGGLING_AFTER = 20
#: Pages of a conversation's history read to look for one post (15 messages a page for some apps).
LOOKUP_PAGES = 3
METADATA_EVENT = "alignbot"
#: Slack errors worth another try later; any other error is final for that message. Rate limits
#: are waited out by the transport; one still answered means "later", never "failed".
TRANSIENT_ERRORS = {
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}
#: A 5xx answer: look the post up before deciding (Slack may have posted it all the same).
LOOK_NOW = "look_now"
#: What a look-up can say besides "found": the post is not there, or no look-up was possible.
NOT_THERE, UNKNOWN = object(), object()
#: Outcomes that leave a row to be tried again, now or once its claim is stale.
UNSETTLED = (PostStatus.PENDING, PostStatus.SENDING)

Message = dict[str, Any]


@dataclass(frozen=True)
class Envelope:
    """One claimed post: the row it comes from (as claimed), its workspace, where it goes and its key."""

    row: Any
    team_id: str
    to: str
    """A channel id, or a person's id for their DM."""
    key: object
    """The post's idempotency key, carried in the message metadata under the mailbox's `kind`."""
    since: datetime | None = None
    """When an earlier claim of it began, if its sender went quiet: look for it from then on first."""
    attempts: int = 0
    """How many times the row was claimed, for rows that count (see MAX_ATTEMPTS)."""
    prepared: Any = None
    """What the mailbox read for `compose` while claiming, in the claim's transaction (a batch read
    together costs a few queries, not a few per post); None: `compose` reads what it needs."""


@dataclass(frozen=True)
class Outcome:
    """What becomes of a post: `sent` (where and when it landed), `failed` (with Slack's error),
    `pending` (try again), `sending` (no answer: the claim stays until a look-up settles it), or
    a status of the mailbox's own that a runner chose without posting (`dropped`)."""

    status: PostStatus
    channel: str | None = None
    ts: str | None = None
    error: str | None = None


class Mailbox(Protocol):
    """One kind of row the bot posts from, as its runner describes it."""

    kind: str
    """The metadata field its keys go under (`delivery_id`, `channel_post`, ...)."""
    in_batches: bool
    """True: `claim` returns what is due a batch at a time (each workspace as much as `Outbox.room`
    allows), claimed again while posts are in flight, until none is left, the process is stopping,
    or Slack is struggling. False: `claim` returns everything due, once a run. Either way the posts
    go out concurrently, each paced in its workspace."""

    def claim(self, session: Session, now: datetime) -> Sequence[Envelope]:
        """Move rows that are due to `sending` and address them."""

    def stale(self, session: Session, before: datetime) -> Sequence[Envelope]:
        """Rows claimed before `before` and never settled, each with `since` set."""

    def prepare(self, envelopes: Sequence[Envelope]) -> None:
        """Read what composing a claimed batch needs from elsewhere, side by side, once the claim's
        transaction is over (nothing by default)."""

    def compose(self, envelope: Envelope) -> Message | Outcome:
        """The message to post, or an outcome without posting (nothing to say any more)."""

    def record(self, session: Session, envelope: Envelope, outcome: Outcome) -> None:
        """Write the outcome down on the row; never called with `sending`."""


class RowMailbox:
    """The usual mailbox: a table whose rows carry their own claim (`status`, `claimed_at`), claimed
    by `claim_pending` and recovered by `stale_claims`. A subclass names the table (`model`), says
    where a row goes and under which key (`address`), and composes and records as a `Mailbox`."""

    model: type[Base]
    kind: str
    in_batches = False

    def address(self, row: Any) -> tuple[str, object]:
        """Where the row's message goes (a channel id, or a person's id) and its key."""
        raise NotImplementedError

    def prepare(self, envelopes: Sequence[Envelope]) -> None:
        pass

    def claim(self, session: Session, now: datetime) -> list[Envelope]:
        return [self.envelope(row) for row in claim_pending(session, self.model, now)]

    def stale(self, session: Session, before: datetime) -> list[Envelope]:
        return [self.envelope(row, row.claimed_at) for row in stale_claims(session, self.model, before)]

    def envelope(self, row: Any, since: datetime | None = None) -> Envelope:
        to, key = self.address(row)
        return Envelope(row, row.team_id, to, key, since)

    def claimed_row(self, session: Session, envelope: Envelope) -> Any:
        """The envelope's row in `session`, to record its outcome on; None once it was deleted."""
        return session.get(self.model, inspect(envelope.row).identity)

    def load_claimed(self, session: Session, envelopes: Sequence[Envelope]) -> list:
        """Read the envelopes' rows into `session` in one query, so that recording a batch's outcomes
        (`claimed_row`) reads no row on its own; keep what it returns while recording (the session
        holds its rows only while something else does)."""
        key = list(self.model.__table__.primary_key.columns)
        if len(key) != 1 or len(envelopes) < 2:
            return []
        ids = [inspect(envelope.row).identity[0] for envelope in envelopes]
        return list(session.scalars(select(self.model).where(key[0].in_(ids))))


class Outbox:
    """Drives any mailbox through the one state machine (see above), with one runner's Slack clients."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        slack_for: Callable[[str], WebClient],
        stopping: threading.Event | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.slack_for = slack_for
        #: Every call to Slack, many in flight, each paced (shared by the process's runners).
        self.transport = transport or PooledSlack(slack_for, Pacer())
        #: Set while the process shuts down or hands the scheduler over: nothing more is claimed after
        #: the posts in flight, and the rest stays pending for the next run (here or on another replica).
        self.stopping = stopping or threading.Event()

    def recover(self, mailbox: Mailbox) -> int:
        """Settle the claims whose sender went quiet: found in Slack → sent; not there → pending again.
        While no look-up can say (Slack keeps refusing it), the claim stays: it is never posted again
        on a guess. After UNCONFIRMED_AFTER of that, it is reported and given up, not sent twice.
        Returns how many were given up so."""
        now, unconfirmed = self.clock.now(), 0
        self.reread_credentials()
        with self.database.session() as session:
            stale = mailbox.stale(session, now - STALE_AFTER)
        for envelope in stale:
            found = self._look_up(envelope, envelope.since, mailbox.kind)
            if found is UNKNOWN:
                if envelope.since is not None and now - envelope.since >= UNCONFIRMED_AFTER:
                    unconfirmed += 1
                    logger.error(
                        "%s %s to %s: no look-up could confirm it in %s; reported, not sent again",
                        mailbox.kind,
                        envelope.key,
                        envelope.to,
                        UNCONFIRMED_AFTER,
                    )
                    with self.database.session() as session:
                        mailbox.record(session, envelope, Outcome(PostStatus.FAILED, error=UNCONFIRMED))
                continue
            if found is not NOT_THERE:
                logger.info("%s %s was sent before a crash: recorded, not resent", mailbox.kind, envelope.key)
            with self.database.session() as session:
                mailbox.record(
                    session, envelope, Outcome(PostStatus.PENDING) if found is NOT_THERE else found
                )
        return unconfirmed

    def send(self, mailbox: Mailbox) -> list[Outcome]:
        """Claim what is due, post it and record each outcome; returns the outcomes, for the reports.

        Posts go out concurrently, paced per workspace: a batch mailbox is claimed again and again,
        each workspace only as much as its pace lets out soon (`room`), so every workspace sends at
        once and a large one holds up no other."""
        outcomes: list[Outcome] = []
        flight: dict[Future[Answer], Envelope] = {}
        decided: list[tuple[Envelope, Outcome]] = []  # settled without an answer from Slack
        claiming, last_claim, unsettled_in_a_row = not self.stopping.is_set(), 0.0, 0
        last_reread = -CREDENTIALS_EVERY
        while claiming or flight or decided:
            if claiming and (not flight or time.monotonic() - last_claim >= CLAIM_EVERY):
                last_claim = time.monotonic()
                if last_claim - last_reread >= CREDENTIALS_EVERY:
                    last_reread = last_claim
                    self.reread_credentials()
                with self.database.session() as session:
                    envelopes = mailbox.claim(session, self.clock.now())
                mailbox.prepare(envelopes)
                for envelope in envelopes:
                    started = self._start(mailbox, envelope)
                    if isinstance(started, Outcome):
                        decided.append((envelope, started))
                    else:
                        flight[started] = envelope
                # A batch mailbox is claimed again until a claim finds nothing with nothing in flight
                # (an empty claim while posts are out may only mean every workspace is at its pace).
                claiming = mailbox.in_batches and bool(envelopes or flight) and not self.stopping.is_set()
            answered, decided = decided, []
            if flight:
                done, _ = wait(flight, timeout=CLAIM_EVERY, return_when=ALL_COMPLETED)
                answered += [(flight.pop(future), self._classify(future.result())) for future in done]
            if not answered:
                continue
            settled = self._record(mailbox, answered)
            outcomes += settled
            for outcome in settled:
                unsettled_in_a_row = unsettled_in_a_row + 1 if outcome.status in UNSETTLED else 0
            if unsettled_in_a_row >= STRUGGLING_AFTER:
                claiming = False  # Slack is struggling: leave the rest for the next run
        return outcomes

    def room(self, team_id: str) -> int:
        """How many more of the workspace's posts to claim now: what its pace lets out within
        CLAIM_AHEAD, less what is in flight (by any outbox on the same transport)."""
        if isinstance(self.transport, PooledSlack):
            return self.transport.room(team_id, "chat.postMessage", CLAIM_AHEAD)
        return MAX_IN_FLIGHT

    def share_posts(self, replicas: Sequence[int], me: int | None) -> None:
        """Split the workspaces' posting among the live replicas (see `Pacer.share_posts`)."""
        if isinstance(self.transport, PooledSlack):
            self.transport.pacer.share_posts(replicas, me)

    def reread_credentials(self) -> None:
        """The next calls read each workspace's token afresh (see `PooledSlack.reread_credentials`)."""
        if isinstance(self.transport, PooledSlack):
            self.transport.reread_credentials()

    def update(self, team_id: str, channel: str, ts: str, message: Message) -> Future[Answer]:
        """Edit a posted message in place, paced with every other call to Slack. Editing twice is
        harmless, so there is nothing to look up; Slack's refusal is logged and left."""
        future = self.transport.call(team_id, "chat.update", {"channel": channel, "ts": ts, **message})
        future.add_done_callback(lambda done: _log_refused_update(done.result(), channel, ts))
        return future

    # ----- the state machine -----------------------------------------------------------------------

    def _start(self, mailbox: Mailbox, envelope: Envelope) -> Future[Answer] | Outcome:
        """Look first if an earlier claim may have posted it; then post (Slack's answer to come, see
        `_classify`), unless there is nothing to say: then the outcome, at once."""
        if envelope.since is not None:
            found = self._look_up(envelope, envelope.since, mailbox.kind)
            if found is UNKNOWN:
                return Outcome(PostStatus.SENDING, error="lookup_refused")
            if found is not NOT_THERE:
                return found
        message = mailbox.compose(envelope)
        if isinstance(message, Outcome):
            return message
        own = {
            "channel": envelope.to,
            "metadata": {"event_type": METADATA_EVENT, "event_payload": {mailbox.kind: envelope.key}},
        }
        params = with_shared(own, message)
        return self.transport.call(envelope.team_id, "chat.postMessage", params)

    def _classify(self, answer: Answer) -> Outcome:
        """A post's answer as an outcome; a 5xx leaves it `sending` for an immediate look-up."""
        if answer.ok:
            return Outcome(PostStatus.SENT, answer.body["channel"], answer.body["ts"])
        if answer.status is None:
            return Outcome(PostStatus.SENDING, error=answer.error)
        if answer.status >= 500:
            return Outcome(PostStatus.SENDING, error=LOOK_NOW)
        if answer.rate_limited or answer.error in TRANSIENT_ERRORS:
            return Outcome(PostStatus.PENDING, error=answer.error)
        return Outcome(PostStatus.FAILED, error=answer.error)

    def _record(self, mailbox: Mailbox, answered: list[tuple[Envelope, Outcome]]) -> list[Outcome]:
        """Write down each outcome (one transaction); an unknown one keeps its claim for a later look-up.
        After a 5xx (Slack may have posted all the same) the post is looked up first: found → sent,
        not there → pending, no look-up possible → the claim stays for `recover`. A row that counts
        its claims fails for good once it has had MAX_ATTEMPTS without an answer."""
        looked_up = []
        for envelope, outcome in answered:
            if outcome.error == LOOK_NOW:
                found = self._look_up(envelope, self.clock.now() - STALE_AFTER, mailbox.kind)
                if found is NOT_THERE:
                    outcome = Outcome(PostStatus.PENDING, error="server_error")
                elif found is UNKNOWN:
                    outcome = Outcome(PostStatus.SENDING, error="server_error")
                else:
                    outcome = found
            looked_up.append((envelope, outcome))
        settled = []
        with self.database.session() as session:
            loaded = (
                mailbox.load_claimed(session, [e for e, _ in looked_up])
                if isinstance(mailbox, RowMailbox)
                else []
            )
            for envelope, outcome in looked_up:
                if outcome.status in UNSETTLED and envelope.attempts >= MAX_ATTEMPTS:
                    outcome = Outcome(PostStatus.FAILED, error=outcome.error)
                if outcome.status == PostStatus.FAILED:
                    logger.warning(
                        "%s %s to %s failed: %s", mailbox.kind, envelope.key, envelope.to, outcome.error
                    )
                if outcome.status != PostStatus.SENDING:
                    mailbox.record(session, envelope, outcome)
                settled.append(outcome)
            del loaded
        return settled

    def _look_up(self, envelope: Envelope, since: datetime, kind: str) -> Outcome | object:
        """`sent`, where it landed, if a message carrying the envelope's key is in its conversation;
        NOT_THERE if Slack's history says it is not; UNKNOWN if Slack would not say (rate-limited
        beyond the wait, an error): then nothing may be posted again."""
        channel = self._conversation(envelope)
        if channel is None:
            return UNKNOWN
        cursor = None
        for _page in range(LOOKUP_PAGES):
            params = {
                "channel": channel,
                "oldest": f"{since.timestamp() - 5:.6f}",
                "include_all_metadata": True,
                "limit": 200,
                **({"cursor": cursor} if cursor else {}),
            }
            answer = self.transport.call(envelope.team_id, "conversations.history", params).result()
            if not answer.ok:
                logger.warning(
                    "could not read %s's history to look for %s=%s: %s",
                    channel,
                    kind,
                    envelope.key,
                    answer.error,
                )
                return UNKNOWN
            for message in answer.body.get("messages", []):
                if _carries(message, kind, envelope.key):
                    return Outcome(PostStatus.SENT, channel, message["ts"])
            cursor = (answer.body.get("response_metadata") or {}).get("next_cursor")
            if not answer.body.get("has_more") or not cursor:
                return NOT_THERE
        return UNKNOWN

    def _conversation(self, envelope: Envelope) -> str | None:
        """Where the envelope's messages land: its channel, or the bot's DM with the person."""
        if not is_person(envelope.to):
            return envelope.to
        answer = self.transport.call(envelope.team_id, "conversations.open", {"users": envelope.to}).result()
        if not answer.ok:
            logger.warning("could not open the DM with %s: %s", envelope.to, answer.error)
            return None
        return answer.body["channel"]["id"]


def _carries(message: dict, kind: str, key: object) -> bool:
    metadata = message.get("metadata") or {}
    return metadata.get("event_type") == METADATA_EVENT and metadata.get("event_payload", {}).get(kind) == key


def _log_refused_update(answer: Answer, channel: str, ts: str) -> None:
    if not answer.ok:
        logger.warning("updating %s in %s: %s", ts, channel, answer.error)


def is_person(destination: str) -> bool:
    """A user id (a DM), as opposed to a channel id."""
    return destination.startswith(("U", "W"))

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

import http.client
import logging
import socket
import threading
import urllib.error
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from bot.domain.clock import Clock
from storage.db import Database
from storage.models import Base, PostStatus
from storage.workspaces import claim_pending, stale_claims

logger = logging.getLogger(__name__)

#: How long a claim may go unsettled before its post is looked up in Slack (the sender is presumed gone).
STALE_AFTER = timedelta(minutes=2)
#: Claims of a row that counts them, after which an unsettled answer is final.
MAX_ATTEMPTS = 5
#: Posts in flight at once for a mailbox that works in batches.
SEND_WORKERS = 4
METADATA_EVENT = "alignbot"
#: Slack errors worth another try later; any other error is final for that message.
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
#: What a dropped connection or a timeout looks like from slack_sdk: we cannot know if Slack acted.
UNCERTAIN = (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException)
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
    """True: `claim` returns one batch at a time, posted SEND_WORKERS at once, and the next batch is
    claimed until none is left, the process is stopping, or Slack is struggling. False: `claim`
    returns everything due, posted in turn, once a run."""

    def claim(self, session: Session, now: datetime) -> Sequence[Envelope]:
        """Move rows that are due to `sending` and address them."""

    def stale(self, session: Session, before: datetime) -> Sequence[Envelope]:
        """Rows claimed before `before` and never settled, each with `since` set."""

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


class Outbox:
    """Drives any mailbox through the one state machine (see above), with one runner's Slack clients."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        slack_for: Callable[[str], WebClient],
        stopping: threading.Event | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.slack_for = slack_for
        #: Set while the process shuts down or hands the scheduler over: nothing more is claimed after
        #: the batch in flight, and the rest stays pending for the next run (here or on another replica).
        self.stopping = stopping or threading.Event()

    def recover(self, mailbox: Mailbox) -> None:
        """Settle the claims whose sender went quiet: found in Slack → sent; not found → pending again."""
        with self.database.session() as session:
            stale = mailbox.stale(session, self.clock.now() - STALE_AFTER)
        for envelope in stale:
            found = self._look_up(envelope, envelope.since, mailbox.kind)
            if found:
                logger.info("%s %s was sent before a crash: recorded, not resent", mailbox.kind, envelope.key)
            with self.database.session() as session:
                mailbox.record(session, envelope, found or Outcome(PostStatus.PENDING))

    def send(self, mailbox: Mailbox) -> list[Outcome]:
        """Claim what is due, post it and record each outcome; returns the outcomes, for the reports."""
        if mailbox.in_batches:
            return self._send_in_batches(mailbox)
        if self.stopping.is_set():
            return []
        with self.database.session() as session:
            envelopes = mailbox.claim(session, self.clock.now())
        outcomes = []
        for envelope in envelopes:  # each recorded as soon as it is known
            outcomes += self._record(mailbox, [(envelope, self._deliver(mailbox, envelope))])
        return outcomes

    def update(self, team_id: str, channel: str, ts: str, message: Message) -> None:
        """Edit a posted message in place. Editing twice is harmless, so there is nothing to look up;
        Slack's refusal is logged and left."""
        try:
            self.slack_for(team_id).chat_update(channel=channel, ts=ts, **message)
        except SlackApiError as error:
            logger.warning("updating %s in %s: %s", ts, channel, error.response.get("error"))

    # ----- the state machine -----------------------------------------------------------------------

    def _send_in_batches(self, mailbox: Mailbox) -> list[Outcome]:
        outcomes: list[Outcome] = []
        with ThreadPoolExecutor(max_workers=SEND_WORKERS, thread_name_prefix="alignbot-send") as pool:
            while not self.stopping.is_set():
                with self.database.session() as session:
                    batch = mailbox.claim(session, self.clock.now())
                if not batch:
                    break
                answers = list(pool.map(lambda envelope: self._deliver(mailbox, envelope), batch))
                settled = self._record(mailbox, list(zip(batch, answers, strict=True)))
                outcomes += settled
                logger.info(
                    "%s: %s sent, %s failed in a batch of %s",
                    mailbox.kind,
                    sum(o.status == PostStatus.SENT for o in settled),
                    sum(o.status == PostStatus.FAILED for o in settled),
                    len(batch),
                )
                if all(answer.status in UNSETTLED for answer in answers):
                    break  # Slack is struggling: leave the rest for the next run
        return outcomes

    def _deliver(self, mailbox: Mailbox, envelope: Envelope) -> Outcome:
        """Look first if an earlier claim may have posted it; then post, unless there is nothing to say."""
        if envelope.since is not None:
            found = self._look_up(envelope, envelope.since, mailbox.kind)
            if found:
                return found
        message = mailbox.compose(envelope)
        if isinstance(message, Outcome):
            return message
        return self._post(mailbox.kind, envelope, message)

    def _post(self, kind: str, envelope: Envelope, message: Message) -> Outcome:
        """chat.postMessage with the key in the message metadata, its answer classified."""
        try:
            answer = self.slack_for(envelope.team_id).chat_postMessage(
                channel=envelope.to,
                metadata={"event_type": METADATA_EVENT, "event_payload": {kind: envelope.key}},
                **message,
            )
        except SlackApiError as error:
            status = error.response.status_code
            if status >= 500:  # Slack may have posted all the same: look now, before anything is resent
                since = self.clock.now() - STALE_AFTER
                return self._look_up(envelope, since, kind) or Outcome(
                    PostStatus.PENDING, error=f"http_{status}"
                )
            code = str(error.response.get("error") or f"http_{status}")[:64]
            return Outcome(PostStatus.PENDING if code in TRANSIENT_ERRORS else PostStatus.FAILED, error=code)
        except UNCERTAIN as error:
            return Outcome(PostStatus.SENDING, error=type(error).__name__)
        return Outcome(PostStatus.SENT, answer["channel"], answer["ts"])

    def _record(self, mailbox: Mailbox, answered: list[tuple[Envelope, Outcome]]) -> list[Outcome]:
        """Write down each outcome (one transaction); an unknown one keeps its claim for a later look-up.
        A row that counts its claims fails for good once it has had MAX_ATTEMPTS without an answer."""
        settled = []
        with self.database.session() as session:
            for envelope, outcome in answered:
                if outcome.status in UNSETTLED and envelope.attempts >= MAX_ATTEMPTS:
                    outcome = Outcome(PostStatus.FAILED, error=outcome.error)
                if outcome.status == PostStatus.FAILED:
                    logger.warning(
                        "%s %s to %s failed: %s", mailbox.kind, envelope.key, envelope.to, outcome.error
                    )
                if outcome.status != PostStatus.SENDING:
                    mailbox.record(session, envelope, outcome)
                settled.append(outcome)
        return settled

    def _look_up(self, envelope: Envelope, since: datetime, kind: str) -> Outcome | None:
        """`sent`, where it landed, if a message carrying the envelope's key is in its conversation."""
        client = self.slack_for(envelope.team_id)
        channel = conversation(client, envelope.to)
        ts = channel and find_in_history(client, channel, since, kind, envelope.key)
        return Outcome(PostStatus.SENT, channel, ts) if ts else None


def conversation(client: WebClient, to: str) -> str | None:
    """Where messages to `to` land: a channel id as is; a person's id becomes the bot's DM with them."""
    if not is_person(to):
        return to
    try:
        return client.conversations_open(users=to)["channel"]["id"]
    except SlackApiError as error:
        logger.warning("could not open the DM with %s: %s", to, error.response.get("error"))
        return None


def is_person(destination: str) -> bool:
    """A user id (a DM), as opposed to a channel id."""
    return destination.startswith(("U", "W"))


def find_in_history(client: WebClient, channel: str, since: datetime, kind: str, key: object) -> str | None:
    """The ts of our message carrying `kind: key` in its metadata, posted in `channel` since `since`."""
    try:
        history = client.conversations_history(
            channel=channel, oldest=f"{since.timestamp() - 5:.6f}", include_all_metadata=True, limit=200
        )
    except SlackApiError as error:
        logger.warning(
            "could not read %s's history to look for %s=%s: %s",
            channel,
            kind,
            key,
            error.response.get("error"),
        )
        return None
    for message in history["messages"]:
        metadata = message.get("metadata") or {}
        if (
            metadata.get("event_type") == METADATA_EVENT
            and metadata.get("event_payload", {}).get(kind) == key
        ):
            return message["ts"]
    return None

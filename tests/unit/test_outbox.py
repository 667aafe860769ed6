"""The outbox's contract, on a real SQLite database and a scripted Slack: a row is claimed once, its
message carries its key, an uncertain answer is looked up before anything is posted again, and every
outcome ends up on the row."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.clock import ManualClock
from bot.slack import outbox as outbox_module
from bot.slack.client import Answer
from bot.slack.outbox import MAX_ATTEMPTS, STALE_AFTER, Envelope, Outbox, Outcome, RowMailbox
from storage import digests as store
from storage.db import Database
from storage.models import Base, DigestPost, PostStatus
from storage.workspaces import claim_pending, stale_claims

NOW = datetime(2026, 3, 9, 9, tzinfo=UTC)
ACME, GLOBEX = "T0ACME", "T0GLOBEX"
CHANNEL, PERSON = "C0LEADERS", "U0LEADER1"
BATCH = 2


class FakeSlack:
    """The outbox's transport with chat.postMessage, conversations.history and conversations.open,
    each post answered as scripted.

    `posted` keeps the message in the channel, as Slack would, before any scripted failure. A
    scripted `ratelimited` is what the real transport hands back once it has waited long enough.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[dict]] = {}
        self.script: list[str] = []
        self.posts = 0

    def call(self, team_id: str, method: str, params: dict) -> Future[Answer]:
        answer = getattr(self, method.replace(".", "_"))(**params)
        future: Future[Answer] = Future()
        future.set_result(answer)
        return future

    def chat_postMessage(self, channel: str, metadata: dict, **message) -> Answer:  # noqa: N802 (Slack's name)
        self.posts += 1
        answer = self.script.pop(0) if self.script else "ok"
        landed = f"D{channel}" if channel.startswith("U") else channel
        if answer in ("ok", "lost_after_posting", "5xx_after_posting"):
            ts = f"{1000 + self.posts}.000100"
            self.history.setdefault(landed, []).append({"ts": ts, "metadata": metadata, **message})
        if answer in ("lost", "lost_after_posting"):
            return Answer(None, {"ok": False, "error": "TimeoutError"})
        if answer in ("5xx", "5xx_after_posting"):
            return Answer(503, {})
        if answer != "ok":
            return Answer(429 if answer == "ratelimited" else 200, {"ok": False, "error": answer})
        return Answer(200, {"ok": True, "channel": landed, "ts": ts})

    def conversations_history(self, channel: str, **_options) -> Answer:
        return Answer(200, {"ok": True, "messages": list(reversed(self.history.get(channel, [])))})

    def conversations_open(self, users: str) -> Answer:
        return Answer(200, {"ok": True, "channel": {"id": f"D{users}"}})

    def messages(self, channel: str) -> list[dict]:
        return self.history.get(channel, [])


class ByTeam:
    """One scripted Slack per workspace."""

    def __init__(self, slacks: dict[str, FakeSlack]) -> None:
        self.slacks = slacks

    def call(self, team_id: str, method: str, params: dict) -> Future[Answer]:
        return self.slacks[team_id].call(team_id, method, params)


class Posts(RowMailbox):
    """A mailbox over digest posts, the simplest rows with a claim."""

    model = DigestPost
    kind = "test_post"

    def __init__(self, in_batches: bool = False, attempts: int = 0) -> None:
        self.in_batches = in_batches
        self.attempts = attempts

    def claim(self, session, now) -> list[Envelope]:
        claimed = claim_pending(session, DigestPost, now, BATCH if self.in_batches else None)
        return [replace(self.envelope(post), attempts=self.attempts) for post in claimed]

    def address(self, post: DigestPost) -> tuple[str, object]:
        return post.destination, f"{post.digest_id}:{post.destination}"

    def compose(self, envelope: Envelope) -> dict:
        return {"text": f"for {envelope.to}"}

    def record(self, session, envelope: Envelope, outcome: Outcome) -> None:
        post = self.claimed_row(session, envelope)
        post.status, post.message_ts, post.channel_id, post.error = (
            outcome.status,
            outcome.ts,
            outcome.channel,
            outcome.error,
        )


@pytest.fixture
def database(tmp_path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'outbox.db'}")
    Base.metadata.create_all(database.engine)
    return database


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def slack() -> FakeSlack:
    return FakeSlack()


@pytest.fixture
def outbox(database, clock, slack) -> Outbox:
    return Outbox(database, clock, lambda _team_id: None, transport=slack)


def add_posts(database: Database, *destinations: str, team_id: str = ACME) -> None:
    with database.session() as session:
        digest = store.add_digest(session, team_id, date(2026, 3, 9), NOW, None, NOW)
        store.add_posts(session, digest, list(destinations))


def row(database: Database, destination: str) -> DigestPost:
    with database.session() as session:
        return session.get(DigestPost, (1, destination))


def test_a_post_goes_out_once_with_its_key_in_the_metadata_and_is_recorded(database, outbox, slack):
    add_posts(database, CHANNEL, PERSON)
    outcomes = outbox.send(Posts())
    assert [o.status for o in outcomes] == [PostStatus.SENT, PostStatus.SENT]
    (message,) = slack.messages(CHANNEL)
    assert message["metadata"] == {"event_type": "alignbot", "event_payload": {"test_post": f"1:{CHANNEL}"}}
    post = row(database, PERSON)
    assert (post.status, post.channel_id, post.message_ts) == ("sent", f"D{PERSON}", "1002.000100")
    assert outbox.send(Posts()) == []  # nothing is claimed twice
    assert slack.posts == 2


def test_a_5xx_after_slack_posted_is_looked_up_at_once_and_not_posted_again(database, outbox, slack):
    add_posts(database, CHANNEL)
    slack.script = ["5xx_after_posting"]
    (outcome,) = outbox.send(Posts())
    assert (outcome.status, outcome.channel) == (PostStatus.SENT, CHANNEL)
    assert row(database, CHANNEL).message_ts == slack.messages(CHANNEL)[0]["ts"]
    assert slack.posts == 1


def test_a_5xx_that_did_not_post_leaves_the_row_pending_for_the_next_try(database, outbox, slack):
    add_posts(database, CHANNEL)
    slack.script = ["5xx"]
    outbox.send(Posts())
    assert (row(database, CHANNEL).status, row(database, CHANNEL).error) == ("pending", "server_error")
    outbox.send(Posts())
    assert len(slack.messages(CHANNEL)) == 1
    assert row(database, CHANNEL).status == "sent"


def test_a_lost_answer_keeps_the_claim_until_stale_then_is_found_and_not_posted_again(
    database, outbox, slack, clock
):
    add_posts(database, CHANNEL)
    slack.script = ["lost_after_posting"]
    (outcome,) = outbox.send(Posts())
    assert outcome.status == PostStatus.SENDING
    outbox.recover(Posts())
    assert row(database, CHANNEL).status == "sending"  # not yet stale: nobody guesses
    clock.advance(STALE_AFTER + timedelta(seconds=1))
    outbox.recover(Posts())
    outbox.send(Posts())
    assert row(database, CHANNEL).status == "sent"
    assert row(database, CHANNEL).message_ts == slack.messages(CHANNEL)[0]["ts"]
    assert slack.posts == 1


def test_a_lost_post_that_never_reached_slack_is_posted_again_once_stale(database, outbox, slack, clock):
    add_posts(database, CHANNEL)
    slack.script = ["lost"]
    outbox.send(Posts())
    clock.advance(STALE_AFTER + timedelta(seconds=1))
    outbox.recover(Posts())
    assert row(database, CHANNEL).status == "pending"
    outbox.send(Posts())
    assert len(slack.messages(CHANNEL)) == 1
    assert row(database, CHANNEL).status == "sent"


@pytest.mark.parametrize(
    ("answer", "status"),
    [("not_in_channel", "failed"), ("ratelimited", "pending"), ("channel_not_found", "failed")],
)
def test_slack_refusals_are_final_and_transient_errors_are_tried_again(
    database, outbox, slack, answer, status
):
    add_posts(database, CHANNEL)
    slack.script = [answer]
    outbox.send(Posts())
    assert (row(database, CHANNEL).status, row(database, CHANNEL).error) == (status, answer)


def test_a_row_that_counts_its_claims_fails_after_max_attempts(database, outbox, slack):
    add_posts(database, CHANNEL)
    slack.script = ["ratelimited"]
    outbox.send(Posts(attempts=MAX_ATTEMPTS))
    assert (row(database, CHANNEL).status, row(database, CHANNEL).error) == ("failed", "ratelimited")


def test_a_claim_taken_over_from_a_stopped_sender_is_looked_up_before_it_is_posted(
    database, outbox, slack, clock
):
    add_posts(database, CHANNEL)
    slack.script = ["lost_after_posting"]
    outbox.send(Posts())

    class TakenOver(Posts):
        """Claims what went stale itself, as the digest's failure notices do."""

        def claim(self, session, now):
            stale = stale_claims(session, DigestPost, now - STALE_AFTER)
            return [self.envelope(post, post.claimed_at) for post in stale]

    clock.advance(STALE_AFTER + timedelta(seconds=1))
    (outcome,) = outbox.send(TakenOver())
    assert outcome.status == PostStatus.SENT
    assert slack.posts == 1


def test_nothing_is_claimed_while_stopping(database, outbox, slack):
    add_posts(database, CHANNEL)
    outbox.stopping.set()
    assert outbox.send(Posts()) == outbox.send(Posts(in_batches=True)) == []
    assert row(database, CHANNEL).status == "pending"


def test_batches_stop_when_slack_is_struggling_and_leave_the_rest_pending(
    database, outbox, slack, monkeypatch
):
    monkeypatch.setattr(outbox_module, "STRUGGLING_AFTER", 2)
    add_posts(database, "C1", "C2", "C3")
    slack.script = ["ratelimited", "ratelimited"]
    outcomes = outbox.send(Posts(in_batches=True))
    assert [o.status for o in outcomes] == [PostStatus.PENDING, PostStatus.PENDING]
    assert row(database, "C3").status == "pending" and slack.posts == 2


def test_one_workspaces_refusal_holds_up_no_other(database, clock):
    acme, globex = FakeSlack(), FakeSlack()
    globex.script = ["not_authed"]
    outbox = Outbox(database, clock, lambda _team_id: None, transport=ByTeam({ACME: acme, GLOBEX: globex}))
    add_posts(database, "C0GLOBEX", team_id=GLOBEX)
    add_posts(database, CHANNEL, team_id=ACME)
    outcomes = outbox.send(Posts())
    assert sorted(o.status for o in outcomes) == [PostStatus.FAILED, PostStatus.SENT]
    assert len(acme.messages(CHANNEL)) == 1
    with database.session() as session:
        assert session.get(DigestPost, (2, CHANNEL)).status == "sent"

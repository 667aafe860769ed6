"""The anonymity guarantee, property-tested on a real SQLite database through the real services and
the real pulse job (planning, sending through the Slack sandbox, closing).

Hypothesis runs people answering (several at once, or one more tap), changing answers, commenting,
choosing a team, being forgotten, joining and leaving channels, admins changing the threshold or
sending a round by hand, and time passing (rounds opening and closing), in any order, and reads
every surface an admin can (the export's rows, the digest preview, the Home tab's score,
participation, the trend) after every step. It checks that:

- between two readings with no close in between, every figure is the same (the preview's count
  of people who answered a round still open aside, and comments after a forget-me);
- the snapshot instant moves exactly when a round closes;
- reading an earlier snapshot instant again gives the figures it gave then, whatever happened
  since (forget-me and threshold changes included);
- across a close, every figure shown rests on at least the threshold's number of people.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from bot.domain import schedule
from bot.domain.cadence import CadenceSettings
from bot.domain.clock import ManualClock
from bot.domain.export import rows
from bot.domain.question_bank import load_bank
from bot.domain.scoring import Results
from bot.domain.vocabulary import MARKETING, SALES
from bot.domain.workspace_setup import WorkspaceConfig
from bot.jobs.pulse_rounds import PulseRunner
from bot.sandbox.server import SlackSandbox
from bot.sandbox.workspace import (
    ADMIN,
    HEAD_OF_MARKETING,
    HEAD_OF_SALES,
    MARKETERS,
    MARKETING_CHANNEL,
    OWNER,
    SALES_AND_MARKETING,
    SALES_CHANNEL,
    SALESPEOPLE,
    default_workspace,
)
from bot.services.insights import HISTORY_WEEKS, TREND_WEEKS, InsightService
from bot.services.lifecycle import forget
from bot.services.pulses import PulseService
from bot.services.workspaces import WorkspaceService
from bot.slack.client import PooledSlack, build_client
from bot.slack.modal_metadata import MetadataSeal
from bot.slack.pacing import Pacer
from bot.slack.presenters import default_presenter
from storage import migrate
from storage import pulses as pulse_store
from storage.db import Database
from storage.models import Answer, PulseRound

TEAM = "T0ACME001"
TIMEZONE = "Europe/Berlin"
START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # Monday; the pulse goes out on Tuesdays at 10:00
TEAMS = (HEAD_OF_SALES, *SALESPEOPLE, HEAD_OF_MARKETING, *MARKETERS)
PEOPLE = (*TEAMS, SALES_AND_MARKETING, OWNER, ADMIN)
CHANNELS = (SALES_CHANNEL, MARKETING_CHANNEL)
STEPS = (timedelta(hours=1), timedelta(hours=7), timedelta(days=1), timedelta(days=2), timedelta(days=3))
COMMENTS = ("more shared pipeline reviews", "handoffs are slow", "good quarter", "")
#: Enough to matter in CI: each of the test's two halves (run side by side by the workers, each
#: with its own random examples) takes one to two minutes on one core.
EXAMPLES, STEPS_PER_EXAMPLE = 5, 30


def config(threshold: int) -> WorkspaceConfig:
    return WorkspaceConfig((SALES_CHANNEL,), (MARKETING_CHANNEL,), None, TIMEZONE, "en", threshold, ())


def pulse() -> CadenceSettings:
    recurrence = schedule.Recurrence(
        kind=schedule.WEEKLY,
        local_time=time(10, 0),
        timezone=TIMEZONE,
        start=date(2026, 3, 2),
        weekdays=frozenset({1}),
    )
    return CadenceSettings(name="Weekly", recurrence=recurrence, answer_window_hours=48, reminders=0)


def shown_on_fewer_than(results: Results, threshold: int) -> list[str]:
    """The figures shown although fewer than `threshold` people gave them (there should be none)."""
    figures = [*results.items.items(), *results.dimensions.items(), *results.composites.items()]
    return [
        str(key)
        for key, figure in figures
        if not figure.withheld and (figure.respondents is None or figure.respondents < threshold)
    ]


class AnonymityMachine(RuleBasedStateMachine):
    sandbox: SlackSandbox
    template: Path
    """An empty database, migrated once, copied for each example."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="alignbot-anonymity-"))
        shutil.copy(self.template, self.folder / "alignbot.db")
        self.database = Database(f"sqlite:///{self.folder / 'alignbot.db'}")
        self.clock = ManualClock(START)
        self.pulses = PulseService(self.database, self.clock, BANK)
        self.workspaces = WorkspaceService(
            self.database, self.clock, "en", "UTC", self.pulses.workspace_settings
        )
        self.insights = InsightService(self.database, self.pulses)
        client = build_client(self.sandbox.workspace.bot_token, self.sandbox.api_url)
        # The sandbox has no limits: unpaced, as the bot runs against it (`slack_pace_ahead`).
        self.transport = PooledSlack(lambda _: client, Pacer(ahead=False))
        self.runner = PulseRunner(
            self.database,
            self.clock,
            self.pulses,
            default_presenter(MetadataSeal("property-test-secret")),
            lambda _: client,
            transport=self.transport,
        )
        workspace = default_workspace()
        for channel in CHANNELS:  # every example starts from the sandbox's own channels
            self.sandbox.workspace.channel(channel).members[:] = workspace.channel(channel).members
        self.requests = 0
        self.threshold = 3  # the lowest allowed: the most figures shown
        assert self.workspaces.save_setup(TEAM, config(self.threshold), OWNER, "setup")
        assert self.pulses.create(TEAM, pulse(), OWNER)
        self.first: dict | None = None
        self.last: dict | None = None
        self.closed_since = self.forgotten_since = False

    def teardown(self) -> None:
        self.transport.close()
        self.database.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)

    # ----- what people and admins do --------------------------------------------------------------

    def open_round(self, which: int = 0) -> tuple[int, list[str]] | None:
        """One of the rounds still open (there may be two: a scheduled one and one sent by hand)."""
        with self.database.session() as session:
            open_rounds = [r for r in pulse_store.open_rounds(session) if r.closes_at > self.clock.now()]
            chosen = open_rounds[which % len(open_rounds)] if open_rounds else None
            return (chosen.id, list(chosen.item_ids)) if chosen else None

    @rule(
        people=st.lists(st.sampled_from(TEAMS), min_size=1, max_size=len(TEAMS), unique=True),
        score=st.integers(1, 5),
        spread=st.booleans(),
        which=st.integers(0, 1),
    )
    def answer_together(self, people: list[str], score: int, spread: bool, which: int) -> None:
        """A few people of the two teams answer every statement of the open round (the same, or spread
        ratings); `one_more_tap` is anyone's single tap."""
        if (asked := self.open_round(which)) is not None:
            round_id, items = asked
            for number, person in enumerate(people):
                for item_id in items:
                    rating = (score + number) % 5 + 1 if spread else score
                    self.pulses.answer(TEAM, person, round_id, item_id, rating)

    @rule(
        person=st.sampled_from(PEOPLE),
        statement=st.integers(0, 5),
        score=st.integers(1, 5),
        which=st.integers(0, 1),
    )
    def one_more_tap(self, person: str, statement: int, score: int, which: int) -> None:
        if (asked := self.open_round(which)) is not None:
            round_id, items = asked
            self.pulses.answer(TEAM, person, round_id, items[statement % len(items)], score)

    @rule(pick=st.integers(0, 100), score=st.integers(1, 5))
    def change_an_answer(self, pick: int, score: int) -> None:
        if (asked := self.open_round()) is None:
            return
        with self.database.session() as session:
            given = session.execute(
                select(Answer.user_id, Answer.item_id)
                .where(Answer.round_id == asked[0])
                .order_by(Answer.user_id, Answer.item_id)
            ).all()
        if given:
            person, item_id = given[pick % len(given)]
            assert self.pulses.answer(TEAM, person, asked[0], item_id, score).status == "saved"

    @rule(person=st.sampled_from(PEOPLE), text=st.sampled_from(COMMENTS))
    def comment(self, person: str, text: str) -> None:
        if (asked := self.open_round()) is not None and text:
            self.pulses.comment(TEAM, person, asked[0], f"{text} ({person})")

    @rule(
        person=st.sampled_from(PEOPLE), department=st.sampled_from((SALES, MARKETING)), in_round=st.booleans()
    )
    def choose_a_team(self, person: str, department: str, in_round: bool) -> None:
        asked = self.open_round()
        if in_round and asked is not None:  # the button in the pulse DM
            self.pulses.choose_department(TEAM, person, asked[0], department)
        else:  # `/align department`
            self.pulses.set_department(TEAM, person, department)

    @rule(person=st.sampled_from(PEOPLE))
    def forget_me(self, person: str) -> None:
        forget(self.database, TEAM, person, self.clock.now())
        self.forgotten_since = True

    @rule(person=st.sampled_from(PEOPLE), channel=st.sampled_from(CHANNELS), join=st.booleans())
    def join_or_leave(self, person: str, channel: str, join: bool) -> None:
        members = self.sandbox.workspace.channel(channel).members
        if join and person not in members:
            members.append(person)
        elif not join and person in members:
            members.remove(person)

    @rule(threshold=st.integers(3, 7))
    def change_the_threshold(self, threshold: int) -> None:
        self.requests += 1
        assert self.workspaces.save_setup(TEAM, config(threshold), ADMIN, f"setup-{self.requests}")
        self.threshold = threshold

    @initialize()
    def the_first_round_opens(self) -> None:
        self.a_round_opens_or_closes()

    @rule(step=st.sampled_from(STEPS))
    def time_passes(self, step: timedelta) -> None:
        self.run_until(self.clock.now() + step)

    @rule()
    def a_round_opens_or_closes(self) -> None:
        """Straight to the close of the first round still open, or else to the next round."""
        asked = self.open_round()
        if asked is not None:
            with self.database.session() as session:
                closes_at = session.get(PulseRound, asked[0]).closes_at
            self.run_until(closes_at)
        else:
            self.run_until(
                schedule.next_occurrence(pulse().recurrence, self.clock.now()) + timedelta(minutes=1)
            )

    @rule()
    def an_admin_sends_a_round_now(self) -> None:
        """A round by hand, open alongside the scheduled ones (`/align pulse now`)."""
        self.requests += 1
        assert self.pulses.start_now(TEAM, "Weekly", f"now-{self.requests}") == "started"
        self.run_until(self.clock.now())

    def run_until(self, moment: datetime) -> None:
        self.clock.set(moment)
        report = self.runner.run_due()
        assert report.failed == 0, report.errors
        self.closed_since = self.closed_since or report.rounds_closed > 0

    # ----- reading -----------------------------------------------------------------------------------

    def read_at(self, as_of: datetime) -> dict:
        """Every figure an admin can read at the snapshot instant `as_of`."""
        items, dimensions = self.insights.texts(TEAM, "en")
        weeks = self.insights.weekly_results(TEAM, as_of, TREND_WEEKS)
        return {
            "export": rows([(end.date(), results) for end, results in weeks], items, dimensions),
            "results": [results for _, results in weeks],
            "participation": self.insights.weekly_participation(TEAM, as_of, HISTORY_WEEKS),
            "trend": self.insights.trend(TEAM, as_of),
            "home": self.insights.results(TEAM, as_of),
            "digest": self.insights.digest(TEAM, as_of, TIMEZONE),
        }

    @invariant()
    def read_every_surface(self) -> None:
        """After every step: a reading between any two things people or admins do."""
        as_of = self.insights.as_of(TEAM)
        reading = {"as_of": as_of, **self.read_at(as_of)}
        preview = self.insights.preview(TEAM, TIMEZONE)
        assert replace(preview, answering=None) == reading["digest"]
        assert preview.answering is None or preview.answering >= max(
            preview.snapshot.threshold, self.threshold
        )
        assert self.insights.latest_results(TEAM) == reading["home"]
        if self.last is not None:
            assert (as_of != self.last["as_of"]) == self.closed_since
            if not self.closed_since:
                assert self.figures(reading) == self.figures(self.last)
        threshold = reading["digest"].snapshot.threshold
        for results in reading["results"]:
            assert shown_on_fewer_than(results, threshold) == []
        for participation in reading["participation"]:
            assert all(asked is None or asked >= threshold for asked in participation.asked.values())
        for earlier in {id(r): r for r in (self.first, self.last) if r is not None}.values():
            self.reads_the_same_again(earlier)
        self.first = self.first or reading
        self.last, self.closed_since, self.forgotten_since = reading, False, False

    def figures(self, reading: dict) -> dict:
        """A reading as compared with the one before: comments go once their author is forgotten."""
        if not self.forgotten_since:
            return reading
        return {**reading, "digest": replace(reading["digest"], comments=())}

    def reads_the_same_again(self, earlier: dict) -> None:
        """An earlier snapshot instant read now gives what it gave then (but comments forgotten since)."""
        again = {"as_of": earlier["as_of"], **self.read_at(earlier["as_of"])}
        assert replace(again["digest"], comments=()) == replace(earlier["digest"], comments=())
        assert {**again, "digest": None} == {**earlier, "digest": None}


BANK = load_bank()


@contextmanager
def a_sandbox_and_a_database(folder: Path) -> Iterator[None]:
    """The Slack sandbox, and an empty database migrated once, for every machine to start from."""
    template = folder / "template.db"
    database = Database(f"sqlite:///{template}")
    migrate.upgrade(database.engine)
    database.dispose()
    with SlackSandbox(default_workspace()) as sandbox:
        AnonymityMachine.sandbox, AnonymityMachine.template = sandbox, template
        yield


@pytest.mark.parametrize("half", [1, 2])
def test_no_two_readings_give_one_person_away(tmp_path, half):
    with a_sandbox_and_a_database(tmp_path):
        run_state_machine_as_test(
            AnonymityMachine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS_PER_EXAMPLE,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )


def test_a_round_still_open_when_another_closes_counts_only_once_it_closes(tmp_path):
    """The sequence a search may take long to find: a round sent by hand is open when the scheduled
    one closes, so the snapshot instant falls after it started; its answers still count only
    from its own close."""
    with a_sandbox_and_a_database(tmp_path):
        machine = AnonymityMachine()
        try:
            for step in (
                machine.the_first_round_opens,
                lambda: machine.time_passes(timedelta(days=1)),
                machine.an_admin_sends_a_round_now,
                lambda: machine.time_passes(timedelta(days=1)),  # the scheduled round closes
                lambda: machine.answer_together(list(TEAMS), 3, False, 0),  # everyone, in the other
            ):
                step()
                machine.read_every_surface()
            assert machine.open_round() is not None and machine.last["digest"].snapshot.rounds
        finally:
            machine.teardown()

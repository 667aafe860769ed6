"""The scheduled side of pulses: start rounds, send them, remind, close — each exactly once.

`run_due()` does whatever has fallen due by the clock's `now`; it may be called at any time
and any number of times (the scheduler calls it at the next due instant and every minute).
Every step is keyed in the database first and done in Slack second, so a crash or a second
process can repeat a step without repeating its effect. What goes to Slack is described here as
mailboxes (the DMs, the channel posts, the reminders) and posted by `bot.slack.outbox`, which
looks up a post whose answer was lost before it is ever tried again.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.domain import local_time, schedule
from bot.domain.audience import Recipient, recipients
from bot.domain.availability import AwayStatuses
from bot.domain.cadence import DELIVERY_CHANNEL
from bot.domain.clock import Clock
from bot.domain.people import choose_language
from bot.domain.reach import Member, NextReach, next_reach
from bot.domain.workspace_setup import WorkspaceConfig
from bot.jobs.peoples_time import PeoplesTime, reminder_instants
from bot.services.pulses import PulseService, PulseView
from bot.services.workspaces import ConfigsOfRun
from bot.slack.client import SharedJson, Transport, channel_members
from bot.slack.outbox import STALE_AFTER, Envelope, Message, Outbox, Outcome, RowMailbox
from bot.slack.presenters import Presenter
from storage import pulses as store
from storage import rollups
from storage import workspaces as workspace_store
from storage.db import Database
from storage.models import Cadence, ChannelPost, Delivery, PostStatus, PulseRound, Reminder
from storage.workspaces import stale_claims

logger = logging.getLogger(__name__)

#: Closed DMs updated (and marked) together.
BATCH_SIZE = 50
#: Rounds whose audience is read from Slack at once.
AUDIENCE_WORKERS = 32
#: How long a drain keeps what it read of people and workspaces before reading them again (see `drain`).
DRAIN_READS_FRESH_FOR = timedelta(minutes=1)
#: Pulse messages kept rendered, by language, view and threshold: nothing in a DM names its person, so
#: a round's copies mostly look alike and each look is rendered once, not once per person.
RENDERED_KEPT = 256


@dataclass
class RunReport:
    rounds_started: int = 0
    rounds_skipped: int = 0
    sent: int = 0
    failed: int = 0
    reminders: int = 0
    rounds_closed: int = 0
    unconfirmed: int = 0
    """Posts given up because no look-up could confirm them (reported, never sent twice)."""
    errors: dict[str, int] = field(default_factory=dict)


def _count_sent(dms: list[Outcome], report: RunReport) -> RunReport:
    errors = [outcome.error or "unknown" for outcome in dms if outcome.status == PostStatus.FAILED]
    report.sent += sum(outcome.status == PostStatus.SENT for outcome in dms)
    report.failed += len(errors)
    report.errors = dict(Counter(report.errors) + Counter(errors))
    return report


class PulseRunner:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        pulses: PulseService,
        presenter: Presenter,
        slack_for: Callable[[str], WebClient],
        default_language: str = "en",
        away_statuses: AwayStatuses | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.pulses = pulses
        self.presenter = presenter
        self.slack_for = slack_for
        self.default_language = default_language
        self.configs = ConfigsOfRun(database, default_language)
        self.away_statuses = away_statuses or AwayStatuses()
        self.people = PeoplesTime(database, slack_for, self.away_statuses)
        self._read_at: datetime | None = None
        """When `configs` and `people` were read (None: not yet)."""
        self._lock = threading.Lock()
        self._bot_users: dict[str, str] = {}
        self._pulse_message = lru_cache(maxsize=RENDERED_KEPT)(self._render_pulse_message)
        self.outbox = Outbox(database, clock, slack_for, transport=transport)
        #: Set while the process shuts down or hands the scheduler over (see `Outbox.stopping`).
        self.stopping = self.outbox.stopping
        #: Drains pending DMs on any replica, leader or not (see `drain`); its own `stopping`.
        self.drain_outbox = Outbox(database, clock, slack_for, transport=self.outbox.transport)
        self.drain_stopping = self.drain_outbox.stopping
        self.dms = PulseDMs(self)
        self.channel_posts = ChannelPosts(self)
        self.reminders = PulseReminders(self)

    # ----- the loop ----------------------------------------------------------------------------------

    def run_due(self) -> RunReport:
        """Do everything due by now. Serialised within the process; the database serialises processes.
        The closing updates go out after the lock is released: no run waits on Slack for another."""
        with self._lock:
            report = RunReport()
            now = self.clock.now()
            self._read_afresh(now)
            self._plan(now, report)
            self._build_audiences()
            self._send_to_those_back(now)
            for mailbox in (self.dms, self.channel_posts, self.reminders):
                report.unconfirmed += self.outbox.recover(mailbox)
            self.outbox.send(self.channel_posts)
            _count_sent(self.outbox.send(self.dms), report)
            reminders = self.outbox.send(self.reminders)
            report.reminders = sum(outcome.status == PostStatus.SENT for outcome in reminders)
            closed = self._close(now, report)
        self._update_closed(closed, now)
        return report

    def drain(self) -> RunReport:
        """Send the DMs the leader planned and no process has claimed yet: every replica does, so the
        fan-out grows with the replicas. Returns what was sent and what failed, for the metrics.

        A replica that does not lead has no runs to read people and workspaces afresh (who is away,
        by status or by the date they gave; each workspace's configuration), so its drains do, once
        what they read is DRAIN_READS_FRESH_FOR old; on the leader a run in progress has just read them."""
        now = self.clock.now()
        if (self._read_at is None or now - self._read_at >= DRAIN_READS_FRESH_FOR) and self._lock.acquire(
            blocking=False
        ):
            try:
                self._read_afresh(now)
            finally:
                self._lock.release()
        return _count_sent(self.drain_outbox.send(self.dms), RunReport())

    def _read_afresh(self, now: datetime) -> None:
        """What a pass reads once: the workspaces' configuration and people's own choices (their Slack
        profiles are read on first need)."""
        self.configs = ConfigsOfRun(self.database, self.default_language)
        people = PeoplesTime(self.database, self.slack_for, self.away_statuses)
        people.read_choices()
        self.people, self._read_at = people, now

    def next_wakeup(self) -> datetime | None:
        """The next instant something falls due (an occurrence, a reminder, a window closing)."""
        now = self.clock.now()
        candidates: list[datetime] = []
        with self.database.session() as session:
            for cadence in store.active_cadences(session):
                settings = store.settings_of(cadence)
                upcoming = schedule.next_occurrence(settings.recurrence, max(cadence.planned_until, now))
                if upcoming is not None:
                    candidates.append(upcoming)
            for pulse_round in store.open_rounds(session):
                candidates.append(pulse_round.closes_at)
                cadence = session.get(Cadence, pulse_round.cadence_id)
                reminder_times = store.settings_of(cadence).reminder_times(pulse_round.scheduled_at)
                candidates += [t for t in reminder_times if t > now]
                if pulse_round.audience_size is None:
                    candidates.append(now)
            if store.remaining_deliveries(session):
                candidates.append(now + STALE_AFTER)
            if (due := store.next_due(session, now)) is not None:
                candidates.append(due)
        return min(candidates, default=None)

    # ----- 1. rounds from occurrences --------------------------------------------------------------

    def _plan(self, now: datetime, report: RunReport) -> None:
        with self.database.session() as session:
            for cadence in store.active_cadences(session):
                settings = store.settings_of(cadence)
                for occurrence in schedule.occurrences(settings.recurrence, cadence.planned_until, now):
                    closes_at = local_time.latest_close(settings, occurrence)
                    skip_reason = None
                    if cadence.skip_occurrence == occurrence:
                        skip_reason = "skipped_by_admin"
                    elif closes_at <= now:
                        skip_reason = "missed"  # the bot was down for the whole answer window
                    items = () if skip_reason else self.pulses.choose_items(session, cadence)
                    added = store.add_round(
                        session,
                        cadence,
                        occurrence.isoformat(),
                        occurrence,
                        closes_at,
                        items,
                        now,
                        skip_reason,
                    )
                    if added is not None:
                        if skip_reason:
                            report.rounds_skipped += 1
                            logger.info(
                                "cadence %s: round at %s skipped (%s)", cadence.id, occurrence, skip_reason
                            )
                        else:
                            report.rounds_started += 1
                    session.flush()
                if cadence.skip_occurrence is not None and cadence.skip_occurrence <= now:
                    cadence.skip_occurrence = None
                cadence.planned_until = max(cadence.planned_until, now)

    # ----- 2. who gets each new round ----------------------------------------------------------------

    def _build_audiences(self) -> None:
        """Each new round's audience, several workspaces at once: each waits on Slack, not on the others
        (on PostgreSQL every replica starts sending a round's DMs as soon as its rows are written)."""
        with self.database.session() as session:
            waiting = [(r.id, r.team_id, r.cadence_id) for r in store.rounds_needing_audience(session)]
        with ThreadPoolExecutor(AUDIENCE_WORKERS, thread_name_prefix="alignbot-audience") as pool:
            list(pool.map(lambda waiting_round: self._try_building_audience(*waiting_round), waiting))

    def _try_building_audience(self, round_id: int, team_id: str, cadence_id: int) -> None:
        try:
            self._build_audience(round_id, team_id, cadence_id)
        except SlackApiError as error:  # one workspace's trouble (a revoked token) holds up no other
            logger.warning(
                "round %s: Slack would not list its audience (%s); the next run tries again",
                round_id,
                error.response.get("error"),
            )

    def _build_audience(self, round_id: int, team_id: str, cadence_id: int) -> None:
        with self.database.session() as session:
            config = workspace_store.load_config(session, team_id)
            cadence = session.get(Cadence, cadence_id)
            chosen = workspace_store.preferences(session, team_id, "department")
            overrides = workspace_store.preferences(session, team_id, "language")
        if config is None or cadence is None:
            return
        audience = list(cadence.audience_channels) or list(config.department_channels)
        people = self._recipients(team_id, config, cadence, chosen, self.people)
        status = PostStatus.IN_CHANNEL if cadence.delivery == DELIVERY_CHANNEL else PostStatus.PENDING
        settings, now = store.settings_of(cadence), self.clock.now()
        with self.database.session() as session:
            pulse_round = session.get(PulseRound, round_id, with_for_update=True)
            if pulse_round is None or pulse_round.audience_size is not None:
                return  # another process wrote the audience first
            rows, everyone_times = [], []
            for p in people:
                own, times = self.people.plan(settings, pulse_round, p, config.timezone, now)
                if status == PostStatus.IN_CHANNEL and own.get("status") == PostStatus.DROPPED:
                    own = {"timezone": own["timezone"]}  # they read the channel's post when they like
                language = choose_language(overrides.get(p.user.id), p.user.locale, config.default_language)
                rows.append((p.user.id, p.department, language, own))
                everyone_times += [times] if times else []
            count = store.add_deliveries(session, pulse_round, rows, status)
            pulse_round.closes_at = local_time.round_closes_at(everyone_times, pulse_round.closes_at)
            if cadence.delivery == DELIVERY_CHANNEL:
                store.add_channel_posts(session, pulse_round, audience, config.default_language)
        logger.info("round %s: %s recipients (%s)", round_id, count, cadence.delivery)

    def _recipients(
        self,
        team_id: str,
        config: WorkspaceConfig,
        cadence: Cadence,
        chosen: dict[str, str],
        people: PeoplesTime,
    ) -> list[Recipient]:
        """Who a round of `cadence` goes to, as Slack's channels and profiles say now."""
        client = self.slack_for(team_id)
        department_channels = config.department_channels
        audience = list(cadence.audience_channels) or list(department_channels)
        members = {
            channel: channel_members(client, channel) for channel in set(audience) | set(department_channels)
        }
        return recipients(
            audience,
            members,
            department_channels,
            people.members(team_id),
            chosen,
            self._bot_user_id(team_id, client),
            include_guests=cadence.include_guests,
        )

    def next_reach(self, team_id: str) -> dict[str, NextReach]:
        """For each running cadence of the workspace, how its next round will reach people (asked of
        Slack now, so an admin sees who is away today)."""
        people = PeoplesTime(self.database, self.slack_for, self.away_statuses)
        people.read_choices()
        calendars, away_dates = people.own_choices(team_id)
        with self.database.session() as session:
            config = workspace_store.load_config(session, team_id)
            chosen = workspace_store.preferences(session, team_id, "department")
            cadences = [c for c in store.cadences_of(session, team_id) if not c.paused]
            planned = [(c, store.settings_of(c), max(c.planned_until, self.clock.now())) for c in cadences]
        if config is None:
            return {}
        found = {}
        for cadence, settings, after in planned:
            occurrence = schedule.next_occurrence(settings.recurrence, after)
            if occurrence is None:
                continue
            try:
                audience = self._recipients(team_id, config, cadence, chosen, people)
            except SlackApiError as error:  # the listing still shows the rest
                logger.warning(
                    "%s: Slack would not list its audience: %s", cadence.name, error.response.get("error")
                )
                continue
            members = [
                Member(r.user, r.department, calendars.get(r.user.id), away_dates.get(r.user.id))
                for r in audience
            ]
            found[cadence.name] = next_reach(
                settings, occurrence, members, config.timezone, self.away_statuses
            )
        return found

    def _send_to_those_back(self, now: datetime) -> None:
        """A copy held back while its person was away goes out once they are back, if their window is
        still open."""
        with self.database.session() as session:
            held = [
                (delivery, pulse_round, store.settings_of(session.get(Cadence, pulse_round.cadence_id)))
                for delivery, pulse_round in store.away_deliveries(session, now)
            ]
        returned = {}
        for delivery, pulse_round, settings in held:  # asking Slack, outside any transaction
            try:
                back = self.people.came_back(settings, delivery, pulse_round, now)
            except SlackApiError as error:  # asked again on the next run
                logger.warning(
                    "could not read who is back in %s: %s", delivery.team_id, error.response.get("error")
                )
                continue
            if back is not None:
                returned[delivery.id] = back
        with self.database.session() as session:
            for delivery_id, back in returned.items():
                delivery = session.get(Delivery, delivery_id, with_for_update=True)
                if delivery is not None and delivery.status == PostStatus.AWAY:
                    for column, value in back.items():
                        setattr(delivery, column, value)

    def _bot_user_id(self, team_id: str, client: WebClient) -> str:
        if team_id not in self._bot_users:
            self._bot_users[team_id] = client.auth_test()["user_id"]
        return self._bot_users[team_id]

    # ----- 3. closing --------------------------------------------------------------------------------

    def _close(self, now: datetime, report: RunReport) -> list[tuple[int, str, list]]:
        """Close the rounds due to close, each rolled up in the same transaction (`storage.rollups`);
        returns them, for `_update_closed`."""
        with self.database.session() as session:
            closed = []
            for pulse_round in store.rounds_to_close(session, now):
                if not rollups.close_round(session, pulse_round.id, now):
                    continue  # another process closed it first
                posts = [(p.channel_id, p.message_ts) for p in store.channel_posts(session, pulse_round.id)]
                closed.append((pulse_round.id, pulse_round.team_id, posts))
        report.rounds_closed += len(closed)
        return closed

    def _update_closed(self, closed: list[tuple[int, str, list]], now: datetime) -> None:
        """Show each closed round as closed: its channel posts, then every DM, a batch at a time, all
        through the paced outbox (Tier 3 for chat.update); an edit done twice is harmless."""
        self.outbox.reread_credentials()
        for round_id, team_id, posts in closed:
            self._close_channel_posts(round_id, team_id, posts)
        while True:
            with self.database.session() as session:
                batch = [
                    (d.id, d.team_id, d.user_id, d.round_id, d.language, d.channel_id, d.message_ts)
                    for d in store.closed_notices_pending(session, BATCH_SIZE, now)
                ]
            if not batch:
                return
            updates = [
                self.outbox.update(
                    team_id, channel, ts, self.present(team_id, language, self.pulses.view(round_id, user_id))
                )
                for _, team_id, user_id, round_id, language, channel, ts in batch
            ]
            wait(updates)
            with self.database.session() as session:
                for delivery_id, *_ in batch:
                    session.get(Delivery, delivery_id).closed_notice = True

    def _close_channel_posts(self, round_id: int, team_id: str, posts: list[tuple[str, str | None]]) -> None:
        view = self.pulses.view(round_id, None)
        for channel, ts in posts:
            if ts is None:
                continue
            message = self.present(team_id, None, view)
            self.outbox.update(team_id, channel, ts, message).result()

    def present(self, team_id: str, language: str | None, view: PulseView) -> dict[str, Any]:
        """The pulse message in `language` (None: the workspace's default, for shared channel posts);
        shared by every copy that looks the same (not to be changed), and encoded for Slack once."""
        language = language or self.configs.language(team_id)
        return self._pulse_message(language, view, self.configs.threshold(team_id))

    def _render_pulse_message(self, language: str, view: PulseView, threshold: int) -> SharedJson:
        return SharedJson(self.presenter.pulse_message(language, view, threshold))


# ----- what the outbox posts ---------------------------------------------------------------------


class PulseDMs(RowMailbox):
    """Each person's copy of a round, in their DM: claimed a batch at a time, each claim counted."""

    model = Delivery
    kind = "delivery_id"
    in_batches = True

    def __init__(self, runner: PulseRunner) -> None:
        self.runner = runner

    def claim(self, session: Session, now: datetime) -> list[Envelope]:
        claimed = store.claim_deliveries(session, now, self.runner.outbox.room)
        views = self.runner.pulses.views_of(session, claimed)
        return [replace(self.envelope(d), attempts=d.attempts, prepared=views.get(d.id)) for d in claimed]

    def prepare(self, envelopes: Sequence[Envelope]) -> None:
        """Each workspace's members (statuses, for who is away) read side by side, not one round trip
        per workspace as each one's first DM is composed."""
        self.runner.people.read_members({envelope.team_id for envelope in envelopes})

    def address(self, delivery: Delivery) -> tuple[str, object]:
        return delivery.user_id, delivery.id

    def compose(self, envelope: Envelope) -> Message | Outcome:
        delivery = envelope.row
        view = envelope.prepared or self.runner.pulses.view(delivery.round_id, delivery.user_id)
        if view is None:
            return Outcome(PostStatus.FAILED, error="round_deleted")
        if self.runner.people.away(delivery, self.runner.clock.now()):
            return Outcome(PostStatus.AWAY)  # held back; sent if they are back while it is open
        return self.runner.present(delivery.team_id, delivery.language, view)

    def record(self, session: Session, envelope: Envelope, outcome: Outcome) -> None:
        delivery = self.claimed_row(session, envelope)
        delivery.status = outcome.status
        if outcome.status == PostStatus.SENT:
            delivery.channel_id, delivery.message_ts = outcome.channel, outcome.ts
            delivery.sent_at = self.runner.clock.now()
        else:
            delivery.error = outcome.error


class ChannelPosts(RowMailbox):
    """Channel mode: the one shared post of a round in each audience channel."""

    model = ChannelPost
    kind = "channel_post"

    def __init__(self, runner: PulseRunner) -> None:
        self.runner = runner

    def address(self, post: ChannelPost) -> tuple[str, object]:
        return post.channel_id, f"{post.round_id}:{post.channel_id}"

    def compose(self, envelope: Envelope) -> Message:
        post = envelope.row
        return self.runner.present(post.team_id, post.language, self.runner.pulses.view(post.round_id, None))

    def record(self, session: Session, envelope: Envelope, outcome: Outcome) -> None:
        post = self.claimed_row(session, envelope)
        post.status = outcome.status
        if outcome.status == PostStatus.SENT:
            post.message_ts = outcome.ts
        else:
            post.error = outcome.error


class PulseReminders:
    """Reminder number n of each open round to whoever has not finished it, in their DM.

    Claiming is inserting the (delivery, number) row, already `sending`; after downtime only the
    latest reminder due goes out and the earlier ones are `superseded`. A reminder to try again is
    deleted, to be claimed anew by the next run.
    """

    kind = "reminder"
    in_batches = False

    def __init__(self, runner: PulseRunner) -> None:
        self.runner = runner

    def prepare(self, envelopes: Sequence[Envelope]) -> None:
        """As for the round's DMs: who is away is asked of each workspace side by side."""
        self.runner.people.read_members({envelope.team_id for envelope in envelopes})

    def claim(self, session: Session, now: datetime) -> list[Envelope]:
        claimed = []
        for pulse_round in store.open_rounds(session):
            if pulse_round.closes_at <= now or pulse_round.audience_size is None:
                continue
            settings = store.settings_of(session.get(Cadence, pulse_round.cadence_id))
            planned = settings.reminder_times(pulse_round.scheduled_at)
            for delivery, reminded in store.unfinished(session, pulse_round):
                due = [n for n, at in enumerate(reminder_instants(delivery, planned), 1) if at and at <= now]
                # after downtime, only the latest reminder goes out; none after the person's window
                number = max(due, default=0)
                if number <= reminded or (delivery.closes_at and delivery.closes_at <= now):
                    continue
                if store.claim_reminder(session, delivery, number, now):
                    for earlier in range(1, number):
                        if store.claim_reminder(session, delivery, earlier, now):
                            session.get(Reminder, (delivery.id, earlier)).status = PostStatus.SUPERSEDED
                    claimed.append(self._envelope(session.get(Reminder, (delivery.id, number)), delivery))
        return claimed

    def stale(self, session: Session, before: datetime) -> list[Envelope]:
        return [
            self._envelope(r, session.get(Delivery, r.delivery_id), r.claimed_at)
            for r in stale_claims(session, Reminder, before)
        ]

    @staticmethod
    def _envelope(reminder: Reminder, delivery: Delivery, since: datetime | None = None) -> Envelope:
        key = f"{reminder.delivery_id}:{reminder.number}"
        return Envelope(reminder, reminder.team_id, delivery.user_id, key, since)

    def compose(self, envelope: Envelope) -> Message | Outcome:
        reminder = envelope.row
        with self.runner.database.session() as session:
            delivery = session.get(Delivery, reminder.delivery_id)
        if self.runner.people.away(delivery, self.runner.clock.now()):
            return Outcome(PostStatus.PENDING)  # not while away: claimed anew by later runs, in time or not
        view = self.runner.pulses.view(delivery.round_id, delivery.user_id, reminder=reminder.number)
        return self.runner.present(delivery.team_id, delivery.language, view)

    def record(self, session: Session, envelope: Envelope, outcome: Outcome) -> None:
        reminder = session.get(Reminder, (envelope.row.delivery_id, envelope.row.number))
        if outcome.status == PostStatus.SENT:
            reminder.status, reminder.message_ts, reminder.sent_at = (
                outcome.status,
                outcome.ts,
                self.runner.clock.now(),
            )
        elif outcome.status == PostStatus.FAILED:
            reminder.status, reminder.error = outcome.status, outcome.error
        else:
            session.delete(reminder)

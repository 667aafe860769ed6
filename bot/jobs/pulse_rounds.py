"""The scheduled side of pulses: start rounds, send them, remind, close — each exactly once.

`run_due()` does whatever has fallen due by the clock's `now`; it may be called at any time
and any number of times (the scheduler calls it at the next due instant and every minute).
Every step is keyed in the database first and done in Slack second, so a crash or a second
process can repeat a step without repeating its effect. A send whose answer was lost is
checked against the DM's history (each message carries its delivery id as metadata) before
it is tried again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import schedule
from bot.domain.audience import recipients
from bot.domain.cadence import DELIVERY_CHANNEL
from bot.domain.clock import Clock
from bot.domain.people import SlackUser, choose_language
from bot.domain.vocabulary import MARKETING, SALES
from bot.services.pulses import PulseService, PulseView
from bot.services.workspaces import ConfigsOfRun
from bot.slack.delivery import SendResult, channel_members, find_in_dm, find_in_history, post_once
from bot.slack.presenters import Presenter
from storage import pulses as store
from storage import workspaces as workspace_store
from storage.db import Database
from storage.models import (
    FAILED,
    IN_CHANNEL,
    PENDING,
    SENT,
    Cadence,
    ChannelPost,
    Delivery,
    PulseRound,
    Reminder,
)

logger = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=2)
BATCH_SIZE = 50
MAX_ATTEMPTS = 5
SEND_WORKERS = 4


@dataclass
class RunReport:
    rounds_started: int = 0
    rounds_skipped: int = 0
    sent: int = 0
    failed: int = 0
    reminders: int = 0
    rounds_closed: int = 0
    errors: dict[str, int] = field(default_factory=dict)


class PulseRunner:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        pulses: PulseService,
        presenter: Presenter,
        slack_for: Callable[[str], WebClient],
        default_language: str = "en",
    ) -> None:
        self.database = database
        self.clock = clock
        self.pulses = pulses
        self.presenter = presenter
        self.slack_for = slack_for
        self.default_language = default_language
        self._configs = ConfigsOfRun(database, default_language)
        self._lock = threading.Lock()
        self._bot_users: dict[str, str] = {}
        #: Set while the process shuts down or hands the scheduler over: sending stops after the
        #: batch in flight, and the rest stays pending for the next run (here or on another replica).
        self.stopping = threading.Event()

    # ----- the loop ----------------------------------------------------------------------------------

    def run_due(self) -> RunReport:
        """Do everything due by now. Serialised within the process; the database serialises processes."""
        with self._lock:
            report = RunReport()
            now = self.clock.now()
            self._configs = ConfigsOfRun(self.database, self.default_language)
            self._plan(now, report)
            self._build_audiences()
            self._recover_stale(now)
            self._post_in_channels(now)
            self._deliver(report)
            self._remind(now, report)
            self._close(now, report)
            return report

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
        return min(candidates, default=None)

    # ----- 1. rounds from occurrences --------------------------------------------------------------

    def _plan(self, now: datetime, report: RunReport) -> None:
        with self.database.session() as session:
            for cadence in store.active_cadences(session):
                settings = store.settings_of(cadence)
                for occurrence in schedule.occurrences(settings.recurrence, cadence.planned_until, now):
                    closes_at = occurrence + settings.answer_window
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
        with self.database.session() as session:
            waiting = [(r.id, r.team_id, r.cadence_id) for r in store.rounds_needing_audience(session)]
        for round_id, team_id, cadence_id in waiting:
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
        client = self.slack_for(team_id)
        department_channels = {c: SALES for c in config.sales_channels} | {
            c: MARKETING for c in config.marketing_channels
        }
        audience = list(cadence.audience_channels) or list(department_channels)
        members = {
            channel: channel_members(client, channel) for channel in set(audience) | set(department_channels)
        }
        users = self._users(client)
        people = recipients(
            audience,
            members,
            department_channels,
            users,
            chosen,
            self._bot_user_id(team_id, client),
            include_guests=cadence.include_guests,
        )
        status = IN_CHANNEL if cadence.delivery == DELIVERY_CHANNEL else PENDING
        with self.database.session() as session:
            pulse_round = session.get(PulseRound, round_id, with_for_update=True)
            if pulse_round is None or pulse_round.audience_size is not None:
                return  # another process wrote the audience first
            rows = [
                (
                    p.user.id,
                    p.department,
                    choose_language(overrides.get(p.user.id), p.user.locale, config.default_language),
                )
                for p in people
            ]
            count = store.add_deliveries(session, pulse_round, rows, status)
            if cadence.delivery == DELIVERY_CHANNEL:
                store.add_channel_posts(session, pulse_round, audience, config.default_language)
        logger.info("round %s: %s recipients (%s)", round_id, count, cadence.delivery)

    def _users(self, client: WebClient) -> dict[str, SlackUser]:
        users: dict[str, SlackUser] = {}
        for page in client.users_list(limit=200, include_locale=True):
            for member in page["members"]:
                users[member["id"]] = SlackUser.from_api(member)
        return users

    def _bot_user_id(self, team_id: str, client: WebClient) -> str:
        if team_id not in self._bot_users:
            self._bot_users[team_id] = client.auth_test()["user_id"]
        return self._bot_users[team_id]

    def _post_in_channels(self, now: datetime) -> None:
        """Channel mode: the one shared post of each round in each audience channel."""
        with self.database.session() as session:
            claimed = [
                (p.round_id, p.channel_id, p.team_id, p.language)
                for p in store.claim_channel_posts(session, now)
            ]
        for round_id, channel, team_id, language in claimed:
            key = f"{round_id}:{channel}"
            client = self.slack_for(team_id)
            result = post_once(
                client,
                channel,
                self._render(team_id, language, self.pulses.view(round_id, None)),
                {"channel_post": key},
            )
            if result.status == "check":
                found = find_in_history(client, channel, now - STALE_AFTER, "channel_post", key)
                result = (
                    SendResult("sent", channel, found) if found else SendResult("retry", error=result.error)
                )
            with self.database.session() as session:
                post = session.get(ChannelPost, (round_id, channel))
                if result.status == "sent":
                    post.status, post.message_ts = SENT, result.ts
                elif result.status == "failed":
                    post.status, post.error = FAILED, result.error
                    logger.warning("round %s: posting in %s failed: %s", round_id, channel, result.error)
                elif result.status == "retry":
                    post.status, post.error = PENDING, result.error
                # uncertain: stays `sending` until _recover_stale looks in the channel's history

    # ----- 3. sending -------------------------------------------------------------------------------

    def _recover_stale(self, now: datetime) -> None:
        """Sends that never finished: found in the DM's history → sent; not found → try again."""
        with self.database.session() as session:
            stale = [
                (d.id, d.team_id, d.user_id, d.claimed_at)
                for d in store.stale_sending(session, now - STALE_AFTER)
            ]
            stale_posts = [
                (p.round_id, p.channel_id, p.team_id, p.claimed_at)
                for p in store.stale_channel_posts(session, now - STALE_AFTER)
            ]
            stale_reminders = [
                (r.delivery_id, r.number, r.team_id, r.claimed_at)
                for r in store.stale_reminders(session, now - STALE_AFTER)
            ]
        for delivery_id, team_id, user_id, claimed_at in stale:
            found = self._find_sent(team_id, user_id, claimed_at, "delivery_id", delivery_id)
            with self.database.session() as session:
                delivery = session.get(Delivery, delivery_id)
                if found:
                    delivery.status, delivery.channel_id, delivery.message_ts = SENT, found[0], found[1]
                    delivery.sent_at = delivery.sent_at or now
                    logger.info("delivery %s was sent before a crash: recorded, not resent", delivery_id)
                else:
                    delivery.status = PENDING
        for round_id, channel, team_id, claimed_at in stale_posts:
            key = f"{round_id}:{channel}"
            found = find_in_history(self.slack_for(team_id), channel, claimed_at, "channel_post", key)
            with self.database.session() as session:
                post = session.get(ChannelPost, (round_id, channel))
                post.status, post.message_ts = (SENT, found) if found else (PENDING, None)
        for delivery_id, number, team_id, claimed_at in stale_reminders:
            with self.database.session() as session:
                user_id = session.get(Delivery, delivery_id).user_id
            found = self._find_sent(team_id, user_id, claimed_at, "reminder", f"{delivery_id}:{number}")
            with self.database.session() as session:
                reminder = session.get(Reminder, (delivery_id, number))
                if found:
                    reminder.status, reminder.message_ts, reminder.sent_at = SENT, found[1], now
                else:
                    session.delete(reminder)  # claimed again on this run's reminder pass

    def _find_sent(
        self, team_id: str, user_id: str, since: datetime, key: str, value: object
    ) -> tuple[str, str] | None:
        """The DM channel and ts of the message carrying `key: value`, if it was posted after all."""
        return find_in_dm(self.slack_for(team_id), user_id, since, key, value)

    def _deliver(self, report: RunReport) -> None:
        with ThreadPoolExecutor(max_workers=SEND_WORKERS, thread_name_prefix="alignbot-send") as pool:
            while not self.stopping.is_set():
                with self.database.session() as session:
                    batch = [
                        (d.id, d.team_id, d.user_id, d.round_id, d.language, d.attempts)
                        for d in store.claim_deliveries(session, self.clock.now(), BATCH_SIZE)
                    ]
                if not batch:
                    break
                results = list(pool.map(lambda row: self._send_delivery(*row[:5]), batch))
                results = [
                    self._look_up(row[1], row[2], row[0]) if result.status == "check" else result
                    for row, result in zip(batch, results, strict=True)
                ]
                with self.database.session() as session:
                    for (delivery_id, *_rest, attempts), result in zip(batch, results, strict=True):
                        self._record_send(session.get(Delivery, delivery_id), result, attempts, report)
                    remaining = store.remaining_deliveries(session)
                logger.info(
                    "pulse delivery: %s sent, %s failed, %s remaining", report.sent, report.failed, remaining
                )
                if all(result.status in ("retry", "uncertain") for result in results):
                    break  # Slack is struggling: leave the rest for the next run

    def _look_up(self, team_id: str, user_id: str, delivery_id: int) -> SendResult:
        """After a 5xx: posted after all (record it), or not (send it again later)."""
        found = self._find_sent(team_id, user_id, self.clock.now() - STALE_AFTER, "delivery_id", delivery_id)
        if found:
            return SendResult("sent", found[0], found[1])
        return SendResult("retry", error="server_error")

    def _send_delivery(
        self, delivery_id: int, team_id: str, user_id: str, round_id: int, language: str
    ) -> SendResult:
        view = self.pulses.view(round_id, user_id)
        if view is None:
            return SendResult("failed", error="round_deleted")
        message = self._render(team_id, language, view)
        return post_once(self.slack_for(team_id), user_id, message, {"delivery_id": delivery_id})

    def _record_send(self, delivery: Delivery, result: SendResult, attempts: int, report: RunReport) -> None:
        if result.status == "sent":
            delivery.status, delivery.channel_id, delivery.message_ts = SENT, result.channel, result.ts
            delivery.sent_at = self.clock.now()
            report.sent += 1
        elif result.status == "failed" or attempts >= MAX_ATTEMPTS:
            delivery.status, delivery.error = FAILED, result.error
            report.failed += 1
            report.errors[result.error or "unknown"] = report.errors.get(result.error or "unknown", 0) + 1
            logger.warning("delivery %s to %s failed: %s", delivery.id, delivery.user_id, result.error)
        elif result.status == "retry":
            delivery.status, delivery.error = PENDING, result.error
        # "uncertain" stays `sending`: _recover_stale checks the DM's history before any new try

    # ----- 4. reminders -----------------------------------------------------------------------------

    def _remind(self, now: datetime, report: RunReport) -> None:
        with self.database.session() as session:
            work = []
            for pulse_round in store.open_rounds(session):
                if pulse_round.closes_at <= now or pulse_round.audience_size is None:
                    continue
                settings = store.settings_of(session.get(Cadence, pulse_round.cadence_id))
                due = [
                    n
                    for n, at in enumerate(settings.reminder_times(pulse_round.scheduled_at), 1)
                    if at <= now
                ]
                if not due:
                    continue
                number = max(due)  # after downtime, only the latest reminder goes out
                for delivery in store.reminders_due(session, pulse_round, number):
                    if store.claim_reminder(session, delivery, number, now):
                        for earlier in range(1, number):
                            if store.claim_reminder(session, delivery, earlier, now):
                                session.get(Reminder, (delivery.id, earlier)).status = "superseded"
                        work.append(
                            (
                                delivery.id,
                                delivery.team_id,
                                delivery.user_id,
                                delivery.round_id,
                                delivery.language,
                                number,
                            )
                        )
        for delivery_id, team_id, user_id, round_id, language, number in work:
            view = self.pulses.view(round_id, user_id, reminder=number)
            message = self._render(team_id, language, view)
            result = post_once(
                self.slack_for(team_id), user_id, message, {"reminder": f"{delivery_id}:{number}"}
            )
            with self.database.session() as session:
                reminder = session.get(Reminder, (delivery_id, number))
                if result.status == "sent":
                    reminder.status, reminder.message_ts, reminder.sent_at = SENT, result.ts, now
                    report.reminders += 1
                elif result.status == "failed":
                    reminder.status = FAILED
                elif result.status == "retry":
                    session.delete(reminder)

    # ----- 5. closing --------------------------------------------------------------------------------

    def _close(self, now: datetime, report: RunReport) -> None:
        with self.database.session() as session:
            closed = []
            for pulse_round in store.rounds_to_close(session, now):
                pulse_round.status, pulse_round.closed_at = store.CLOSED, now
                posts = [(p.channel_id, p.message_ts) for p in store.channel_posts(session, pulse_round.id)]
                closed.append((pulse_round.id, pulse_round.team_id, posts))
        report.rounds_closed += len(closed)
        for round_id, team_id, posts in closed:
            self._close_channel_posts(round_id, team_id, posts)
        while True:
            with self.database.session() as session:
                batch = [
                    (d.id, d.team_id, d.user_id, d.round_id, d.language, d.channel_id, d.message_ts)
                    for d in store.closed_notices_pending(session, BATCH_SIZE)
                ]
            if not batch:
                return
            for delivery_id, team_id, user_id, round_id, language, channel, ts in batch:
                message = self._render(team_id, language, self.pulses.view(round_id, user_id))
                try:
                    self.slack_for(team_id).chat_update(channel=channel, ts=ts, **message)
                except SlackApiError as error:
                    logger.warning(
                        "closing note for delivery %s: %s", delivery_id, error.response.get("error")
                    )
                with self.database.session() as session:
                    session.get(Delivery, delivery_id).closed_notice = True

    def _close_channel_posts(self, round_id: int, team_id: str, posts: list[tuple[str, str | None]]) -> None:
        view = self.pulses.view(round_id, None)
        for channel, ts in posts:
            if ts is None:
                continue
            message = self._render(team_id, None, view)
            try:
                self.slack_for(team_id).chat_update(channel=channel, ts=ts, **message)
            except SlackApiError as error:
                logger.warning("closing channel post %s: %s", channel, error.response.get("error"))

    def _render(self, team_id: str, language: str | None, view: PulseView) -> dict[str, Any]:
        """The pulse message in `language` (None: the workspace's default, for shared channel posts)."""
        language = language or self._configs.language(team_id)
        return self.presenter.pulse_message(language, view, self._configs.threshold(team_id))

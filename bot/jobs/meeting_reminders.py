"""The scheduled side of joint meetings: reminders in both teams' channels, the .ics in each reminder's
thread, and the "was it useful?" DM once a meeting ends — each exactly once.

Like the pulse runner: each run plans what fell due in (last run, now] under database keys (a post per
(meeting, date, offset, channel), a check per (meeting, date), its DM per (check, person)), then claims
and posts. Every post carries its key in Slack's message metadata, so a post whose answer was lost is
looked up in the channel (or DM) before it is ever tried again. After downtime, only the latest reminder
of a meeting goes out, none once the meeting has begun, and a check is not sent half a day late.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import schedule
from bot.domain.audience import department_of
from bot.domain.clock import Clock
from bot.domain.meetings import (
    MeetingSettings,
    Reminder,
    build_agenda,
    check_due,
    due_checks,
    due_reminders,
    next_occurrences,
    occurrence_number,
)
from bot.domain.people import SlackUser, choose_language
from bot.domain.question_bank import QuestionBank
from bot.domain.vocabulary import MARKETING, SALES
from bot.services.meetings import CHECK_WINDOW, MeetingService
from bot.services.workspaces import ConfigsOfRun
from bot.slack.delivery import SendResult, channel_members, find_in_dm, find_in_history, post_once
from bot.slack.presenters import Presenter
from storage import meetings as store
from storage import workspaces as workspace_store
from storage.db import Database
from storage.models import FAILED, PENDING, SENT, Meeting, MeetingCheck, MeetingCheckDelivery, MeetingReminder

logger = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=2)
CHECK_LATE_LIMIT = timedelta(hours=12)
"""A check found due this long after the meeting ended (the bot was down) is not sent: "today" is over."""


@dataclass
class MeetingReport:
    reminders: int = 0
    dropped: int = 0
    calendars: int = 0
    checks: int = 0


class MeetingRunner:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        meetings: MeetingService,
        presenter: Presenter,
        bank: QuestionBank,
        slack_for: Callable[[str], WebClient],
        default_language: str = "en",
    ) -> None:
        self.database = database
        self.clock = clock
        self.meetings = meetings
        self.presenter = presenter
        self.bank = bank
        self.slack_for = slack_for
        self.default_language = default_language
        self._configs = ConfigsOfRun(database, default_language)
        self._lock = threading.Lock()

    def run_due(self) -> MeetingReport:
        """Do everything due by now. Serialised within the process; the database serialises processes."""
        with self._lock:
            report = MeetingReport()
            now = self.clock.now()
            self._configs = ConfigsOfRun(self.database, self.default_language)
            self._plan(now)
            self._recover_stale(now)
            self._post_reminders(now, report)
            self._attach_calendars(report)
            self._build_check_audiences()
            self._send_checks(now, report)
            return report

    def next_wakeup(self) -> datetime | None:
        """The next reminder or check due, or soon when a post is waiting to be retried or looked up."""
        now = self.clock.now()
        candidates: list[datetime] = []
        with self.database.session() as session:
            for meeting in store.active_meetings(session):
                after = max(meeting.planned_until, now)
                skipped = store.skipped_dates(session, meeting.id)
                candidates += _next_due(store.settings_of(meeting), after, skipped)
            if store.pending_reminders(session) or store.pending_checks(session):
                candidates.append(now + STALE_AFTER)
        return min(candidates, default=None)

    # ----- 1. what fell due ------------------------------------------------------------------------

    def _plan(self, now: datetime) -> None:
        check_item = self.bank.meeting_check()
        with self.database.session() as session:
            for meeting in store.active_meetings(session):
                config = workspace_store.load_config(session, meeting.team_id)
                language = config.default_language if config else self.default_language
                settings = store.settings_of(meeting)
                skipped = store.skipped_dates(session, meeting.id)
                latest: dict[datetime, Reminder] = {}
                for due in due_reminders(settings, meeting.planned_until, now, skipped):
                    if due.occurrence > now:  # ordered by due time: the last one of a meeting wins
                        latest[due.occurrence] = due
                for due in latest.values():
                    activity = store.planned_joint_activity(session, meeting.id, due.occurrence_date)
                    if activity is None:
                        number = occurrence_number(settings, due.occurrence, skipped)
                        activity = build_agenda(None, (), number, ()).joint_activity
                    for channel in settings.channels:
                        store.add_reminder(session, meeting, due, channel, language, activity)
                    session.flush()
                for start in due_checks(settings, meeting.planned_until, now, skipped) if check_item else ():
                    ends = check_due(settings, start)
                    if now - ends > CHECK_LATE_LIMIT:
                        logger.info(
                            "meeting %s at %s: too late to ask whether it was useful", meeting.id, start
                        )
                        continue
                    day = schedule.occurrence_date(settings.recurrence, start)
                    store.add_check(session, meeting, day, start, ends + CHECK_WINDOW, check_item.id, now)
                meeting.planned_until = max(meeting.planned_until, now)

    # ----- 2. reminders in the channels --------------------------------------------------------------

    def _recover_stale(self, now: datetime) -> None:
        """Posts that never finished: found in Slack → sent; not found → tried again."""
        with self.database.session() as session:
            reminders = [
                (r.id, r.team_id, r.channel_id, r.claimed_at)
                for r in store.stale_reminders(session, now - STALE_AFTER)
            ]
            checks = [
                (d.check_id, d.user_id, d.team_id, d.claimed_at)
                for d in store.stale_check_deliveries(session, now - STALE_AFTER)
            ]
        for reminder_id, team_id, channel, claimed_at in reminders:
            found = find_in_history(
                self.slack_for(team_id), channel, claimed_at, "meeting_reminder", reminder_id
            )
            with self.database.session() as session:
                reminder = session.get(MeetingReminder, reminder_id)
                reminder.status, reminder.message_ts = (SENT, found) if found else (PENDING, None)
        for check_id, user_id, team_id, claimed_at in checks:
            found = find_in_dm(
                self.slack_for(team_id), user_id, claimed_at, "meeting_check", f"{check_id}:{user_id}"
            )
            with self.database.session() as session:
                delivery = session.get(MeetingCheckDelivery, (check_id, user_id))
                if found:
                    delivery.status, delivery.channel_id, delivery.message_ts = SENT, found[0], found[1]
                else:
                    delivery.status = PENDING

    def _post_reminders(self, now: datetime, report: MeetingReport) -> None:
        with self.database.session() as session:
            claimed = [
                (r.id, r.team_id, r.meeting_id, r.occurrence_date, r.joint_activity, r.agenda is None)
                for r in store.claim_reminders(session, now)
            ]
        agendas: dict[tuple[int, date], dict] = {}
        for reminder_id, team_id, meeting_id, day, activity, needs_agenda in claimed:
            if not self._still_due(reminder_id, now):
                report.dropped += 1
                continue
            if needs_agenda:
                if (meeting_id, day) not in agendas:
                    agenda = self.meetings.agenda(team_id, meeting_id, day, activity)
                    agendas[meeting_id, day] = store.agenda_to_json(agenda)
                with self.database.session() as session:
                    session.get(MeetingReminder, reminder_id).agenda = agendas[meeting_id, day]
            post = self.meetings.reminder_post(reminder_id)
            if post is None:  # the meeting was removed meanwhile, and this post with it
                continue
            channel, message = post.channel, self.presenter.meeting_reminder(post)
            client = self.slack_for(team_id)
            result = post_once(client, channel, message, {"meeting_reminder": reminder_id})
            if result.status == "check":
                found = find_in_history(client, channel, now - STALE_AFTER, "meeting_reminder", reminder_id)
                result = (
                    SendResult("sent", channel, found) if found else SendResult("retry", error=result.error)
                )
            with self.database.session() as session:
                reminder = session.get(MeetingReminder, reminder_id)
                if result.status == "sent":
                    reminder.status, reminder.message_ts = SENT, result.ts
                    report.reminders += 1
                elif result.status == "failed":
                    reminder.status, reminder.error = FAILED, result.error
                    logger.warning("meeting reminder %s in %s failed: %s", reminder_id, channel, result.error)
                elif result.status == "retry":
                    reminder.status, reminder.error = PENDING, result.error
                # uncertain: stays `sending` until _recover_stale looks in the channel's history

    def _still_due(self, reminder_id: int, now: datetime) -> bool:
        """Drop a claimed reminder whose meeting began, or was skipped, paused or removed, meanwhile."""
        with self.database.session() as session:
            reminder = session.get(MeetingReminder, reminder_id)
            meeting = session.get(Meeting, reminder.meeting_id)
            due = (
                meeting is not None
                and not meeting.paused
                and reminder.occurrence_at > now
                and reminder.occurrence_date not in store.skipped_dates(session, meeting.id)
            )
            if not due:
                reminder.status = store.DROPPED
            return due

    def _attach_calendars(self, report: MeetingReport) -> None:
        """The series' .ics in the thread of each reminder posted, once per post."""
        with self.database.session() as session:
            waiting = [
                (r.id, r.team_id, r.meeting_id, r.channel_id, r.message_ts)
                for r in store.claim_ics_uploads(session)
            ]
        for reminder_id, team_id, meeting_id, channel, ts in waiting:
            calendar = self.meetings.calendar_file(meeting_id)
            file_id = store.NO_FILE
            if calendar is not None:
                name, content = calendar
                try:
                    uploaded = self.slack_for(team_id).files_upload_v2(
                        channel=channel, thread_ts=ts, content=content, filename=name, title=name
                    )
                    file_id = uploaded["files"][0]["id"] if uploaded.get("files") else store.NO_FILE
                    report.calendars += 1
                except SlackApiError as error:
                    logger.warning("the .ics for reminder %s: %s", reminder_id, error.response.get("error"))
            with self.database.session() as session:
                session.get(MeetingReminder, reminder_id).file_id = file_id

    # ----- 3. the usefulness check -------------------------------------------------------------------

    def _build_check_audiences(self) -> None:
        with self.database.session() as session:
            waiting = [(c.id, c.team_id) for c in store.checks_needing_audience(session)]
        for check_id, team_id in waiting:
            self._build_check_audience(check_id, team_id)

    def _build_check_audience(self, check_id: int, team_id: str) -> None:
        """Who said they would go, and the owner: with their department and language, written down once."""
        with self.database.session() as session:
            check = session.get(MeetingCheck, check_id)
            meeting = session.get(Meeting, check.meeting_id)
            people = store.going(session, check.meeting_id, check.occurrence_date)
            owner = meeting.owner
            config = workspace_store.load_config(session, team_id)
            chosen = workspace_store.preferences(session, team_id, "department")
            overrides = workspace_store.preferences(session, team_id, "language")
        people = list(dict.fromkeys([*people, *([owner] if owner else [])]))
        client = self.slack_for(team_id)
        department_channels = (
            {c: SALES for c in config.sales_channels} | {c: MARKETING for c in config.marketing_channels}
            if config
            else {}
        )
        members = {channel: channel_members(client, channel) for channel in department_channels}
        default = config.default_language if config else self.default_language
        rows = []
        for user_id in people:
            try:
                user = SlackUser.from_api(client.users_info(user=user_id, include_locale=True)["user"])
            except SlackApiError as error:
                logger.warning(
                    "check %s: users.info %s failed: %s", check_id, user_id, error.response.get("error")
                )
                continue
            if user.is_bot or user.deleted:
                continue
            department = department_of(user_id, members, department_channels, chosen)
            rows.append((user_id, department, choose_language(overrides.get(user_id), user.locale, default)))
        with self.database.session() as session:
            check = session.get(MeetingCheck, check_id, with_for_update=True)
            if check is None or check.audience_size is not None:
                return  # another process wrote the audience first
            store.add_check_deliveries(session, check, rows)

    def _send_checks(self, now: datetime, report: MeetingReport) -> None:
        with self.database.session() as session:
            claimed = [(d.check_id, d.user_id, d.team_id) for d in store.claim_check_deliveries(session, now)]
        for check_id, user_id, team_id in claimed:
            view = self.meetings.check_view(team_id, check_id, user_id)
            if view is None or view.closed:
                with self.database.session() as session:
                    session.get(MeetingCheckDelivery, (check_id, user_id)).status = store.DROPPED
                continue
            client = self.slack_for(team_id)
            key = f"{check_id}:{user_id}"
            message = self.presenter.meeting_check(view, self._configs.threshold(team_id))
            result = post_once(client, user_id, message, {"meeting_check": key})
            if result.status == "check":
                found = find_in_dm(client, user_id, now - STALE_AFTER, "meeting_check", key)
                result = SendResult("sent", *found) if found else SendResult("retry", error=result.error)
            with self.database.session() as session:
                delivery = session.get(MeetingCheckDelivery, (check_id, user_id))
                if result.status == "sent":
                    delivery.status, delivery.channel_id, delivery.message_ts = (
                        SENT,
                        result.channel,
                        result.ts,
                    )
                    report.checks += 1
                elif result.status == "failed":
                    delivery.status, delivery.error = FAILED, result.error
                    logger.warning("meeting check %s to %s failed: %s", check_id, user_id, result.error)
                elif result.status == "retry":
                    delivery.status, delivery.error = PENDING, result.error


def _next_due(settings: MeetingSettings, after: datetime, skipped: set[date]) -> list[datetime]:
    """The next instant each reminder offset, and the usefulness check, falls due after `after`."""
    found = []
    for offset in settings.reminder_offsets:
        lead = timedelta(minutes=offset)
        found += [start - lead for start in next_occurrences(settings, after + lead, 1, skipped)]
    found += [
        check_due(settings, start)
        for start in next_occurrences(settings, after - settings.duration, 1, skipped)
    ]
    return found

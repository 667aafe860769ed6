"""The scheduled side of joint meetings: reminders in both teams' channels, the .ics in each reminder's
thread, and the "was it useful?" DM once a meeting ends — each exactly once.

Like the pulse runner: each run plans what fell due in (last run, now] under database keys (a post per
(meeting, date, offset, channel), a check per (meeting, date), its DM per (check, person)), then hands
the posts to `bot.slack.outbox`: every post carries its key in Slack's message metadata, so a post whose
answer was lost is looked up in the channel (or DM) before it is ever tried again. After downtime, only
the latest reminder of a meeting goes out, none once the meeting has begun, and a check is not sent half
a day late.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import or_
from sqlalchemy.orm import Session

from bot.domain import holiday_calendars, schedule
from bot.domain.audience import department_of
from bot.domain.clock import Clock
from bot.domain.local_time import person_zone
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
from bot.domain.quiet_hours import QuietHours
from bot.services.meetings import CHECK_WINDOW, MeetingService
from bot.services.workspaces import ConfigsOfRun
from bot.slack.client import Transport, channel_members
from bot.slack.outbox import STALE_AFTER, Envelope, Message, Outbox, Outcome, RowMailbox
from bot.slack.presenters import Presenter
from storage import meetings as store
from storage import workspaces as workspace_store
from storage.db import Database
from storage.models import Meeting, MeetingCheck, MeetingCheckDelivery, MeetingReminder, PostStatus
from storage.workspaces import claim_pending

logger = logging.getLogger(__name__)

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
        transport: Transport | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.meetings = meetings
        self.presenter = presenter
        self.bank = bank
        self.slack_for = slack_for
        self.default_language = default_language
        self.configs = ConfigsOfRun(database, default_language)
        self._lock = threading.Lock()
        self.outbox = Outbox(database, clock, slack_for, transport=transport)
        self.reminders = ReminderPosts(self)
        self.checks = CheckDMs(self)

    def run_due(self) -> MeetingReport:
        """Do everything due by now. Serialised within the process; the database serialises processes."""
        with self._lock:
            report = MeetingReport()
            now = self.clock.now()
            self.configs = ConfigsOfRun(self.database, self.default_language)
            self._plan(now)
            self.outbox.recover(self.reminders)
            self.outbox.recover(self.checks)
            posted = self.outbox.send(self.reminders)
            report.reminders = sum(outcome.status == PostStatus.SENT for outcome in posted)
            report.dropped = sum(outcome.status == PostStatus.DROPPED for outcome in posted)
            self._attach_calendars(report)
            self._build_check_audiences()
            sent = self.outbox.send(self.checks)
            report.checks = sum(outcome.status == PostStatus.SENT for outcome in sent)
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
        """Who said they would go, and the owner: with their department and language, written down once.
        The owner (or, without one, the first person asked) confirms first that the meeting took place."""
        with self.database.session() as session:
            check = session.get(MeetingCheck, check_id)
            meeting = session.get(Meeting, check.meeting_id)
            people = store.going(session, check.meeting_id, check.occurrence_date)
            owner = meeting.owner
            config = workspace_store.load_config(session, team_id)
            chosen = workspace_store.preferences(session, team_id, "department")
            overrides = workspace_store.preferences(session, team_id, "language")
            own_calendars = {
                user: (calendar,)
                for user, calendar in workspace_store.preferences(
                    session, team_id, "holiday_calendar"
                ).items()
            }
        people = list(dict.fromkeys([*people, *([owner] if owner else [])]))
        client = self.slack_for(team_id)
        department_channels = config.department_channels if config else {}
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
            language = choose_language(overrides.get(user_id), user.locale, default)
            zone = person_zone(user.tz, config.timezone if config else "UTC")
            quiet = QuietHours(zone, holiday_calendars.weekend(own_calendars.get(user_id, ())))
            rows.append((user_id, department, language, quiet.next_allowed(self.clock.now())))
        with self.database.session() as session:
            check = session.get(MeetingCheck, check_id, with_for_update=True)
            if check is None or check.audience_size is not None:
                return  # another process wrote the audience first
            asked = [user_id for user_id, _department, _language, _due_at in rows]
            confirmer = owner if owner in asked else (asked[0] if asked else None)
            store.add_check_deliveries(session, check, rows, confirmer)


# ----- what the outbox posts ---------------------------------------------------------------------


class ReminderPosts(RowMailbox):
    """A meeting's reminder in each of its channels, with the agenda as of its first claim.

    One claimed after its meeting began, or was skipped, paused or removed, is `dropped` unposted.
    """

    model = MeetingReminder
    kind = "meeting_reminder"

    def __init__(self, runner: MeetingRunner) -> None:
        self.runner = runner
        #: The agendas worked out this run, so each meeting's channels get the same one.
        self._agendas: dict[tuple[int, date], dict] = {}

    def claim(self, session: Session, now: datetime) -> list[Envelope]:
        self._agendas = {}
        return super().claim(session, now)

    def address(self, reminder: MeetingReminder) -> tuple[str, object]:
        return reminder.channel_id, reminder.id

    def compose(self, envelope: Envelope) -> Message | Outcome:
        reminder = envelope.row
        if not self._still_due(reminder.id):
            return Outcome(PostStatus.DROPPED)
        if reminder.agenda is None:
            day = (reminder.meeting_id, reminder.occurrence_date)
            if day not in self._agendas:
                agenda = self.runner.meetings.agenda(reminder.team_id, *day, reminder.joint_activity)
                self._agendas[day] = store.agenda_to_json(agenda)
            with self.runner.database.session() as session:
                session.get(MeetingReminder, reminder.id).agenda = self._agendas[day]
        post = self.runner.meetings.reminder_post(reminder.id)
        if post is None:  # the meeting was removed meanwhile, and this post with it
            return Outcome(PostStatus.DROPPED)
        return self.runner.presenter.meeting_reminder(post)

    def _still_due(self, reminder_id: int) -> bool:
        """Whether its meeting is still ahead, and neither skipped, paused nor removed."""
        with self.runner.database.session() as session:
            reminder = session.get(MeetingReminder, reminder_id)
            meeting = session.get(Meeting, reminder.meeting_id)
            return (
                meeting is not None
                and not meeting.paused
                and reminder.occurrence_at > self.runner.clock.now()
                and reminder.occurrence_date not in store.skipped_dates(session, meeting.id)
            )

    def record(self, session: Session, envelope: Envelope, outcome: Outcome) -> None:
        reminder = self.claimed_row(session, envelope)
        if reminder is None:
            return
        reminder.status = outcome.status
        if outcome.status == PostStatus.SENT:
            reminder.message_ts = outcome.ts
        elif outcome.status != PostStatus.DROPPED:
            reminder.message_ts, reminder.error = None, outcome.error


class CheckDMs(RowMailbox):
    """The "was it useful?" DM to each person asked; `dropped` unposted once the check has closed."""

    model = MeetingCheckDelivery
    kind = "meeting_check"

    def __init__(self, runner: MeetingRunner) -> None:
        self.runner = runner

    def address(self, delivery: MeetingCheckDelivery) -> tuple[str, object]:
        return delivery.user_id, f"{delivery.check_id}:{delivery.user_id}"

    def claim(self, session: Session, now: datetime) -> list[Envelope]:
        """The DMs due: none in a person's quiet hours (they wait for the morning while the check is open)."""
        due = or_(MeetingCheckDelivery.due_at.is_(None), MeetingCheckDelivery.due_at <= now)
        claimed = claim_pending(session, MeetingCheckDelivery, now, due=due)
        return [self.envelope(row) for row in claimed]

    def compose(self, envelope: Envelope) -> Message | Outcome:
        delivery = envelope.row
        view = self.runner.meetings.check_view(delivery.team_id, delivery.check_id, delivery.user_id)
        if view is None or view.closed:
            return Outcome(PostStatus.DROPPED)
        return self.runner.presenter.meeting_check(view, self.runner.configs.threshold(delivery.team_id))

    def record(self, session: Session, envelope: Envelope, outcome: Outcome) -> None:
        delivery = self.claimed_row(session, envelope)
        delivery.status = outcome.status
        if outcome.status == PostStatus.SENT:
            delivery.channel_id, delivery.message_ts = outcome.channel, outcome.ts
        elif outcome.status != PostStatus.DROPPED:
            delivery.error = outcome.error


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

"""Joint meetings as admins and both teams use them: series, skips, agenda items, RSVPs, usefulness checks.

The domain is in `bot.domain.meetings` (and `bot.domain.ical` for the calendar file); the scheduled
work (reminders, checks) is in `bot.jobs.meeting_reminders`. It returns what each message shows;
the runner and the listeners present it (`bot.slack.presenters`).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain import ical, schedule
from bot.domain.clock import Clock
from bot.domain.meetings import Agenda, MeetingSettings, build_agenda, next_occurrences
from bot.domain.nudges import BOTH_TEAMS
from bot.services.insights import InsightService
from storage import meetings as store
from storage import workspaces as workspace_store
from storage.db import Database
from storage.models import Meeting, MeetingCheck, MeetingCheckDelivery, MeetingReminder

LISTED_OCCURRENCES = 3
MAX_AGENDA_ITEM_LENGTH = 300
CHECK_WINDOW = timedelta(days=3)
"""How long after the meeting ends the usefulness check accepts answers."""
SCORES = (1, 2, 3, 4, 5)
UNSAFE_IN_FILE_NAMES = re.compile(r"[^\w\- ]+")


@dataclass(frozen=True)
class MeetingSummary:
    """One series as `/align meeting` lists it."""

    id: int
    settings: MeetingSettings
    paused: bool
    upcoming: tuple[datetime, ...]
    """The next starts (UTC), skipped dates left out; empty while paused."""
    skipped: tuple[date, ...]
    """Future dates called off with skip-next."""


@dataclass(frozen=True)
class ReminderView:
    """Everything one reminder post shows; the RSVP counts are all that changes once it is posted."""

    meeting_id: int
    title: str
    occurrence: datetime
    occurrence_date: date
    duration_minutes: int
    offset_minutes: int
    link: str | None
    owner: str | None
    agenda: Agenda
    going: int
    not_going: int


@dataclass(frozen=True)
class ReminderPost:
    """One reminder as it reads now, where it is posted, and the words its agenda needs."""

    channel: str
    ts: str | None
    language: str
    view: ReminderView
    items: dict[str, str]
    """The statements' texts in `language`, by id (the agenda names the weakest)."""
    dimensions: dict[str, str]
    """The dimensions' names in `language`, by id."""


@dataclass(frozen=True)
class CheckView:
    """One person's "was it useful?" DM."""

    check_id: int
    title: str
    occurrence: datetime
    score: int | None
    has_comment: bool
    closed: bool
    language: str
    confirm: bool = False
    """This person is to say whether the meeting took place, and has not yet."""
    held: bool | None = None


@dataclass(frozen=True)
class RsvpOutcome:
    """`saved`, `closed` (the meeting is over) or `unknown` (no such meeting was announced)."""

    status: str
    title: str = ""
    occurrence: datetime | None = None
    posts: tuple[tuple[int, str, str], ...] = ()
    """(reminder id, channel, ts) of every post of the meeting, to update in place."""


class MeetingService:
    def __init__(self, database: Database, clock: Clock, insights: InsightService) -> None:
        self.database = database
        self.clock = clock
        self.insights = insights

    # ----- series ------------------------------------------------------------------------------------

    def create(self, team_id: str, settings: MeetingSettings, created_by: str) -> bool:
        """False when the title is taken (titles are how admins refer to meetings)."""
        with self.database.session() as session:
            if store.meeting_titled(session, team_id, settings.title) is not None:
                return False
            uid = f"{secrets.token_hex(12)}@alignbot"
            store.create_meeting(session, team_id, settings, created_by, self.clock.now(), uid)
            return True

    def update(self, team_id: str, meeting_id: int, settings: MeetingSettings) -> str:
        """`updated`, `missing`, or `title_taken` when renamed onto another meeting's title."""
        with self.database.session() as session:
            meeting = self._meeting(session, team_id, meeting_id)
            if meeting is None:
                return "missing"
            other = store.meeting_titled(session, team_id, settings.title)
            if other is not None and other.id != meeting.id:
                return "title_taken"
            store.update_meeting(session, meeting, settings, self.clock.now())
            return "updated"

    def title_taken(self, team_id: str, title: str, editing: int | None) -> bool:
        with self.database.session() as session:
            other = store.meeting_titled(session, team_id, title)
            return other is not None and other.id != editing

    def find(self, team_id: str, title: str) -> tuple[int, MeetingSettings] | None:
        with self.database.session() as session:
            meeting = store.meeting_titled(session, team_id, title)
            return (meeting.id, store.settings_of(meeting)) if meeting else None

    def settings(self, team_id: str, meeting_id: int) -> MeetingSettings | None:
        with self.database.session() as session:
            meeting = self._meeting(session, team_id, meeting_id)
            return store.settings_of(meeting) if meeting else None

    def summaries(self, team_id: str) -> list[MeetingSummary]:
        now = self.clock.now()
        with self.database.session() as session:
            summaries = []
            for meeting in store.meetings_of(session, team_id):
                settings = store.settings_of(meeting)
                skipped = store.skipped_dates(session, meeting.id)
                upcoming = (
                    () if meeting.paused else next_occurrences(settings, now, LISTED_OCCURRENCES, skipped)
                )
                today = now.astimezone(ZoneInfo(settings.recurrence.timezone)).date()
                future_skips = tuple(sorted(day for day in skipped if day >= today))
                summaries.append(
                    MeetingSummary(meeting.id, settings, meeting.paused, tuple(upcoming), future_skips)
                )
            return summaries

    def set_paused(self, team_id: str, meeting_id: int, paused: bool) -> None:
        """Resuming starts from now: what fell due while paused is not sent late."""
        now = self.clock.now()
        with self.database.session() as session:
            meeting = self._meeting(session, team_id, meeting_id)
            if meeting is None:
                return
            if meeting.paused and not paused:
                meeting.planned_until = max(meeting.planned_until, now)
            meeting.paused, meeting.updated_at = paused, now

    def skip_next(self, team_id: str, meeting_id: int, by: str) -> datetime | None:
        """Call off the next meeting of the series; its start, or None when none is to come."""
        now = self.clock.now()
        with self.database.session() as session:
            meeting = self._meeting(session, team_id, meeting_id)
            if meeting is None:
                return None
            settings = store.settings_of(meeting)
            upcoming = next_occurrences(settings, now, 1, store.skipped_dates(session, meeting.id))
            if not upcoming:
                return None
            store.skip(session, meeting, schedule.occurrence_date(settings.recurrence, upcoming[0]), by, now)
            return upcoming[0]

    def remove(self, team_id: str, meeting_id: int) -> str | None:
        """The title of the meeting removed, with everything stored about it; None if there was none."""
        with self.database.session() as session:
            meeting = self._meeting(session, team_id, meeting_id)
            if meeting is None:
                return None
            session.delete(meeting)
            return meeting.title

    def add_agenda_item(self, team_id: str, text: str, by: str) -> tuple[str, datetime] | None:
        """Add a point to the soonest meeting to come; (its title, its start), or None if none is to come."""
        now = self.clock.now()
        with self.database.session() as session:
            soonest: tuple[datetime, Meeting] | None = None
            for meeting in store.meetings_of(session, team_id):
                if meeting.paused:
                    continue
                skipped = store.skipped_dates(session, meeting.id)
                upcoming = next_occurrences(store.settings_of(meeting), now, 1, skipped)
                if upcoming and (soonest is None or upcoming[0] < soonest[0]):
                    soonest = (upcoming[0], meeting)
            if soonest is None:
                return None
            start, meeting = soonest
            day = schedule.occurrence_date(store.settings_of(meeting).recurrence, start)
            store.add_agenda_item(session, meeting, day, text, by, now)
            return meeting.title, start

    def calendar_file(self, meeting_id: int) -> tuple[str, bytes] | None:
        """The series as an .ics (file name, content); the same UID every time, so calendars update."""
        with self.database.session() as session:
            meeting = session.get(Meeting, meeting_id)
            if meeting is None:
                return None
            settings = store.settings_of(meeting)
            skipped = store.skipped_dates(session, meeting.id)
            uid = meeting.uid
        content = ical.series_ics(
            uid, settings.title, settings, skipped, settings.link, None, self.clock.now()
        )
        name = UNSAFE_IN_FILE_NAMES.sub("-", settings.title).strip(" -") or "meeting"
        return f"{name}.ics", content

    # ----- reminders ---------------------------------------------------------------------------------

    def agenda(self, team_id: str, meeting_id: int, day: date, joint_activity: str) -> Agenda:
        """The agenda as of the latest close: weakest dimensions, widest gaps, the open nudges both
        teams may see, the joint activity chosen when the meeting was first announced, and what
        admins added."""
        with self.database.session() as session:
            config = workspace_store.load_config(session, team_id)
            extra_items = store.agenda_items(session, meeting_id, day)
        at = self.insights.as_of(team_id) or self.clock.now()
        results = self.insights.results(team_id, at)
        digest = self.insights.digest(team_id, at, config.timezone) if config else None
        nudges = [n for n in digest.nudges if n.audience == BOTH_TEAMS] if digest else []
        return replace(build_agenda(results, nudges, 1, extra_items), joint_activity=joint_activity)

    def reminder_post(self, reminder_id: int) -> ReminderPost | None:
        """One reminder as it reads now; None once its meeting is removed."""
        with self.database.session() as session:
            reminder = session.get(MeetingReminder, reminder_id)
            meeting = session.get(Meeting, reminder.meeting_id) if reminder else None
            if meeting is None or reminder.agenda is None:
                return None
            counts = store.rsvp_counts(session, meeting.id, reminder.occurrence_date)
            view = ReminderView(
                meeting_id=meeting.id,
                title=meeting.title,
                occurrence=reminder.occurrence_at,
                occurrence_date=reminder.occurrence_date,
                duration_minutes=meeting.duration_minutes,
                offset_minutes=reminder.offset_minutes,
                link=meeting.link,
                owner=meeting.owner,
                agenda=store.agenda_from_json(reminder.agenda),
                going=counts[store.GOING],
                not_going=counts[store.NOT_GOING],
            )
            channel, ts, language, team_id = (
                reminder.channel_id,
                reminder.message_ts,
                reminder.language,
                reminder.team_id,
            )
        items, dimensions = self.insights.texts(team_id, language)
        return ReminderPost(channel, ts, language, view, items, dimensions)

    def rsvp(self, team_id: str, user_id: str, meeting_id: int, day: date, answer: str) -> RsvpOutcome:
        """Store an answer (again and again: the last one counts) until the meeting is over."""
        if answer not in store.ANSWERS:
            return RsvpOutcome("unknown")
        now = self.clock.now()
        with self.database.session() as session:
            meeting = self._meeting(session, team_id, meeting_id)
            posts = store.posted_reminders(session, meeting_id, day) if meeting else []
            if not posts:
                return RsvpOutcome("unknown")
            start = posts[0].occurrence_at
            if now >= start + timedelta(minutes=meeting.duration_minutes):
                return RsvpOutcome("closed", meeting.title, start)
            store.save_rsvp(session, team_id, meeting_id, day, user_id, answer, now)
            return RsvpOutcome(
                "saved", meeting.title, start, tuple((p.id, p.channel_id, p.message_ts) for p in posts)
            )

    # ----- usefulness checks -------------------------------------------------------------------------

    def check_view(self, team_id: str, check_id: int, user_id: str) -> CheckView | None:
        with self.database.session() as session:
            check = session.get(MeetingCheck, check_id)
            delivery = session.get(MeetingCheckDelivery, (check_id, user_id)) if check else None
            if delivery is None or check.team_id != team_id:
                return None
            return self._check_view(session, check, delivery)

    def _check_view(self, session, check: MeetingCheck, delivery: MeetingCheckDelivery) -> CheckView:
        meeting = session.get(Meeting, check.meeting_id)
        return CheckView(
            check_id=check.id,
            title=meeting.title,
            occurrence=check.occurrence_at,
            score=delivery.score,
            has_comment=bool(delivery.comment),
            closed=check.closes_at <= self.clock.now(),
            language=delivery.language,
            confirm=check.held is None and delivery.user_id == check.confirmer,
            held=check.held,
        )

    def confirm_held(
        self, team_id: str, user_id: str, check_id: int, held: bool
    ) -> tuple[str, CheckView | None]:
        """(`saved` | `closed` | `already` | `not_asked`, the DM as it now reads): the confirmer says
        whether the meeting took place, once; held, the others are asked whether it was useful."""
        now = self.clock.now()
        with self.database.session() as session:
            check = session.get(MeetingCheck, check_id)
            delivery = session.get(MeetingCheckDelivery, (check_id, user_id)) if check else None
            if delivery is None or check.team_id != team_id or check.confirmer != user_id:
                return "not_asked", None
            if check.closes_at <= now:
                return "closed", self._check_view(session, check, delivery)
            if not store.confirm_held(session, check, held, now):
                return "already", self._check_view(session, check, delivery)
            return "saved", self._check_view(session, check, delivery)

    def answer_check(
        self, team_id: str, user_id: str, check_id: int, score: int
    ) -> tuple[str, CheckView | None]:
        """(`saved` | `closed` | `not_asked`, the DM as it now reads); tapping again replaces the rating."""
        if score not in SCORES:
            return "not_asked", None
        now = self.clock.now()
        with self.database.session() as session:
            check = session.get(MeetingCheck, check_id)
            delivery = session.get(MeetingCheckDelivery, (check_id, user_id)) if check else None
            if delivery is None or check.team_id != team_id:
                return "not_asked", None
            if check.closes_at <= now:
                return "closed", self._check_view(session, check, delivery)
            if not check.held:
                return "not_asked", None  # the question is asked once the meeting is confirmed as held
            delivery.score, delivery.answered_at = score, now
            return "saved", self._check_view(session, check, delivery)

    def comment_on_check(self, team_id: str, user_id: str, check_id: int, text: str) -> CheckView | None:
        """Store "what should change?" (replacing an earlier answer); None if too late or not asked."""
        with self.database.session() as session:
            check = session.get(MeetingCheck, check_id)
            delivery = session.get(MeetingCheckDelivery, (check_id, user_id)) if check else None
            if delivery is None or check.team_id != team_id or check.closes_at <= self.clock.now():
                return None
            delivery.comment = text
            return self._check_view(session, check, delivery)

    def check_dm_of(self, team_id: str, check_id: int, user_id: str) -> tuple[str, str] | None:
        """Where the person's own check DM is (channel, ts); None before it is sent. Looked up, never
        taken from a request, so nobody updates someone else's DM."""
        with self.database.session() as session:
            delivery = session.get(MeetingCheckDelivery, (check_id, user_id))
            if delivery is None or delivery.team_id != team_id:
                return None
            if not (delivery.channel_id and delivery.message_ts):
                return None
            return delivery.channel_id, delivery.message_ts

    def check_comment(self, team_id: str, check_id: int, user_id: str) -> str | None:
        with self.database.session() as session:
            delivery = session.get(MeetingCheckDelivery, (check_id, user_id))
            return delivery.comment if delivery and delivery.team_id == team_id else None

    # ----- helpers -----------------------------------------------------------------------------------

    @staticmethod
    def _meeting(session, team_id: str, meeting_id: int | None) -> Meeting | None:
        meeting = session.get(Meeting, meeting_id) if meeting_id else None
        return meeting if meeting is not None and meeting.team_id == team_id else None

"""Persistence of joint meetings: series, skipped dates, agenda items, reminder posts, RSVPs, checks.

The idempotency keys live in the schema: a reminder post per (meeting, date, offset, channel), an
RSVP per (meeting, date, person), a usefulness check per (meeting, date) and its DM per (check, person).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict
from datetime import date, datetime

from sqlalchemy import BigInteger, case, distinct, func, literal, select, tuple_, update
from sqlalchemy.orm import Session

from bot.domain.meetings import Agenda, CheckedMeeting, DimensionGap, MeetingSettings
from bot.domain.meetings import Reminder as DueReminder
from bot.domain.nudges import Nudge, still_readable
from bot.domain.scoring import DimensionMean
from storage.models import (
    Meeting,
    MeetingAgendaItem,
    MeetingCheck,
    MeetingCheckDelivery,
    MeetingReminder,
    MeetingRsvp,
    MeetingSkip,
    PostStatus,
)
from storage.workspaces import dialect_insert, insert_once, installed

UPLOADING, NO_FILE = "uploading", "none"
"""`MeetingReminder.file_id` while its .ics is being uploaded, and after an upload Slack refused."""
GOING, NOT_GOING = "going", "not_going"
ANSWERS = (GOING, NOT_GOING)


# ----- series ----------------------------------------------------------------------------------


def settings_of(meeting: Meeting) -> MeetingSettings:
    return MeetingSettings(
        title=meeting.title,
        recurrence=meeting.recurrence(),
        duration_minutes=meeting.duration_minutes,
        channels=tuple(meeting.channels),
        reminder_offsets=tuple(meeting.reminder_offsets),
        link=meeting.link,
        owner=meeting.owner,
    )


def _apply(meeting: Meeting, settings: MeetingSettings) -> None:
    meeting.title = settings.title
    meeting.set_recurrence(settings.recurrence)
    meeting.duration_minutes = settings.duration_minutes
    meeting.channels = list(settings.channels)
    meeting.reminder_offsets = list(settings.reminder_offsets)
    meeting.link = settings.link
    meeting.owner = settings.owner


def create_meeting(
    session: Session, team_id: str, settings: MeetingSettings, created_by: str, now: datetime, uid: str
) -> Meeting:
    """A new series; planning starts now, so nothing that fell due before it was created goes out."""
    meeting = Meeting(
        team_id=team_id,
        uid=uid,
        paused=False,
        planned_until=now,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    _apply(meeting, settings)
    session.add(meeting)
    session.flush()
    return meeting


def update_meeting(session: Session, meeting: Meeting, settings: MeetingSettings, now: datetime) -> None:
    """New settings apply from now: a reminder the old times made due earlier does not go out late."""
    _apply(meeting, settings)
    meeting.planned_until = max(meeting.planned_until, now)
    meeting.updated_at = now


def meeting_titled(session: Session, team_id: str, title: str) -> Meeting | None:
    """Admins refer to a series by its title, in any case and spacing."""
    wanted = " ".join(title.split()).lower()
    return session.scalars(
        select(Meeting).where(Meeting.team_id == team_id, func.lower(Meeting.title) == wanted)
    ).first()


def meetings_of(session: Session, team_id: str) -> list[Meeting]:
    return list(session.scalars(select(Meeting).where(Meeting.team_id == team_id).order_by(Meeting.title)))


def active_meetings(session: Session) -> list[Meeting]:
    return list(
        session.scalars(
            select(Meeting).where(Meeting.paused.is_(False), installed(Meeting)).order_by(Meeting.id)
        )
    )


def skipped_dates(session: Session, meeting_id: int) -> set[date]:
    return set(
        session.scalars(select(MeetingSkip.occurrence_date).where(MeetingSkip.meeting_id == meeting_id))
    )


def skip(session: Session, meeting: Meeting, day: date, by: str, now: datetime) -> bool:
    return insert_once(
        session,
        MeetingSkip,
        meeting_id=meeting.id,
        occurrence_date=day,
        team_id=meeting.team_id,
        skipped_by=by,
        skipped_at=now,
    )


def add_agenda_item(session: Session, meeting: Meeting, day: date, text: str, by: str, now: datetime) -> None:
    session.add(
        MeetingAgendaItem(
            meeting_id=meeting.id,
            occurrence_date=day,
            team_id=meeting.team_id,
            text=text,
            added_by=by,
            added_at=now,
        )
    )


def agenda_items(session: Session, meeting_id: int, day: date) -> list[str]:
    return list(
        session.scalars(
            select(MeetingAgendaItem.text)
            .where(MeetingAgendaItem.meeting_id == meeting_id, MeetingAgendaItem.occurrence_date == day)
            .order_by(MeetingAgendaItem.id)
        )
    )


# ----- reminder posts --------------------------------------------------------------------------


def add_reminder(
    session: Session, meeting: Meeting, due: DueReminder, channel: str, language: str, joint_activity: str
) -> bool:
    """Plan one post; False when it is planned already (another run or process got there first)."""
    return insert_once(
        session,
        MeetingReminder,
        meeting_id=meeting.id,
        occurrence_date=due.occurrence_date,
        offset_minutes=due.offset_minutes,
        channel_id=channel,
        team_id=meeting.team_id,
        occurrence_at=due.occurrence,
        language=language,
        joint_activity=joint_activity,
        status=PostStatus.PENDING,
    )


def planned_joint_activity(session: Session, meeting_id: int, day: date) -> str | None:
    """The joint activity an earlier reminder of this meeting already announced."""
    return session.scalar(
        select(MeetingReminder.joint_activity)
        .where(MeetingReminder.meeting_id == meeting_id, MeetingReminder.occurrence_date == day)
        .limit(1)
    )


def posted_reminders(session: Session, meeting_id: int, day: date) -> list[MeetingReminder]:
    """Every reminder of one meeting that is in a channel, to update in place."""
    return list(
        session.scalars(
            select(MeetingReminder)
            .where(
                MeetingReminder.meeting_id == meeting_id,
                MeetingReminder.occurrence_date == day,
                MeetingReminder.status == PostStatus.SENT,
                MeetingReminder.message_ts.is_not(None),
            )
            .order_by(MeetingReminder.id)
        )
    )


def claim_ics_uploads(session: Session) -> list[MeetingReminder]:
    """Posted reminders without their .ics yet, each now `uploading` for this process only."""
    waiting = session.scalars(
        select(MeetingReminder.id).where(
            MeetingReminder.status == PostStatus.SENT,
            MeetingReminder.file_id.is_(None),
            installed(MeetingReminder),
        )
    ).all()
    claimed = []
    for reminder_id in waiting:
        won = session.execute(
            update(MeetingReminder)
            .where(MeetingReminder.id == reminder_id, MeetingReminder.file_id.is_(None))
            .values(file_id=UPLOADING)
            .returning(MeetingReminder.id)
        ).first()
        if won:
            claimed.append(session.get(MeetingReminder, reminder_id))
    return claimed


def pending_reminders(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).where(MeetingReminder.status.in_((PostStatus.PENDING, PostStatus.SENDING)))
        )
        or 0
    )


def agenda_to_json(agenda: Agenda) -> dict:
    return asdict(agenda)


def agenda_from_json(data: Mapping) -> Agenda:
    return Agenda(
        weakest=tuple(DimensionMean(**d) for d in data["weakest"]),
        gaps=tuple(DimensionGap(**g) for g in data["gaps"]),
        nudges=tuple(nudge for nudge in (Nudge(**n) for n in data["nudges"]) if still_readable(nudge)),
        joint_activity=data["joint_activity"],
        extra_items=tuple(data["extra_items"]),
    )


# ----- RSVPs -----------------------------------------------------------------------------------


def save_rsvp(
    session: Session, team_id: str, meeting_id: int, day: date, user_id: str, answer: str, now: datetime
) -> None:
    """Insert or update: a double tap, a retried tap or a change of mind leaves one answer."""
    statement = dialect_insert(session)(MeetingRsvp).values(
        meeting_id=meeting_id,
        occurrence_date=day,
        user_id=user_id,
        team_id=team_id,
        answer=answer,
        updated_at=now,
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[MeetingRsvp.meeting_id, MeetingRsvp.occurrence_date, MeetingRsvp.user_id],
            set_={"answer": statement.excluded.answer, "updated_at": statement.excluded.updated_at},
        )
    )


def rsvp_counts(session: Session, meeting_id: int, day: date) -> dict[str, int]:
    rows = session.execute(
        select(MeetingRsvp.answer, func.count())
        .where(MeetingRsvp.meeting_id == meeting_id, MeetingRsvp.occurrence_date == day)
        .group_by(MeetingRsvp.answer)
    )
    counts = dict.fromkeys(ANSWERS, 0)
    counts.update({answer: count for answer, count in rows})
    return counts


def going(session: Session, meeting_id: int, day: date) -> list[str]:
    return list(
        session.scalars(
            select(MeetingRsvp.user_id)
            .where(
                MeetingRsvp.meeting_id == meeting_id,
                MeetingRsvp.occurrence_date == day,
                MeetingRsvp.answer == GOING,
            )
            .order_by(MeetingRsvp.user_id)
        )
    )


# ----- usefulness checks -----------------------------------------------------------------------


def add_check(
    session: Session,
    meeting: Meeting,
    day: date,
    occurrence_at: datetime,
    closes_at: datetime,
    item_id: str,
    now: datetime,
) -> bool:
    return insert_once(
        session,
        MeetingCheck,
        meeting_id=meeting.id,
        occurrence_date=day,
        team_id=meeting.team_id,
        item_id=item_id,
        occurrence_at=occurrence_at,
        closes_at=closes_at,
        audience_size=None,
        created_at=now,
    )


def checks_needing_audience(session: Session) -> list[MeetingCheck]:
    return list(
        session.scalars(
            select(MeetingCheck)
            .where(MeetingCheck.audience_size.is_(None), installed(MeetingCheck))
            .order_by(MeetingCheck.id)
        )
    )


def add_check_deliveries(
    session: Session,
    check: MeetingCheck,
    people: Iterable[tuple[str, str | None, str, datetime | None]],
    confirmer: str | None,
) -> int:
    """Write down who is asked (user, department, language, when their DM may go); returns how many.
    The `confirmer` is asked first (whether the meeting took place); the others wait until it is
    confirmed as held."""
    count = 0
    for user_id, department, language, due_at in people:
        count += insert_once(
            session,
            MeetingCheckDelivery,
            check_id=check.id,
            user_id=user_id,
            team_id=check.team_id,
            department=department,
            language=language,
            status=PostStatus.PENDING if user_id == confirmer else PostStatus.HELD_BACK,
            due_at=due_at,
        )
    check.audience_size, check.confirmer = count, confirmer
    return count


def confirm_held(session: Session, check: MeetingCheck, held: bool, now: datetime) -> bool:
    """Record whether the meeting took place, once (False when it was already said): held, the others
    are asked whether it was useful; not held, their questions are dropped unsent."""
    won = session.execute(
        update(MeetingCheck)
        .where(MeetingCheck.id == check.id, MeetingCheck.held.is_(None))
        .values(held=held, held_confirmed_at=now)
        .returning(MeetingCheck.id)
    ).first()
    if won is None:
        return False
    session.execute(
        update(MeetingCheckDelivery)
        .where(MeetingCheckDelivery.check_id == check.id, MeetingCheckDelivery.status == PostStatus.HELD_BACK)
        .values(status=PostStatus.PENDING if held else PostStatus.DROPPED)
    )
    session.refresh(check)
    return True


def pending_checks(session: Session) -> int:
    waiting = session.scalar(
        select(func.count()).where(MeetingCheckDelivery.status.in_((PostStatus.PENDING, PostStatus.SENDING)))
    )
    unbuilt = session.scalar(select(func.count()).where(MeetingCheck.audience_size.is_(None)))
    return (waiting or 0) + (unbuilt or 0)


def checked_meetings(session: Session, team_id: str, until: datetime) -> list[CheckedMeeting]:
    """Every meeting of the workspace whose check had closed by `until`, with its ratings and whether
    it was confirmed as held."""
    checks = session.execute(
        select(
            MeetingCheck.id, MeetingCheck.meeting_id, MeetingCheck.occurrence_date, MeetingCheck.held
        ).where(MeetingCheck.team_id == team_id, MeetingCheck.closes_at <= until)
    ).all()
    scores: dict[int, list[int]] = {}
    for check_id, score in session.execute(
        select(MeetingCheckDelivery.check_id, MeetingCheckDelivery.score).where(
            MeetingCheckDelivery.team_id == team_id, MeetingCheckDelivery.score.is_not(None)
        )
    ):
        scores.setdefault(check_id, []).append(score)
    return [
        CheckedMeeting(meeting_id, day, tuple(scores.get(check_id, ())), held=bool(held))
        for check_id, meeting_id, day, held in checks
    ]


def checks_between(
    session: Session, team_id: str, start: datetime, end: datetime
) -> list[tuple[int, datetime]]:
    """(check id, meeting start) of the meetings that started in [start, end) and whose check had
    closed by `end` (no reply is taken after that), as `rounds_between`."""
    rows = session.execute(
        select(MeetingCheck.id, MeetingCheck.occurrence_at).where(
            MeetingCheck.team_id == team_id,
            MeetingCheck.occurrence_at >= start,
            MeetingCheck.occurrence_at < end,
            MeetingCheck.closes_at <= end,
        )
    )
    return [(check_id, at) for check_id, at in rows]


def latest_check_close(session: Session, team_id: str, now: datetime) -> datetime | None:
    """When the workspace's latest meeting check to close, by `now`, closed."""
    return session.scalar(
        select(func.max(MeetingCheck.closes_at)).where(
            MeetingCheck.team_id == team_id, MeetingCheck.closes_at <= now
        )
    )


def _rated(team_id: str, week_of_check: Mapping[int, int]):
    return (
        MeetingCheckDelivery.team_id == team_id,
        MeetingCheckDelivery.check_id.in_(week_of_check),
        MeetingCheckDelivery.score.between(1, 5),
    )


def _counted(team_id: str, week_of_check: Mapping[int, int], threshold: int):
    """A check's ratings by one department count only when at least `threshold` people gave them,
    as a pulse round's do (see `bot.domain.tallies.WeeklyCounts.add_rounds`)."""
    department = func.coalesce(MeetingCheckDelivery.department, "")
    cells = (
        select(MeetingCheckDelivery.check_id, department)
        .where(*_rated(team_id, week_of_check))
        .group_by(MeetingCheckDelivery.check_id, department)
        .having(func.count(distinct(MeetingCheckDelivery.user_id)) >= threshold)
    )
    return (*_rated(team_id, week_of_check), tuple_(MeetingCheckDelivery.check_id, department).in_(cells))


def weekly_ratings(
    session: Session, team_id: str, week_of_check: Mapping[int, int], threshold: int
) -> Iterator[tuple[int, str | None, str, int, int]]:
    """(week, department, item id, rating, how many) over the usefulness ratings of the given checks,
    each mapped to its week."""
    if not week_of_check:
        return
    week = case(week_of_check, value=MeetingCheckDelivery.check_id)
    d = MeetingCheckDelivery
    query = (
        select(week, d.department, MeetingCheck.item_id, d.score, func.count())
        .join(MeetingCheck, MeetingCheck.id == d.check_id)
        .where(*_counted(team_id, week_of_check, threshold))
        .group_by(week, d.department, MeetingCheck.item_id, d.score)
    )
    for row in session.execute(query):
        yield row[0], row[1], row[2], row[3], row[4]


def weekly_cells(
    session: Session, team_id: str, week_of_check: Mapping[int, int]
) -> Iterator[tuple[int, str | None, str, int]]:
    """(week, department, item id, distinct people who rated it) over the given checks."""
    if not week_of_check:
        return
    week = case(week_of_check, value=MeetingCheckDelivery.check_id)
    d = MeetingCheckDelivery
    query = (
        select(week, d.department, MeetingCheck.item_id, func.count(distinct(d.user_id)))
        .join(MeetingCheck, MeetingCheck.id == d.check_id)
        .where(*_rated(team_id, week_of_check))
        .group_by(week, d.department, MeetingCheck.item_id)
    )
    for row in session.execute(query):
        yield row[0], row[1], row[2], row[3]


def weekly_respondents(
    session: Session, team_id: str, week_of_check: Mapping[int, int], threshold: int
) -> Iterator[tuple[str, str | None, str, int]]:
    """(person, department, item id, mask of the weeks they rated it in) over the given checks, grouped
    by person; bit k of the mask is week k."""
    if not week_of_check:
        return
    bit = case(
        {check_id: literal(1 << week, BigInteger) for check_id, week in week_of_check.items()},
        value=MeetingCheckDelivery.check_id,
    )
    d = MeetingCheckDelivery
    query = (
        select(d.user_id, d.department, MeetingCheck.item_id, func.sum(distinct(bit)))
        .join(MeetingCheck, MeetingCheck.id == d.check_id)
        .where(*_counted(team_id, week_of_check, threshold))
        .group_by(d.user_id, d.department, MeetingCheck.item_id)
        .order_by(d.user_id)
    )
    for row in session.execute(query):
        yield row[0], row[1], row[2], int(row[3])


def comments_between(
    session: Session, team_id: str, start: datetime, end: datetime
) -> list[tuple[str | None, str]]:
    """(department, text) of "what should change?" answers on meetings in [start, end) whose check
    had closed by `end`, newest first.

    As for pulse comments, no author and no date leave this function.
    """
    rows = session.execute(
        select(MeetingCheckDelivery.department, MeetingCheckDelivery.comment)
        .join(MeetingCheck, MeetingCheck.id == MeetingCheckDelivery.check_id)
        .where(
            MeetingCheckDelivery.team_id == team_id,
            MeetingCheckDelivery.comment.is_not(None),
            MeetingCheck.occurrence_at >= start,
            MeetingCheck.occurrence_at < end,
            MeetingCheck.closes_at <= end,
        )
        .order_by(MeetingCheck.occurrence_at.desc(), MeetingCheckDelivery.user_id)
    )
    return [(department, text) for department, text in rows]

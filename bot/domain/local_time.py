"""Each person's own time: when their copy of a round goes, when their window ends, when they are reminded.

A cadence at the workspace's time reaches everyone at one instant (its occurrence). A cadence at each
person's local time (`Recurrence.each_persons_time`) means "Mondays 09:30" wherever each person is: the
round is planned for a local date, and each person's instant is that date at 09:30 in their own zone,
right across their own daylight-saving changes. The round closes once, for the digest, when the last
person's window ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain import schedule
from bot.domain.cadence import CadenceSettings
from bot.domain.quiet_hours import QuietHours


@dataclass(frozen=True)
class PersonalTimes:
    """When one person's copy of a round goes, when their window ends, and when each reminder goes
    (None: dropped, as no allowed time was left in the window)."""

    due_at: datetime
    closes_at: datetime
    reminders: tuple[datetime | None, ...]


def person_zone(profile_tz: str | None, fallback: str) -> str:
    """The person's Slack timezone when it is a zone we know, otherwise `fallback` (the workspace's)."""
    if profile_tz:
        try:
            ZoneInfo(profile_tz)
        except (ZoneInfoNotFoundError, ValueError):
            return fallback
        return profile_tz
    return fallback


def local_date(instant: datetime, zone: str) -> date:
    """The date it is at `instant` in `zone` (whose holidays, whose away dates)."""
    return instant.astimezone(ZoneInfo(zone)).date()


def occurrence_day(recurrence: schedule.Recurrence, occurrence: datetime) -> date:
    """The local date a round was planned for (in each person's own zone, for a per-person cadence)."""
    return schedule.occurrence_date(recurrence, occurrence)


def scheduled_for(recurrence: schedule.Recurrence, occurrence: datetime, zone: str) -> datetime:
    """When the round of `occurrence` is due for a person in `zone`: the occurrence itself at the
    workspace's time, otherwise the same local date and wall-clock time in their zone."""
    if not recurrence.each_persons_time:
        return occurrence
    day = occurrence_day(recurrence, occurrence)
    return schedule.local_to_utc(day, recurrence.local_time, zone)


def latest_close(settings: CadenceSettings, occurrence: datetime) -> datetime:
    """When the round of `occurrence` closes at the latest, before anyone's zone is known."""
    if not settings.recurrence.each_persons_time:
        return occurrence + settings.answer_window
    return scheduled_for(settings.recurrence, occurrence, schedule.LATEST_ZONE) + settings.answer_window


def personal_times(
    settings: CadenceSettings,
    scheduled: datetime,
    now: datetime,
    quiet: QuietHours | None = None,
) -> PersonalTimes | None:
    """The person's times for a round due for them at `scheduled`, sent no earlier than `now` (someone
    back from leave while the round is open gets it then). With quiet hours, the copy and each reminder
    move to the next allowed time in the window, or are dropped; None when the copy itself is dropped.
    Reminders keep the round's times for the person; those that passed before their copy went are
    dropped."""
    closes_at = scheduled + settings.answer_window
    due_at = max(scheduled, now)
    if quiet is not None:
        due_at = quiet.moved_within(due_at, closes_at)
        if due_at is None:
            return None
    if due_at >= closes_at:
        return None
    reminders = tuple(
        None if at <= due_at else quiet.moved_within(at, closes_at) if quiet else at
        for at in settings.reminder_times(scheduled)
    )
    return PersonalTimes(due_at, closes_at, reminders)


def round_closes_at(times: Iterable[PersonalTimes], fallback: datetime) -> datetime:
    """A round closes once, when the last person's window ends (`fallback` when nobody was asked)."""
    return max((t.closes_at for t in times), default=fallback)

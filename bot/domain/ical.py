"""A joint meeting series as an iCalendar file (RFC 5545), so people can put it in their own calendars.

One VEVENT describes the whole series: DTSTART in the meeting's zone (with its VTIMEZONE), an RRULE
translated from the `bot.domain.schedule.Recurrence`, and EXDATE for the dates that will not meet. A calendar
that expands it gets exactly the instants `bot.domain.schedule.occurrences` gives, daylight-saving changes
included (the tests check this over a year).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain import schedule
from bot.domain.meetings import MeetingSettings

PRODID = "-//alignbot//joint meetings//EN"
BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
TIMEZONE_YEARS = 20
"""How far past the first meeting an open-ended series' VTIMEZONE lists daylight-saving changes.

icalendar writes the changes out one by one (RDATE), not as a yearly rule, so it needs an end; calendar
apps match well-known TZIDs to their own zone data anyway, and an .ics is fetched again after edits.
"""


def series_ics(
    uid: str,
    title: str,
    settings: MeetingSettings,
    skipped_dates: Collection[date],
    link: str | None,
    description: str | None,
    now: datetime,
) -> bytes:
    """The series as a VCALENDAR: CRLF line endings, lines folded at 75 octets, text escaped.

    `uid` must stay the same for the life of the series, so that importing the file again updates the
    event instead of adding a second one; `now` (aware) is the DTSTAMP. `skipped_dates` (skip-next)
    and the recurrence's own skip dates become EXDATEs.
    """
    from icalendar import Calendar, Event  # here, not at import: only an invite needs icalendar

    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    recurrence = settings.recurrence
    if errors := schedule.validate(recurrence):
        raise ValueError(f"invalid recurrence: {', '.join(errors)}")
    zone = ZoneInfo(recurrence.timezone)
    first = _first_rule_date(recurrence)
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("summary", title)
    event.add("dtstart", datetime.combine(first, recurrence.local_time, tzinfo=zone))
    event.add("duration", settings.duration)
    if recurrence.kind != schedule.ONCE:
        event.add("rrule", _rrule(recurrence))
    excluded = _rule_dates(recurrence, recurrence.skip_dates | frozenset(skipped_dates))
    if excluded:
        event.add("exdate", [datetime.combine(day, recurrence.local_time, tzinfo=zone) for day in excluded])
    if link:
        event.add("url", link)
        event.add("location", link)
    if description:
        event.add("description", description)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add_component(event)
    last = recurrence.end or (
        first if recurrence.kind == schedule.ONCE else date(first.year + TIMEZONE_YEARS, 1, 1)
    )
    # Whole days either side, so every occurrence's wall-clock time lies inside the described range.
    calendar.add_missing_timezones(first - timedelta(days=1), last + timedelta(days=2))
    return calendar.to_ical()


def _rrule(r: schedule.Recurrence) -> dict[str, object]:
    """The RRULE for a weekly or monthly recurrence (ONCE has none)."""
    if r.kind == schedule.WEEKLY:
        weekend = schedule.weekend_days(r.timezone) if r.skip_weekends else frozenset()
        rule: dict[str, object] = {
            "freq": "WEEKLY",
            "byday": [BYDAY[d] for d in sorted(r.weekdays - weekend)],
        }
        if r.interval_weeks > 1:
            # Weeks are counted from DTSTART's week, which starts on Monday like the schedule's week 0.
            rule["interval"] = r.interval_weeks
            rule["wkst"] = "MO"
    else:
        rule = {"freq": "MONTHLY", "byday": f"{r.nth}{BYDAY[r.weekday]}"}
    if r.end is not None:
        # UNTIL must be UTC when DTSTART has a TZID; the last meeting's own instant is inclusive.
        rule["until"] = schedule.local_to_utc(r.end, r.local_time, r.timezone)
    return rule


def _first_rule_date(r: schedule.Recurrence) -> date:
    """The first date the rule meets, skip dates included: DTSTART must be the rule's first instance."""
    return schedule.occurrence_date(r, schedule.first_occurrence(schedule.without_skips(r)))


def _rule_dates(r: schedule.Recurrence, days: frozenset[date]) -> list[date]:
    """Those of `days` on which the rule (ignoring skip dates) would meet, in order: the EXDATEs needed."""
    if not days:
        return []
    rule = schedule.without_skips(r)
    after = schedule.instant_before(min(days), r.timezone)
    until = schedule.local_to_utc(max(days) + timedelta(days=2), time(0), r.timezone)
    meeting_days = {schedule.occurrence_date(rule, t) for t in schedule.occurrences(rule, after, until)}
    return sorted(days & meeting_days)

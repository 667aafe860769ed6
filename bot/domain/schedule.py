"""Recurring local-time schedules (survey pulses, meetings) that stay right across daylight-saving changes.

A schedule is reasoned about in local dates of its own zone and only turned into UTC instants at the end,
so "10:00 Europe/Berlin" stays 10:00 on the wall whatever the UTC offset does that week.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKLY, MONTHLY, ONCE = "weekly", "monthly", "once"
KINDS = (WEEKLY, MONTHLY, ONCE)

NEXT_OCCURRENCE_HORIZON = timedelta(days=3 * 366)
"""How far `next_occurrence` looks; a schedule with nothing in three years is treated as finished."""

NEVER_OCCURS_HORIZON = timedelta(days=2 * 366)
"""How far `validate` looks for a first occurrence; every valid rule fires well within two years."""

_SAT_SUN = frozenset({5, 6})
_THU_FRI = frozenset({3, 4})
_FRI_SAT = frozenset({4, 5})

# Zones whose country's working week is not Monday–Friday; every other zone gets Saturday+Sunday. Kept
# short on purpose (a zone is a proxy for a country, and weekends change by decree): add a zone when a
# workspace needs it. The UAE moved to Saturday+Sunday in 2022, so Asia/Dubai is not listed.
_WEEKENDS = {
    "Asia/Tehran": _THU_FRI,
    "Asia/Kabul": _THU_FRI,
    "Asia/Riyadh": _FRI_SAT,
    "Asia/Kuwait": _FRI_SAT,
    "Asia/Qatar": _FRI_SAT,
    "Asia/Bahrain": _FRI_SAT,
    "Asia/Muscat": _FRI_SAT,
    "Asia/Aden": _FRI_SAT,
    "Asia/Baghdad": _FRI_SAT,
    "Asia/Amman": _FRI_SAT,
    "Asia/Jerusalem": _FRI_SAT,
    "Asia/Dhaka": _FRI_SAT,
    "Africa/Cairo": _FRI_SAT,
    "Africa/Algiers": _FRI_SAT,
}

_MONTHLY_NTHS = (1, 2, 3, 4, -1)

# Local dates are searched with this much slack around a UTC window, because a wall-clock time can land
# on the neighbouring date when a gap or an overlap crosses midnight.
_SLACK_DAYS = 2

# Dates are never generated past this, which leaves room to step a whole cycle beyond it (up to 12 weeks
# or one month) without overflowing `date.max` when a caller passes "forever" as the window's end.
_LAST_DAY = date(9998, 12, 31)


@dataclass(frozen=True)
class Recurrence:
    """A wall-clock schedule in one IANA zone; dates are local dates in that zone."""

    kind: str  # WEEKLY | MONTHLY | ONCE
    local_time: time  # naive wall-clock time, e.g. time(10, 0)
    timezone: str  # IANA name
    # First date that may have an occurrence; for WEEKLY the week (Monday-based) containing it is week 0.
    start: date
    weekdays: frozenset[int] = frozenset()  # WEEKLY: 0=Monday … 6=Sunday, non-empty
    interval_weeks: int = 1  # WEEKLY: every N weeks (1–12)
    nth: int | None = None  # MONTHLY: 1–4, or -1 for the last such weekday of the month
    weekday: int | None = None  # MONTHLY: 0–6
    skip_dates: frozenset[date] = frozenset()  # never used (holidays); dropped, not moved
    skip_weekends: bool = False  # drop occurrences on `weekend_days(timezone)`
    end: date | None = None  # last date that may have an occurrence (inclusive)
    # The wall-clock time is each person's own (pulses): dates are still chosen in `timezone`, but an
    # occurrence's instant is the earliest anyone on Earth reaches that time on that date, and each
    # person's own instant comes from `bot.domain.local_time`.
    each_persons_time: bool = False


EARLIEST_ZONE = "Etc/GMT-14"
"""The zone that reaches any wall-clock time first (UTC+14, Kiribati's Line Islands)."""
LATEST_ZONE = "Etc/GMT+12"
"""The zone that reaches any wall-clock time last (UTC−12)."""


def weekend_days(timezone: str) -> frozenset[int]:
    """The weekdays (0=Monday) that are the weekend in `timezone`, so skip_weekends means local days off."""
    return _WEEKENDS.get(timezone, _SAT_SUN)


def validate(recurrence: Recurrence) -> list[str]:
    """Error codes for the UI to translate (empty when usable); never raises on bad field values."""
    errors = _field_errors(recurrence)
    if errors:
        return errors
    horizon_end = _shift(recurrence.start, NEVER_OCCURS_HORIZON)
    if next(_days(recurrence, recurrence.start, horizon_end), None) is None:
        return ["never_occurs"]
    return []


def local_to_utc(day: date, at: time, timezone: str) -> datetime:
    """The UTC instant at which the naive wall-clock time `at` happens on `day` in `timezone`.

    So that a schedule fires exactly once on every local day:
    - in the spring-forward gap (the time does not exist) it moves forward by the length of the gap, i.e.
      it is read with the offset in force before the change: 02:30 on the US spring-forward day is 03:30
      EDT, the same instant as 02:30 EST;
    - in the fall-back overlap (the time happens twice) the first of the two is used.
    Both are what `fold=0` means under PEP 495, which zoneinfo implements; a `fold` on `at` is ignored.
    """
    if at.tzinfo is not None:
        raise ValueError("local_to_utc needs a naive wall-clock time")
    return _instant(day, at, ZoneInfo(timezone))


def occurrences(recurrence: Recurrence, after: datetime, until: datetime) -> list[datetime]:
    """Every occurrence t (aware, UTC) with after < t <= until, in order; half-open so windows chain."""
    return list(_instants(_checked(recurrence, after, until), after, until))


def next_occurrence(recurrence: Recurrence, after: datetime) -> datetime | None:
    """The first occurrence strictly after `after`, or None when there is none within the horizon."""
    until = after + NEXT_OCCURRENCE_HORIZON
    return next(_instants(_checked(recurrence, after, until), after, until), None)


def next_occurrences(recurrence: Recurrence, after: datetime, count: int) -> list[datetime]:
    """The next `count` occurrences strictly after `after`, fewer when the schedule ends first."""
    found: list[datetime] = []
    while len(found) < count and (following := next_occurrence(recurrence, after)) is not None:
        found.append(following)
        after = following
    return found


def occurrences_from_start(recurrence: Recurrence, until: datetime) -> list[datetime]:
    """Every occurrence from the very first up to `until` (inclusive), in order."""
    return occurrences(recurrence, instant_before(recurrence.start, instant_zone(recurrence).key), until)


def first_occurrence(recurrence: Recurrence) -> datetime | None:
    """The schedule's very first occurrence, or None when it has none within the horizon."""
    return next_occurrence(recurrence, instant_before(recurrence.start, instant_zone(recurrence).key))


def instant_before(day: date, timezone: str) -> datetime:
    """An instant before anything scheduled on `day` or later can happen, with a day's slack for odd zones."""
    return local_to_utc(day, time(0), timezone) - timedelta(days=1)


def skipping(recurrence: Recurrence, days: Collection[date]) -> Recurrence:
    """The same schedule with `days` skipped as well (say, dates an admin called off one by one)."""
    return replace(recurrence, skip_dates=recurrence.skip_dates | frozenset(days))


def without_skips(recurrence: Recurrence) -> Recurrence:
    """The bare rule: the same schedule with no dates skipped."""
    return replace(recurrence, skip_dates=frozenset())


def occurrence_date(recurrence: Recurrence, instant: datetime) -> date:
    """The local date an occurrence falls on in the schedule's zone (what people see, and a stable key)."""
    _require_aware(instant, "instant")
    return instant.astimezone(instant_zone(recurrence)).date()


def instant_zone(r: Recurrence) -> ZoneInfo:
    """The zone its occurrences' instants are read in: the schedule's own, or the earliest one on Earth."""
    return ZoneInfo(EARLIEST_ZONE if r.each_persons_time else r.timezone)


def _field_errors(r: Recurrence) -> list[str]:
    errors = []
    if r.kind not in KINDS:
        errors.append("unknown_kind")
    if not isinstance(r.local_time, time) or r.local_time.tzinfo is not None:
        errors.append("bad_local_time")
    if not _is_zone(r.timezone):
        errors.append("unknown_timezone")
    if not _is_day(r.start):
        errors.append("bad_start")
    if r.end is not None and not _is_day(r.end):
        errors.append("bad_end")
    elif r.end is not None and _is_day(r.start) and r.end < r.start:
        errors.append("end_before_start")
    if not _is_collection(r.skip_dates) or not all(_is_day(d) for d in r.skip_dates):
        errors.append("bad_skip_dates")
    if r.kind == WEEKLY:
        if not r.weekdays:
            errors.append("no_weekdays")
        elif not _is_collection(r.weekdays) or not all(_is_int(d) and 0 <= d <= 6 for d in r.weekdays):
            errors.append("bad_weekday")
        if not (_is_int(r.interval_weeks) and 1 <= r.interval_weeks <= 12):
            errors.append("bad_interval")
    elif r.kind == MONTHLY:
        if r.nth is None:
            errors.append("missing_nth")
        elif not (_is_int(r.nth) and r.nth in _MONTHLY_NTHS):
            errors.append("bad_nth")
        if r.weekday is None:
            errors.append("missing_weekday")
        elif not (_is_int(r.weekday) and 0 <= r.weekday <= 6):
            errors.append("bad_weekday")
    return errors


def _is_zone(name: object) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return False
    return True


def _is_day(value: object) -> bool:
    # A datetime is a date subclass but never compares equal to one, so it would silently never match.
    return isinstance(value, date) and not isinstance(value, datetime)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_collection(value: object) -> bool:
    return isinstance(value, set | frozenset | list | tuple)


def _checked(r: Recurrence, after: datetime, until: datetime) -> Recurrence:
    """Fail loudly before searching: a naive bound or a broken recurrence would give silently wrong dates."""
    _require_aware(after, "after")
    _require_aware(until, "until")
    errors = _field_errors(r)
    if errors:
        raise ValueError(f"invalid recurrence: {', '.join(errors)}")
    return r


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def _instants(r: Recurrence, after: datetime, until: datetime) -> Iterator[datetime]:
    zone = instant_zone(r)
    first = _shift(_local_date(after, zone), -timedelta(days=_SLACK_DAYS))
    last = _shift(_local_date(until, zone), timedelta(days=_SLACK_DAYS))
    previous = after
    for day in _days(r, first, last):
        instant = _instant(day, r.local_time, zone)
        # Instants never decrease from one local date to the next (no zone has jumped more than a day), but
        # two dates can share one when a zone skipped a whole day (Pacific/Apia, 2011-12-30).
        if instant > until:
            return
        if instant > previous:
            previous = instant
            yield instant


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at.replace(fold=0), tzinfo=zone).astimezone(UTC)


def _local_date(moment: datetime, zone: ZoneInfo) -> date:
    try:
        return moment.astimezone(zone).date()
    except OverflowError:  # within a day of datetime.min/max; the slack days cover the difference
        return moment.date()


def _shift(day: date, delta: timedelta) -> date:
    try:
        return day + delta
    except OverflowError:
        return date.max if delta > timedelta(0) else date.min


def _days(r: Recurrence, first: date, last: date) -> Iterator[date]:
    """The local dates in [first, last] that carry an occurrence, in order."""
    first = max(first, r.start)
    last = min(last, _LAST_DAY, r.end or _LAST_DAY)
    weekend = weekend_days(r.timezone) if r.skip_weekends else frozenset()
    for day in _scheduled_days(r, first, last):
        if day not in r.skip_dates and day.weekday() not in weekend:
            yield day


def _scheduled_days(r: Recurrence, first: date, last: date) -> Iterator[date]:
    if first > last:
        return
    if r.kind == ONCE:
        if first <= r.start <= last:
            yield r.start
    elif r.kind == WEEKLY:
        yield from _weekly_days(r, first, last)
    else:
        yield from _monthly_days(r, first, last)


def _weekly_days(r: Recurrence, first: date, last: date) -> Iterator[date]:
    # Jump straight to the cycle containing `first`, so a window years after `start` costs nothing extra.
    cycle = timedelta(weeks=r.interval_weeks)
    week_zero = r.start - timedelta(days=r.start.weekday())
    monday = week_zero + cycle * ((first - week_zero) // cycle)
    offsets = [timedelta(days=d) for d in sorted(r.weekdays)]
    while monday <= last:
        for offset in offsets:
            if first <= monday + offset <= last:
                yield monday + offset
        monday += cycle


def _monthly_days(r: Recurrence, first: date, last: date) -> Iterator[date]:
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        day = _nth_weekday(year, month, r.nth, r.weekday)
        if first <= day <= last:
            yield day
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _nth_weekday(year: int, month: int, nth: int, weekday: int) -> date:
    """The nth `weekday` of the month, or the last one for nth=-1 (nth is at most 4, so it always exists)."""
    if nth == -1:
        last = date(year, month, calendar.monthrange(year, month)[1])
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))

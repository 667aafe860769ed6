"""The recurrence fields of the pulse and meeting modals: read, checked and prefilled in one place.

Both modals ask the same things (how often, which days, the time, the zone, the first date, dates to
skip); they differ only in which frequencies they offer, whether they have a last date, and what they
call two of the fields. `RecurrenceFields` says that for one modal, so its errors and its prefill come
back under the modal's own block ids.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain import schedule

FREQUENCY_WEEKLY, FREQUENCY_EVERY_N_WEEKS, FREQUENCY_MONTHLY, FREQUENCY_ONCE = (
    "weekly",
    "every_n_weeks",
    "monthly",
    "once",
)
FREQUENCIES = (FREQUENCY_WEEKLY, FREQUENCY_EVERY_N_WEEKS, FREQUENCY_MONTHLY, FREQUENCY_ONCE)
MAX_SKIP_DATES = 60
_NTHS = {"1": 1, "2": 2, "3": 3, "4": 4, "-1": -1}
_WEEKDAYS = {"0", "1", "2", "3", "4", "5", "6"}

#: Every error code `RecurrenceFields.parse` can return, so the templates can be checked for completeness.
ERROR_CODES = (
    "bad_choice",
    "no_weekdays",
    "bad_interval",
    "bad_nth",
    "bad_weekday",
    "never_occurs",
    "bad_date",
    "date_in_past",
    "bad_time",
    "time_in_past",
    "unknown_timezone",
    "end_before_start",
    "no_future_occurrence",
    "bad_skip_date",
    "too_many_skip_dates",
)


@dataclass(frozen=True)
class RecurrenceForm:
    """The recurrence fields as typed in a modal, before any checking."""

    frequency: str = FREQUENCY_WEEKLY
    weekdays: tuple[str, ...] = ()
    interval_weeks: str = "1"
    nth: str = ""
    weekday: str = ""
    time: str = ""
    timezone: str = ""
    start_date: str = ""
    """YYYY-MM-DD: the one-off date, or the first date that may have an occurrence (week 0 for every N
    weeks); empty means today."""
    end_date: str = ""
    skip_dates: str = ""
    skip_weekends: bool = False


@dataclass(frozen=True)
class RecurrenceFields:
    """How one modal asks for a recurrence: the frequencies it offers and its names for the fields."""

    frequencies: tuple[str, ...] = FREQUENCIES
    names: Mapping[str, str | None] = field(default_factory=dict)
    """`RecurrenceForm` field -> the modal's block id for it, or None when the modal has no such field;
    a field not listed keeps its name."""

    def parse(
        self, form: object, now: datetime, *, existing_start: date | None = None
    ) -> schedule.Recurrence | dict[str, str]:
        """The recurrence from a modal's form (any object with the modal's field names), or error codes
        keyed by the modal's block ids (translated by the template).

        Dates are judged in the recurrence's own zone. A new schedule may not start in the past; an edited
        one may keep the first date it already had (`existing_start`), which by then usually has passed.
        """
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be a timezone-aware datetime")
        typed = RecurrenceForm(
            **{name: getattr(form, own) for name, own in self._own_names() if own is not None}
        )
        recurrence = _parse(typed, now, existing_start, self.frequencies)
        return recurrence if isinstance(recurrence, schedule.Recurrence) else self._own_errors(recurrence)

    def occurrence_errors(self, recurrence: schedule.Recurrence, now: datetime) -> dict[str, str]:
        """Why a parsed recurrence is of no use: it never occurs, or nothing of it is left after `now`.

        Asked once the rest of the modal is valid too, so the rule as a whole is judged last.
        """
        if schedule.validate(recurrence):
            kind = recurrence.kind
            return self._own_errors({"weekday" if kind == schedule.MONTHLY else "weekdays": "never_occurs"})
        if schedule.next_occurrence(recurrence, now) is None:
            bound = "start_date" if recurrence.end is None else "end_date"
            return self._own_errors({bound: "no_future_occurrence"})
        return {}

    def prefill(self, recurrence: schedule.Recurrence) -> dict[str, object]:
        """The modal's initial values for a stored recurrence, keyed by the modal's field names."""
        values = asdict(_form_of(recurrence))
        return {own: values[name] for name, own in self._own_names() if own is not None}

    def _own_errors(self, errors: dict[str, str]) -> dict[str, str]:
        return {self._own_name(name): code for name, code in errors.items()}

    def _own_names(self) -> list[tuple[str, str | None]]:
        return [(f.name, self._own_name(f.name)) for f in fields(RecurrenceForm)]

    def _own_name(self, name: str) -> str | None:
        return self.names.get(name, name)


def suggested(timezone: str, now: datetime) -> schedule.Recurrence:
    """What a new modal offers before anyone chooses: Tuesdays at 10:00 in `timezone`, from today there."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    return schedule.Recurrence(schedule.WEEKLY, time(10), timezone, today, weekdays=frozenset({1}))


def whole_number(value: str, low: int, high: int) -> int | None:
    """A typed whole number within [low, high], or None (Persian digits and signs are refused)."""
    value = value.strip()
    if not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if low <= number <= high else None


def wall_clock_time(value: str) -> time | None:
    """ "HH:MM" typed in a form, as a naive wall-clock time, or None."""
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
    return time(int(match.group(1)), int(match.group(2))) if match else None


def parse_dates(text: str) -> frozenset[date] | None:
    """Dates to skip, as YYYY-MM-DD separated by commas, spaces or new lines; None if one is not a date."""
    found: set[date] = set()
    for token in re.split(r"[\s,;]+", text.strip()):
        if not token:
            continue
        try:
            found.add(date.fromisoformat(token))
        except ValueError:
            return None
    return frozenset(found)


def _parse(
    form: RecurrenceForm, now: datetime, existing_start: date | None, frequencies: tuple[str, ...]
) -> schedule.Recurrence | dict[str, str]:
    errors: dict[str, str] = {}
    kind, weekdays, interval, nth, weekday = _rule_fields(form, frequencies, errors)
    at = wall_clock_time(form.time)
    if at is None:
        errors["time"] = "bad_time"
    timezone = form.timezone.strip()
    zone = _zone(timezone)
    if zone is None:
        errors["timezone"] = "unknown_timezone"
    today = now.astimezone(zone).date() if zone else now.date()
    start = _date(form.start_date, today, "start_date", errors)
    end = _date(form.end_date, None, "end_date", errors) if kind != schedule.ONCE else None
    if end is not None and start is not None and end < start:
        errors["end_date"] = "end_before_start"
    skip_dates = frozenset()
    if kind != schedule.ONCE:
        parsed = parse_dates(form.skip_dates)
        if parsed is None:
            errors["skip_dates"] = "bad_skip_date"
        elif len(parsed) > MAX_SKIP_DATES:
            errors["skip_dates"] = "too_many_skip_dates"
        skip_dates = parsed or frozenset()
    if start is not None and start != existing_start:
        if start < today:
            errors["start_date"] = "date_in_past"
        elif (
            kind == schedule.ONCE
            and at is not None
            and zone is not None
            and schedule.local_to_utc(start, at, timezone) <= now
        ):
            errors["time"] = "time_in_past"
    if errors:
        return errors
    return schedule.Recurrence(
        kind=kind,
        local_time=at,
        timezone=timezone,
        start=start,
        weekdays=weekdays,
        interval_weeks=interval,
        nth=nth,
        weekday=weekday,
        skip_dates=skip_dates,
        skip_weekends=form.skip_weekends and kind != schedule.ONCE,
        end=end,
    )


def _rule_fields(
    form: RecurrenceForm, frequencies: tuple[str, ...], errors: dict[str, str]
) -> tuple[str | None, frozenset[int], int, int | None, int | None]:
    """Kind, weekdays, interval, nth and weekday; fields that do not belong to the kind are ignored."""
    if form.frequency not in frequencies:
        errors["frequency"] = "bad_choice"
        return None, frozenset(), 1, None, None
    if form.frequency in (FREQUENCY_WEEKLY, FREQUENCY_EVERY_N_WEEKS):
        weekdays = frozenset(int(d) for d in form.weekdays if d in _WEEKDAYS)
        if not weekdays:
            errors["weekdays"] = "no_weekdays"
        interval = 1
        if form.frequency == FREQUENCY_EVERY_N_WEEKS:
            interval = whole_number(form.interval_weeks, 1, 12)
            if interval is None:
                errors["interval_weeks"] = "bad_interval"
        return schedule.WEEKLY, weekdays, interval or 1, None, None
    if form.frequency == FREQUENCY_MONTHLY:
        nth = _NTHS.get(form.nth.strip())
        if nth is None:
            errors["nth"] = "bad_nth"
        weekday = whole_number(form.weekday, 0, 6)
        if weekday is None:
            errors["weekday"] = "bad_weekday"
        return schedule.MONTHLY, frozenset(), 1, nth, weekday
    return schedule.ONCE, frozenset(), 1, None, None


def _form_of(recurrence: schedule.Recurrence) -> RecurrenceForm:
    if recurrence.kind == schedule.ONCE:
        frequency = FREQUENCY_ONCE
    elif recurrence.kind == schedule.MONTHLY:
        frequency = FREQUENCY_MONTHLY
    elif recurrence.interval_weeks > 1:
        frequency = FREQUENCY_EVERY_N_WEEKS
    else:
        frequency = FREQUENCY_WEEKLY
    return RecurrenceForm(
        frequency=frequency,
        weekdays=tuple(str(d) for d in sorted(recurrence.weekdays)),
        interval_weeks=str(recurrence.interval_weeks),
        nth=str(recurrence.nth) if recurrence.nth is not None else "",
        weekday=str(recurrence.weekday) if recurrence.weekday is not None else "",
        time=recurrence.local_time.strftime("%H:%M"),
        timezone=recurrence.timezone,
        start_date=recurrence.start.isoformat(),
        end_date=recurrence.end.isoformat() if recurrence.end else "",
        skip_dates="\n".join(d.isoformat() for d in sorted(recurrence.skip_dates)),
        skip_weekends=recurrence.skip_weekends,
    )


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _date(text: str, default: date | None, name: str, errors: dict[str, str]) -> date | None:
    if not text.strip():
        return default
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        errors[name] = "bad_date"
        return None

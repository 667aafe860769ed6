"""A pulse cadence: the admin's choices in the `/align pulse add` modal, checked and turned into values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain import schedule

DELIVERY_DM, DELIVERY_CHANNEL = "dm", "channel"
FREQUENCY_WEEKLY, FREQUENCY_EVERY_N_WEEKS, FREQUENCY_MONTHLY = "weekly", "every_n_weeks", "monthly"
AUDIENCE_SETUP, AUDIENCE_CHANNELS = "setup", "channels"

DEFAULT_ITEMS_PER_ROUND = 3
DEFAULT_WINDOW_HOURS = 48
DEFAULT_REMINDERS = 1
DEFAULT_SPACING_HOURS = 24
MAX_NAME_LENGTH = 40
MAX_WINDOW_HOURS = 14 * 24
MAX_SKIP_DATES = 60


@dataclass(frozen=True)
class CadenceSettings:
    """Everything that defines a cadence, valid by construction (see `validate`)."""

    name: str
    recurrence: schedule.Recurrence
    audience_channels: tuple[str, ...] = ()
    items_per_round: int = DEFAULT_ITEMS_PER_ROUND
    answer_window_hours: int = DEFAULT_WINDOW_HOURS
    reminders: int = DEFAULT_REMINDERS
    reminder_spacing_hours: int = DEFAULT_SPACING_HOURS
    delivery: str = DELIVERY_DM
    include_guests: bool = False

    @property
    def answer_window(self) -> timedelta:
        return timedelta(hours=self.answer_window_hours)

    def reminder_times(self, scheduled_at: datetime) -> list[datetime]:
        """When reminder 1, 2, … of a round go out; all fall inside the answer window."""
        spacing = timedelta(hours=self.reminder_spacing_hours)
        return [scheduled_at + spacing * number for number in range(1, self.reminders + 1)]


@dataclass(frozen=True)
class CadenceForm:
    """The raw modal values, as strings and id lists, before any checking."""

    name: str = ""
    audience: str = AUDIENCE_SETUP
    channels: tuple[str, ...] = ()
    frequency: str = FREQUENCY_WEEKLY
    weekdays: tuple[str, ...] = ()
    interval_weeks: str = "1"
    nth: str = ""
    weekday: str = ""
    send_time: str = ""
    timezone: str = ""
    start_date: str = ""
    items_per_round: str = str(DEFAULT_ITEMS_PER_ROUND)
    answer_window_hours: str = str(DEFAULT_WINDOW_HOURS)
    reminders: str = str(DEFAULT_REMINDERS)
    reminder_spacing_hours: str = str(DEFAULT_SPACING_HOURS)
    skip_dates: str = ""
    skip_weekends: bool = False
    delivery: str = DELIVERY_DM
    include_guests: bool = False


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


def validate(form: CadenceForm, today: date) -> tuple[CadenceSettings | None, dict[str, str]]:
    """The settings, or field errors keyed by field name (error codes, translated by the template).

    `today` is the workspace-local date: a new cadence may not start in the past.
    """
    errors: dict[str, str] = {}
    name = " ".join(form.name.split())
    if not name:
        errors["name"] = "name_required"
    elif len(name) > MAX_NAME_LENGTH:
        errors["name"] = "name_too_long"
    channels = tuple(dict.fromkeys(form.channels))
    if form.audience == AUDIENCE_CHANNELS and not channels:
        errors["channels"] = "channels_required"
    if form.audience not in (AUDIENCE_SETUP, AUDIENCE_CHANNELS):
        errors["audience"] = "bad_choice"

    weekdays = frozenset(int(d) for d in form.weekdays if d in {"0", "1", "2", "3", "4", "5", "6"})
    interval = 1
    nth = weekday = None
    if form.frequency in (FREQUENCY_WEEKLY, FREQUENCY_EVERY_N_WEEKS):
        kind = schedule.WEEKLY
        if not weekdays:
            errors["weekdays"] = "no_weekdays"
        if form.frequency == FREQUENCY_EVERY_N_WEEKS:
            parsed_interval = whole_number(form.interval_weeks, 1, 12)
            if parsed_interval is None:
                errors["interval_weeks"] = "bad_interval"
            interval = parsed_interval or 1
    elif form.frequency == FREQUENCY_MONTHLY:
        kind = schedule.MONTHLY
        nth = {"1": 1, "2": 2, "3": 3, "4": 4, "-1": -1}.get(form.nth.strip())
        if nth is None:
            errors["nth"] = "bad_nth"
        weekday = whole_number(form.weekday, 0, 6)
        if weekday is None:
            errors["weekday"] = "bad_weekday"
    else:
        kind = schedule.WEEKLY
        errors["frequency"] = "bad_choice"

    at = wall_clock_time(form.send_time)
    if at is None:
        errors["send_time"] = "bad_time"
    timezone = form.timezone.strip()
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = "invalid_timezone"
    try:
        start = date.fromisoformat(form.start_date.strip()) if form.start_date.strip() else today
    except ValueError:
        start = today
        errors["start_date"] = "bad_date"
    if start < today:
        errors["start_date"] = "date_in_past"

    items = whole_number(form.items_per_round, 1, 5)
    if items is None:
        errors["items_per_round"] = "items_out_of_range"
    window = whole_number(form.answer_window_hours, 1, MAX_WINDOW_HOURS)
    if window is None:
        errors["answer_window_hours"] = "window_out_of_range"
    reminders = whole_number(form.reminders, 0, 2)
    if reminders is None:
        errors["reminders"] = "reminders_out_of_range"
    spacing = whole_number(form.reminder_spacing_hours, 1, MAX_WINDOW_HOURS)
    if spacing is None:
        errors["reminder_spacing_hours"] = "spacing_out_of_range"
    elif window is not None and reminders and spacing * reminders >= window:
        errors["reminder_spacing_hours"] = "reminders_outside_window"

    skip_dates = parse_dates(form.skip_dates)
    if skip_dates is None:
        errors["skip_dates"] = "bad_skip_date"
    elif len(skip_dates) > MAX_SKIP_DATES:
        errors["skip_dates"] = "too_many_skip_dates"
    if form.delivery not in (DELIVERY_DM, DELIVERY_CHANNEL):
        errors["delivery"] = "bad_choice"

    if errors:
        return None, errors
    recurrence = schedule.Recurrence(
        kind=kind,
        local_time=at,
        timezone=timezone,
        start=start,
        weekdays=weekdays,
        interval_weeks=interval,
        nth=nth,
        weekday=weekday,
        skip_dates=skip_dates or frozenset(),
        skip_weekends=form.skip_weekends,
    )
    if schedule.validate(recurrence):
        return None, {"weekdays" if kind == schedule.WEEKLY else "weekday": "never_occurs"}
    return (
        CadenceSettings(
            name=name,
            recurrence=recurrence,
            audience_channels=channels if form.audience == AUDIENCE_CHANNELS else (),
            items_per_round=items,
            answer_window_hours=window,
            reminders=reminders,
            reminder_spacing_hours=spacing,
            delivery=form.delivery,
            include_guests=form.include_guests,
        ),
        {},
    )


def form_from_settings(settings: CadenceSettings) -> CadenceForm:
    """The modal's initial values when editing an existing cadence."""
    recurrence = settings.recurrence
    if recurrence.kind == schedule.MONTHLY:
        frequency = FREQUENCY_MONTHLY
    elif recurrence.interval_weeks > 1:
        frequency = FREQUENCY_EVERY_N_WEEKS
    else:
        frequency = FREQUENCY_WEEKLY
    return CadenceForm(
        name=settings.name,
        audience=AUDIENCE_CHANNELS if settings.audience_channels else AUDIENCE_SETUP,
        channels=settings.audience_channels,
        frequency=frequency,
        weekdays=tuple(str(d) for d in sorted(recurrence.weekdays)),
        interval_weeks=str(recurrence.interval_weeks),
        nth=str(recurrence.nth) if recurrence.nth is not None else "",
        weekday=str(recurrence.weekday) if recurrence.weekday is not None else "",
        send_time=recurrence.local_time.strftime("%H:%M"),
        timezone=recurrence.timezone,
        start_date=recurrence.start.isoformat(),
        items_per_round=str(settings.items_per_round),
        answer_window_hours=str(settings.answer_window_hours),
        reminders=str(settings.reminders),
        reminder_spacing_hours=str(settings.reminder_spacing_hours),
        skip_dates="\n".join(d.isoformat() for d in sorted(recurrence.skip_dates)),
        skip_weekends=recurrence.skip_weekends,
        delivery=settings.delivery,
        include_guests=settings.include_guests,
    )

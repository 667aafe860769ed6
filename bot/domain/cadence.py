"""A pulse cadence: the admin's choices in the `/align pulse add` modal, checked and turned into values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from bot.domain import holiday_calendars, schedule
from bot.domain.recurrence_form import (
    FREQUENCY_EVERY_N_WEEKS,
    FREQUENCY_MONTHLY,
    FREQUENCY_ONCE,
    FREQUENCY_WEEKLY,
    RecurrenceFields,
    whole_number,
)
from bot.domain.vocabulary import MARKETING, SALES

DELIVERY_DM, DELIVERY_CHANNEL = "dm", "channel"
AUDIENCE_SETUP, AUDIENCE_CHANNELS = "setup", "channels"
TIMING_WORKSPACE, TIMING_PERSON = "workspace", "person"
KIND_PULSE, KIND_BASELINE = "pulse", "baseline"
"""A recurring pulse of a few rotating statements, or a baseline: every scored statement, once."""
KINDS = (KIND_PULSE, KIND_BASELINE)

DEFAULT_ITEMS_PER_ROUND = 3
DEFAULT_WINDOW_HOURS = 48
DEFAULT_REMINDERS = 1
DEFAULT_SPACING_HOURS = 24
MAX_NAME_LENGTH = 40
MAX_WINDOW_HOURS = 14 * 24

PULSE_RECURRENCE = RecurrenceFields(
    frequencies=(FREQUENCY_WEEKLY, FREQUENCY_EVERY_N_WEEKS, FREQUENCY_MONTHLY),
    names={"time": "send_time", "end_date": None},
)
"""The pulse modal repeats weekly or monthly, sends at `send_time` and has no last date."""
BASELINE_RECURRENCE = RecurrenceFields(
    frequencies=(FREQUENCY_ONCE,), names={"time": "send_time", "end_date": None}
)
"""A baseline is sent once, on the start date at `send_time`, whatever frequency the modal shows."""


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
    quiet_hours: bool = False
    """No DM in a person's night or weekend; a copy or reminder due then moves to their next morning."""
    holiday_calendars: tuple[str, ...] = ()
    """Whose public holidays skip a round (for people with no calendar of their own or their team's)."""
    team_calendars: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """A team's own calendars (`sales`: `IR`), instead of `holiday_calendars` for the people of that
    team; a team left out keeps the pulse's."""
    kind: str = KIND_PULSE

    @property
    def answer_window(self) -> timedelta:
        return timedelta(hours=self.answer_window_hours)

    def reminder_times(self, scheduled_at: datetime) -> list[datetime]:
        """When reminder 1, 2, … of a round go out; all fall inside the answer window."""
        spacing = timedelta(hours=self.reminder_spacing_hours)
        return [scheduled_at + spacing * number for number in range(1, self.reminders + 1)]

    def calendars_for(self, own_calendar: str | None, department: str | None) -> tuple[str, ...]:
        """Whose holidays skip a round for a person, and whose weekend is theirs: the calendar they chose
        themselves, otherwise their team's, otherwise the pulse's."""
        if own_calendar:
            return (own_calendar,)
        return self.team_calendars.get(department or "") or self.holiday_calendars


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
    timing: str = TIMING_WORKSPACE
    quiet_hours: bool = False
    holiday_calendars: str = ""
    sales_calendars: str = ""
    marketing_calendars: str = ""
    kind: str = KIND_PULSE


def rounds_per_window(recurrence: schedule.Recurrence, window_weeks: int) -> int:
    """How many rounds a cadence sends in any window of `window_weeks` weeks, at the least."""
    if recurrence.kind == schedule.WEEKLY:
        return len(recurrence.weekdays) * (window_weeks // recurrence.interval_weeks)
    if recurrence.kind == schedule.MONTHLY:
        return window_weeks * 7 // 31
    return 1


def validate(
    form: CadenceForm, now: datetime, *, existing_start: date | None = None
) -> tuple[CadenceSettings | None, dict[str, str]]:
    """The settings, or field errors keyed by field name (error codes, translated by the template).

    A new cadence may not start in the past; an edited one may keep the start date it already had.
    """
    baseline = form.kind == KIND_BASELINE
    fields = BASELINE_RECURRENCE if baseline else PULSE_RECURRENCE
    if baseline:
        form = replace(form, frequency=FREQUENCY_ONCE)
    recurrence = fields.parse(form, now, existing_start=existing_start)
    errors = {} if isinstance(recurrence, schedule.Recurrence) else dict(recurrence)
    if form.kind not in KINDS:
        errors["kind"] = "bad_choice"
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
    if form.delivery not in (DELIVERY_DM, DELIVERY_CHANNEL):
        errors["delivery"] = "bad_choice"
    if form.timing not in (TIMING_WORKSPACE, TIMING_PERSON):
        errors["timing"] = "bad_choice"
    calendars = holiday_calendars.parse_calendars(form.holiday_calendars)
    if calendars is None:
        errors["holiday_calendars"] = "unknown_calendar"
    team_calendars = {}
    for department, typed in ((SALES, form.sales_calendars), (MARKETING, form.marketing_calendars)):
        chosen = holiday_calendars.parse_calendars(typed)
        if chosen is None:
            errors[f"{department}_calendars"] = "unknown_calendar"
        elif chosen:
            team_calendars[department] = chosen

    if errors:
        return None, errors
    recurrence = replace(recurrence, each_persons_time=form.timing == TIMING_PERSON)
    if errors := fields.occurrence_errors(recurrence, now):
        return None, errors
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
            quiet_hours=form.quiet_hours,
            holiday_calendars=calendars,
            team_calendars=team_calendars,
            kind=form.kind,
        ),
        {},
    )


def form_from_settings(settings: CadenceSettings) -> CadenceForm:
    """The modal's initial values when editing an existing cadence."""
    baseline_frequency = {"frequency": FREQUENCY_WEEKLY} if settings.kind == KIND_BASELINE else {}
    return CadenceForm(
        name=settings.name,
        audience=AUDIENCE_CHANNELS if settings.audience_channels else AUDIENCE_SETUP,
        channels=settings.audience_channels,
        items_per_round=str(settings.items_per_round),
        answer_window_hours=str(settings.answer_window_hours),
        reminders=str(settings.reminders),
        reminder_spacing_hours=str(settings.reminder_spacing_hours),
        delivery=settings.delivery,
        include_guests=settings.include_guests,
        timing=TIMING_PERSON if settings.recurrence.each_persons_time else TIMING_WORKSPACE,
        quiet_hours=settings.quiet_hours,
        holiday_calendars=", ".join(settings.holiday_calendars),
        sales_calendars=", ".join(settings.team_calendars.get(SALES, ())),
        marketing_calendars=", ".join(settings.team_calendars.get(MARKETING, ())),
        kind=settings.kind,
        # a baseline's "once" is not among the modal's frequencies, which it ignores anyway
        **{**PULSE_RECURRENCE.prefill(settings.recurrence), **baseline_frequency},
    )

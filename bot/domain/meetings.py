"""Joint sales–marketing meetings as values: the modal's form, reminders, the agenda, adherence.

docs/MODEL.md §4 (factor 2): joint meetings held regularly, on a schedule; §5: they should centre on the
joint activities, where synergy happens; §3: frequency alone did not predict performance (Kahn), so the
bot asks whether each meeting was useful and nudges on usefulness, not on attendance. Nothing here
knows Slack, the database or the templates: the schedule is a `bot.domain.schedule.Recurrence`, times are
aware datetimes, and everything shown to people is ids and numbers for a template to word.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from urllib.parse import urlsplit

from bot.domain import recurrence_form, schedule
from bot.domain.nudges import Nudge
from bot.domain.recurrence_form import FREQUENCY_WEEKLY, RecurrenceFields, whole_number
from bot.domain.scoring import DimensionMean, Results
from bot.domain.vocabulary import EVERYONE, MARKETING, SALES

MAX_TITLE_LENGTH = 150
MAX_LINK_LENGTH = 500
MIN_DURATION_MINUTES, MAX_DURATION_MINUTES = 5, 480
DEFAULT_DURATION_MINUTES = 60
DEFAULT_REMINDER_OFFSETS = (1440, 15)
"""Minutes before the start: the day before (time to add agenda items) and just before (join now)."""
MAX_REMINDER_OFFSETS = 4
MAX_REMINDER_OFFSET = 7 * 24 * 60

MEETING_RECURRENCE = RecurrenceFields(names={"time": "start_time", "start_date": "first_date"})
"""The meeting modal offers every frequency, one-off included, and has a last date."""

#: Every error code `validate_meeting` can return, so the templates can be checked for completeness.
ERROR_CODES = (
    *recurrence_form.ERROR_CODES,
    "title_required",
    "title_too_long",
    "duration_out_of_range",
    "channels_required",
    "bad_offset",
    "negative_offset",
    "zero_offset",
    "duplicate_offset",
    "too_many_offsets",
    "offset_too_long",
    "offset_exceeds_gap",
    "bad_link",
    "link_too_long",
)

#: §5: the three joint activities, one per meeting in turn; the templates hold their wording.
JOINT_ACTIVITIES = ("forecasts_targets", "customer_value", "promotions")
AGENDA_WEAKEST = 2
AGENDA_GAPS = 2
AGENDA_NUDGES = 3

USEFUL_MEAN = 3.5
"""Mean "was this meeting useful?" rating (1–5) from which a meeting counts as useful; see `is_useful`."""


@dataclass(frozen=True)
class MeetingSettings:
    """Everything that defines a joint meeting series, valid by construction (see `validate_meeting`)."""

    title: str
    recurrence: schedule.Recurrence
    """Its `local_time` is the start time; ONCE for a one-off meeting."""
    duration_minutes: int
    channels: tuple[str, ...]
    reminder_offsets: tuple[int, ...] = DEFAULT_REMINDER_OFFSETS
    """Minutes before the start, each > 0, largest first."""
    link: str | None = None
    owner: str | None = None
    """Slack user id of whoever runs the meeting, if named."""

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)


@dataclass(frozen=True)
class MeetingForm:
    """The raw modal values, as strings and id lists, before any checking."""

    title: str = ""
    frequency: str = FREQUENCY_WEEKLY
    weekdays: tuple[str, ...] = ()
    interval_weeks: str = "1"
    nth: str = ""
    weekday: str = ""
    first_date: str = ""
    """YYYY-MM-DD: the one-off date, or the first date a series may meet (week 0 for every N weeks)."""
    start_time: str = ""
    duration_minutes: str = str(DEFAULT_DURATION_MINUTES)
    timezone: str = ""
    channels: tuple[str, ...] = ()
    reminder_offsets: tuple[str, ...] = tuple(str(m) for m in DEFAULT_REMINDER_OFFSETS)
    link: str = ""
    owner: str = ""
    end_date: str = ""
    skip_dates: str = ""
    skip_weekends: bool = False


def validate_meeting(
    form: MeetingForm, now: datetime, *, existing_first_date: date | None = None
) -> MeetingSettings | dict[str, str]:
    """The settings, or error codes keyed by form field (translated by the template).

    Dates are judged in the meeting's own zone. A new meeting may not start in the past; an edited one
    may keep the first date it already had (`existing_first_date`), which by then usually has passed.
    """
    recurrence = MEETING_RECURRENCE.parse(form, now, existing_start=existing_first_date)
    errors = {} if isinstance(recurrence, schedule.Recurrence) else dict(recurrence)
    title = " ".join(form.title.split())
    if not title:
        errors["title"] = "title_required"
    elif len(title) > MAX_TITLE_LENGTH:
        errors["title"] = "title_too_long"
    duration = whole_number(form.duration_minutes, MIN_DURATION_MINUTES, MAX_DURATION_MINUTES)
    if duration is None:
        errors["duration_minutes"] = "duration_out_of_range"
    channels = tuple(dict.fromkeys(c.strip() for c in form.channels if c.strip()))
    if not channels:
        errors["channels"] = "channels_required"
    offsets = _offsets(form.reminder_offsets, errors)
    link = form.link.strip() or None
    if link is not None and (error := _link_error(link)):
        errors["link"] = error

    if errors:
        return errors
    if errors := MEETING_RECURRENCE.occurrence_errors(recurrence, now):
        return errors
    gap = shortest_gap(recurrence)
    if gap is not None and any(timedelta(minutes=m) > gap for m in offsets):
        return {"reminder_offsets": "offset_exceeds_gap"}
    return MeetingSettings(
        title=title,
        recurrence=recurrence,
        duration_minutes=duration,
        channels=channels,
        reminder_offsets=offsets,
        link=link,
        owner=form.owner.strip() or None,
    )


def form_from_settings(settings: MeetingSettings) -> MeetingForm:
    """The modal's initial values when editing an existing meeting."""
    return MeetingForm(
        title=settings.title,
        duration_minutes=str(settings.duration_minutes),
        channels=settings.channels,
        reminder_offsets=tuple(str(m) for m in settings.reminder_offsets),
        link=settings.link or "",
        owner=settings.owner or "",
        **MEETING_RECURRENCE.prefill(settings.recurrence),
    )


def shortest_gap(recurrence: schedule.Recurrence) -> timedelta | None:
    """The shortest time between two consecutive meetings of the rule (None with fewer than two).

    Skip dates are left out, since they only lengthen gaps; daylight-saving changes are not, since a
    weekly meeting can be 7 days minus an hour after the previous one.
    """
    rule = schedule.without_skips(recurrence)
    horizon = schedule.instant_before(rule.start, rule.timezone) + schedule.NEVER_OCCURS_HORIZON
    instants = schedule.occurrences_from_start(rule, horizon)
    return min((b - a for a, b in pairwise(instants)), default=None)


def _offsets(raw: Sequence[str], errors: dict[str, str]) -> tuple[int, ...]:
    """Reminder offsets in minutes, largest first; blanks are dropped, so no reminders is allowed."""
    values = []
    for text in (t.strip() for t in raw):
        if not text:
            continue
        if not re.fullmatch(r"-?[0-9]+", text):
            errors["reminder_offsets"] = "bad_offset"
            return ()
        values.append(int(text))
    if any(m < 0 for m in values):
        errors["reminder_offsets"] = "negative_offset"
    elif 0 in values:
        errors["reminder_offsets"] = "zero_offset"
    elif len(set(values)) < len(values):
        errors["reminder_offsets"] = "duplicate_offset"
    elif len(values) > MAX_REMINDER_OFFSETS:
        errors["reminder_offsets"] = "too_many_offsets"
    elif any(m > MAX_REMINDER_OFFSET for m in values):
        errors["reminder_offsets"] = "offset_too_long"
    return tuple(sorted(values, reverse=True))


def _link_error(link: str) -> str | None:
    if len(link) > MAX_LINK_LENGTH:
        return "link_too_long"
    try:
        parts = urlsplit(link)
        host = parts.hostname
    except ValueError:
        return "bad_link"
    if parts.scheme.lower() not in ("http", "https") or not host or any(c.isspace() for c in link):
        return "bad_link"
    return None


@dataclass(frozen=True)
class Reminder:
    """One reminder of one meeting; (occurrence_date, offset_minutes) is its stable key in a series."""

    occurrence: datetime
    """The meeting's start, UTC."""
    occurrence_date: date
    """The meeting's local date in its zone."""
    offset_minutes: int
    due: datetime
    """occurrence − offset, UTC."""


def due_reminders(
    settings: MeetingSettings, after: datetime, until: datetime, skipped_dates: Collection[date] = ()
) -> list[Reminder]:
    """Every reminder due in (after, until], ordered by due time; half-open, so runs chain exactly once.

    `skipped_dates` are local dates the admins skipped (skip-next); they get no reminders.
    """
    recurrence = schedule.skipping(settings.recurrence, skipped_dates)
    found = []
    for offset in settings.reminder_offsets:
        lead = timedelta(minutes=offset)
        for occurrence in schedule.occurrences(recurrence, after + lead, until + lead):
            day = schedule.occurrence_date(recurrence, occurrence)
            found.append(Reminder(occurrence, day, offset, occurrence - lead))
    return sorted(found, key=lambda r: (r.due, r.occurrence))


def next_occurrences(
    settings: MeetingSettings, after: datetime, count: int, skipped_dates: Collection[date] = ()
) -> list[datetime]:
    """The next `count` meeting starts (UTC) strictly after `after`, skipped dates left out."""
    return schedule.next_occurrences(schedule.skipping(settings.recurrence, skipped_dates), after, count)


def check_due(settings: MeetingSettings, occurrence: datetime) -> datetime:
    """When the "was this meeting useful?" check goes out: when the meeting ends."""
    return occurrence + settings.duration


def due_checks(
    settings: MeetingSettings, after: datetime, until: datetime, skipped_dates: Collection[date] = ()
) -> list[datetime]:
    """The meeting starts (UTC) whose usefulness check is due in (after, until]; chains like reminders."""
    recurrence = schedule.skipping(settings.recurrence, skipped_dates)
    return schedule.occurrences(recurrence, after - settings.duration, until - settings.duration)


def occurrence_number(
    settings: MeetingSettings, occurrence: datetime, skipped_dates: Collection[date] = ()
) -> int:
    """The 1-based position of `occurrence` among the series' meetings that were not skipped.

    So the joint activity's rotation moves on with each meeting held, not with each date planned.
    """
    held = schedule.skipping(settings.recurrence, skipped_dates)
    instants = schedule.occurrences_from_start(held, occurrence)
    if not instants or instants[-1] != occurrence:
        raise ValueError(f"{occurrence.isoformat()} is not a meeting of this series")
    return len(instants)


@dataclass(frozen=True)
class DimensionGap:
    """How differently the two departments rate one dimension."""

    dimension: str
    sales: float
    marketing: float

    @property
    def gap(self) -> float:
        """Marketing minus sales, as in `Results.dimension_gaps`."""
        return self.marketing - self.sales


@dataclass(frozen=True)
class Agenda:
    """What a joint meeting should cover, as ids and numbers for the template to word."""

    weakest: tuple[DimensionMean, ...]
    """Everyone's lowest dimensions, lowest first."""
    gaps: tuple[DimensionGap, ...]
    """The widest perception gaps between sales and marketing, widest first."""
    nudges: tuple[Nudge, ...]
    joint_activity: str
    """One of `JOINT_ACTIVITIES`."""
    extra_items: tuple[str, ...]
    """Added by the admins, in their words."""


def build_agenda(
    results: Results | None, nudges: Sequence[Nudge], occurrence_number: int, extra_items: Sequence[str]
) -> Agenda:
    """The agenda for the `occurrence_number`-th meeting (1-based) of a series.

    `results` are the latest scored results (None before there are any); `nudges` the open ones, most
    urgent first. Withheld figures never appear: a dimension is shown only where its figures are.
    """
    if occurrence_number < 1:
        raise ValueError(f"occurrence_number starts at 1, not {occurrence_number}")
    weakest: list[DimensionMean] = []
    gaps: list[DimensionGap] = []
    if results is not None:
        weakest = sorted(
            (
                DimensionMean(dimension, figure.mean)
                for (group, dimension), figure in results.dimensions.items()
                if group == EVERYONE and not figure.withheld
            ),
            key=lambda d: (d.mean, d.dimension),
        )
        for dimension in results.dimension_gaps:
            sales = results.dimensions.get((SALES, dimension))
            marketing = results.dimensions.get((MARKETING, dimension))
            if sales and marketing and not sales.withheld and not marketing.withheld:
                gaps.append(DimensionGap(dimension, sales.mean, marketing.mean))
        gaps.sort(key=lambda g: (-abs(g.gap), g.dimension))
    weakest, gaps = weakest[:AGENDA_WEAKEST], gaps[:AGENDA_GAPS]
    # A nudge about a dimension already on the agenda would say the same thing twice.
    listed = {d.dimension for d in weakest} | {g.dimension for g in gaps}
    fresh = [n for n in nudges if "item" in n.evidence or n.evidence.get("dimension") not in listed]
    return Agenda(
        weakest=tuple(weakest),
        gaps=tuple(gaps),
        nudges=tuple(fresh[:AGENDA_NUDGES]),
        joint_activity=JOINT_ACTIVITIES[(occurrence_number - 1) % len(JOINT_ACTIVITIES)],
        extra_items=tuple(text for text in (" ".join(item.split()) for item in extra_items) if text),
    )


@dataclass(frozen=True)
class Adherence:
    """How many of the planned meetings were held."""

    planned: int
    held: int
    share: float | None
    """held / planned; None when nothing was planned."""


def adherence(planned: Sequence[date], held: Sequence[date]) -> Adherence:
    """Held meetings as a share of planned ones; a held date that was not planned does not count.

    Pass skipped dates in neither list: a meeting called off in advance was not planned any more.
    """
    planned_dates = set(planned)
    held_dates = planned_dates & set(held)
    share = len(held_dates) / len(planned_dates) if planned_dates else None
    return Adherence(planned=len(planned_dates), held=len(held_dates), share=share)


def is_useful(ratings: Sequence[int]) -> bool:
    """Whether a meeting counts as useful, from its 1–5 "was this meeting useful?" ratings.

    The mean must reach 3.5, halfway between neutral (3) and agree (4): on average people lean to
    agreeing, so one lukewarm rating does not sink a meeting others found useful, and a row of 3s
    ("it was fine") does not count. One answer is enough, because the meeting may be just the two
    heads (statement hbr08, docs/MODEL.md §6); no answer means not known, which is not useful.
    """
    if any(not 1 <= r <= 5 for r in ratings):
        raise ValueError(f"usefulness ratings are 1–5, not {list(ratings)}")
    return bool(ratings) and sum(ratings) >= USEFUL_MEAN * len(ratings)


def days_since_useful_meeting(
    useful_dates: Collection[date], today: date, *, tracking_since: date | None = None
) -> int | None:
    """Days since the last useful meeting, for `bot.domain.nudges.nudges(days_since_useful_meeting=...)`.

    The nudge fires above `nudges.MEETING_DAYS` and never for None. With no useful meeting yet, this
    counts from `tracking_since` (when the bot began to track meetings, e.g. its install date), so a
    workspace that never holds one is nudged too; without it, None. Future dates are ignored.
    """
    past = [day for day in useful_dates if day <= today]
    since = max(past, default=tracking_since)
    if since is None:
        return None
    return max(0, (today - since).days)


ADHERENCE_DAYS = 30
"""The digest's look back for joint meetings held against planned; the same span as the nudge's."""


@dataclass(frozen=True)
class CheckedMeeting:
    """One meeting whose usefulness check fell due: it was planned, and these ratings came back."""

    meeting_id: int
    day: date
    ratings: tuple[int, ...]
    held: bool = False
    """Its owner (or the first person asked) confirmed that it took place."""


@dataclass(frozen=True)
class MeetingRecord:
    """What the digest says about joint meetings, and what the no-useful-meeting nudge needs."""

    adherence: Adherence
    """Over the last `ADHERENCE_DAYS` days, every series together."""
    days_since_useful: int | None


def meeting_record(checked: Sequence[CheckedMeeting], today: date) -> MeetingRecord:
    """Held (confirmed as held) against planned, per series then summed, and days since a useful one.

    Only meetings whose check fell due count as planned, so skipped dates and meetings still to come
    never do; tracking starts with the first planned meeting, so a workspace whose meetings never turn
    out useful is nudged too.
    """
    since = today - timedelta(days=ADHERENCE_DAYS)
    recent = [meeting for meeting in checked if since < meeting.day <= today]
    per_series = [
        adherence(
            [m.day for m in recent if m.meeting_id == series],
            [m.day for m in recent if m.meeting_id == series and m.held],
        )
        for series in {m.meeting_id for m in recent}
    ]
    planned = sum(a.planned for a in per_series)
    held = sum(a.held for a in per_series)
    days = days_since_useful_meeting(
        [m.day for m in checked if is_useful(m.ratings)],
        today,
        tracking_since=min((m.day for m in checked), default=None),
    )
    return MeetingRecord(Adherence(planned, held, held / planned if planned else None), days)

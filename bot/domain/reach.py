"""How the next round of a cadence will reach its people: the earliest and latest send, who is away,
and which holidays skip the date for whom — what admins see in `/align pulse` and its preview."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from bot.domain import holiday_calendars, local_time
from bot.domain.availability import AwayStatuses, is_away
from bot.domain.cadence import CadenceSettings
from bot.domain.people import SlackUser
from bot.domain.quiet_hours import QuietHours


@dataclass(frozen=True)
class Member:
    """One person of a cadence's audience, with what they chose for themselves."""

    user: SlackUser
    department: str | None = None
    own_calendar: str | None = None
    away_until: date | None = None


@dataclass(frozen=True)
class NextReach:
    occurrence: datetime
    earliest: datetime | None
    """The first copy's send instant (None: nobody is to get one)."""
    latest: datetime | None
    away: int
    """People away at their send instant, as things stand now."""
    holidays: tuple[str, ...]
    """`IR: Nowruz Holiday`: the holidays that skip the date, for the people whose calendar has them."""
    on_holiday: int


def next_reach(
    settings: CadenceSettings,
    occurrence: datetime,
    members: Iterable[Member],
    workspace_timezone: str,
    statuses: AwayStatuses,
) -> NextReach:
    sends: list[datetime] = []
    away = on_holiday = 0
    holidays: dict[str, None] = {}
    for member in members:
        zone = local_time.person_zone(member.user.tz, workspace_timezone)
        scheduled = local_time.scheduled_for(settings.recurrence, occurrence, zone)
        calendars = settings.calendars_for(member.own_calendar, member.department)
        day = local_time.local_date(scheduled, zone)
        skipped = {c: holiday_calendars.holidays_on([c], day) for c in calendars}
        if any(skipped.values()):
            on_holiday += 1
            holidays.update({f"{c}: {', '.join(names)}": None for c, names in skipped.items() if names})
            continue
        if is_away(member.user, member.away_until, scheduled, zone, statuses):
            away += 1
            continue
        quiet = QuietHours(zone, holiday_calendars.weekend(calendars)) if settings.quiet_hours else None
        times = local_time.personal_times(settings, scheduled, scheduled, quiet)
        if times is not None:
            sends.append(times.due_at)
    return NextReach(
        occurrence, min(sends, default=None), max(sends, default=None), away, tuple(holidays), on_holiday
    )

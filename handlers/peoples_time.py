"""`/align away` and `/align holidays`: a person's own leave and public holidays."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.domain import holiday_calendars
from bot.domain.availability import OFF, parse_away
from bot.domain.local_time import person_zone
from handlers.common import Invocation


def away_command(invocation: Invocation) -> dict:
    workspaces = invocation.services.workspaces
    config = workspaces.config(invocation.team_id)
    zone = person_zone(invocation.user.tz, config.timezone if config else "UTC")
    today = invocation.services.clock.now().astimezone(ZoneInfo(zone)).date()
    choice = parse_away(invocation.parsed.args, today)
    if choice is None:
        return invocation.presenter.notice(invocation.language, "away_usage")
    if choice == OFF:
        workspaces.set_away_until(invocation.team_id, invocation.user.id, None)
        return invocation.presenter.notice(invocation.language, "away_cleared")
    workspaces.set_away_until(invocation.team_id, invocation.user.id, choice)
    return invocation.presenter.notice(invocation.language, "away_set", until=choice.isoformat())


def holidays_command(invocation: Invocation) -> dict:
    workspaces = invocation.services.workspaces
    args = invocation.parsed.args
    if [a.lower() for a in args] == [OFF]:
        workspaces.set_holiday_calendar(invocation.team_id, invocation.user.id, None)
        return invocation.presenter.notice(invocation.language, "holidays_cleared")
    calendar = holiday_calendars.calendar_name(args[0]) if len(args) == 1 else None
    if calendar is None:
        return invocation.presenter.notice(invocation.language, "holidays_usage")
    workspaces.set_holiday_calendar(invocation.team_id, invocation.user.id, calendar)
    return invocation.presenter.notice(invocation.language, "holidays_set", calendar=calendar)

"""Public-holiday calendars by country (and region), from the maintained `holidays` package.

A calendar is named by its ISO 3166 code, optionally with a subdivision: `IR`, `US`, `DE-BY`. Nobody
keeps a list of dates by hand; the admins' own skip dates stay on top of these (`schedule.Recurrence`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import holidays

MAX_CALENDARS = 5


@cache
def _supported() -> dict[str, frozenset[str]]:
    import holidays  # here, not at import: a server that never plans nor reads a calendar does without it

    return {
        code.upper(): frozenset(s.upper() for s in subdivisions)
        for code, subdivisions in holidays.list_supported_countries().items()
    }


def calendar_name(text: str) -> str | None:
    """`ir`, `IR`, `de-by`, `DE BY` → the canonical `IR`, `DE-BY`; None when the library has no such one."""
    country, _, region = re.sub(r"[\s_]+", "-", text.strip()).upper().partition("-")
    regions = _supported().get(country)
    if regions is None or (region and region not in regions):
        return None
    return f"{country}-{region}" if region else country


def parse_calendars(text: str) -> tuple[str, ...] | None:
    """Calendars typed in a modal, separated by commas or spaces, in order and once each (at most
    MAX_CALENDARS); None when one is unknown or there are too many."""
    names = [calendar_name(token) for token in re.split(r"[,;\s]+", text.strip()) if token]
    if None in names or len(set(names)) > MAX_CALENDARS:
        return None
    return tuple(dict.fromkeys(names))


@cache
def _calendar(name: str) -> holidays.HolidayBase:
    import holidays  # here, not at import: a server that never plans nor reads a calendar does without it

    country, _, region = name.partition("-")
    return holidays.country_holidays(country, subdiv=region or None)


def holidays_on(calendars: Iterable[str], day: date) -> tuple[str, ...]:
    """The names of the holidays `day` is in any of `calendars` (English), each once."""
    names: dict[str, None] = {}
    for name in calendars:
        found = _calendar(name).get(day)
        if found:
            names.update(dict.fromkeys(found.split("; ")))
    return tuple(names)


SATURDAY_SUNDAY = frozenset({5, 6})


def weekend(calendars: Iterable[str]) -> frozenset[int]:
    """A person's days off (0=Monday) for quiet hours: those of their first calendar (Iran's: Friday),
    otherwise Saturday and Sunday — a timezone is no proof of someone's working week."""
    for name in calendars:
        return frozenset(_calendar(name).weekend)
    return SATURDAY_SUNDAY

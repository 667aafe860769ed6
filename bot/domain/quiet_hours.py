"""Quiet hours: the bot sends no DM in a person's night or weekend, reckoned in their own timezone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain import schedule

NIGHT_STARTS = time(20)
NIGHT_ENDS = time(8)
_SEARCH_DAYS = 9  # past any weekend and the night before and after it


@dataclass(frozen=True)
class QuietHours:
    """A person's nights (from `starts` to `ends`, across midnight) and weekend, in `timezone`."""

    timezone: str
    weekend: frozenset[int]
    starts: time = NIGHT_STARTS
    ends: time = NIGHT_ENDS

    def is_quiet(self, instant: datetime) -> bool:
        local = instant.astimezone(ZoneInfo(self.timezone))
        wall = local.time().replace(tzinfo=None, fold=0)
        return local.weekday() in self.weekend or wall >= self.starts or wall < self.ends

    def next_allowed(self, instant: datetime) -> datetime:
        """`instant` itself when allowed, otherwise the next morning (at `ends`) that is not a day off."""
        if not self.is_quiet(instant):
            return instant
        day = instant.astimezone(ZoneInfo(self.timezone)).date()
        for offset in range(_SEARCH_DAYS):
            candidate = schedule.local_to_utc(day + timedelta(days=offset), self.ends, self.timezone)
            if candidate > instant and not self.is_quiet(candidate):
                return candidate
        raise ValueError(f"no allowed time within {_SEARCH_DAYS} days: every day is off")

    def moved_within(self, instant: datetime, closes_at: datetime) -> datetime | None:
        """When a message due at `instant` may go: moved out of quiet hours, or None (dropped) when the
        next allowed time is at or after `closes_at`."""
        allowed = self.next_allowed(instant)
        return allowed if allowed < closes_at else None

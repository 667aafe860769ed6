"""Personal data has an end: answers expire after the retention period.

Every figure is computed from the rollups of the answers still stored (`storage.rollups`), which
expire with them, so deleting them is all it takes for the digest, the Home tab and the export to
stop counting them.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass
from datetime import datetime

from bot.domain.clock import Clock
from storage import lifecycle as store
from storage.db import Database

logger = logging.getLogger(__name__)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months later, or earlier when negative (the month's
    last day when it is shorter)."""
    month_index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


@dataclass(frozen=True)
class RetentionReport:
    expired_rounds: int
    meeting_replies: int = 0


class RetentionRunner:
    """Expires rounds older than the retention period; a scheduler runner like the pulse runner."""

    def __init__(self, database: Database, clock: Clock, months: int) -> None:
        self.database, self.clock, self.months = database, clock, months

    def run_due(self) -> RetentionReport:
        if not self.months:
            return RetentionReport(0)
        now = self.clock.now()
        cutoff = add_months(now, -self.months)
        with self.database.session() as session:
            replies = store.expire_meeting_replies(session, cutoff)
        expired = 0
        while True:
            with self.database.session() as session:
                batch = store.expirable_rounds(session, cutoff)
                expired += sum(store.expire_round(session, round_id, now) for round_id in batch)
            if not batch:
                break
        if expired or replies:
            logger.info(
                "retention: answers of %d rounds replaced by their counts; %d joint meeting replies deleted",
                expired,
                replies,
            )
        return RetentionReport(expired, replies)

    def next_wakeup(self) -> datetime | None:
        """When the oldest stored round passes the retention period."""
        if not self.months:
            return None
        with self.database.session() as session:
            oldest = store.oldest_unexpired(session)
        if oldest is None:
            return None
        return add_months(oldest, self.months)

"""Who is away: on leave by their Slack status, or until a date they told the bot (`/align away`).

Someone away is sent no pulse and no reminder, and is not counted as asked, so being on leave never
makes anyone a non-responder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.domain.people import SlackUser

DEFAULT_AWAY_EMOJI = (
    ":palm_tree:",
    ":desert_island:",
    ":beach_with_umbrella:",
    ":airplane:",
    ":face_with_thermometer:",
    ":thermometer:",
    ":sick:",
    ":baby:",
    ":baby_bottle:",
    ":no_entry:",
)
DEFAULT_AWAY_WORDS = (
    "vacation",
    "holiday",
    "on leave",
    "out of office",
    "ooo",
    "out sick",
    "sick",
    "parental leave",
    "maternity",
    "paternity",
    "مرخصی",
    "تعطیلات",
)


@dataclass(frozen=True)
class AwayStatuses:
    """Which Slack statuses mean away: any of these emoji, or text containing any of these words."""

    emoji: frozenset[str] = frozenset(DEFAULT_AWAY_EMOJI)
    words: tuple[str, ...] = DEFAULT_AWAY_WORDS

    @classmethod
    def from_setting(cls, entries: Iterable[str]) -> AwayStatuses:
        """`:palm_tree:` entries are emoji, anything else a word or phrase; empty means the defaults."""
        entries = [e.strip().lower() for e in entries if e.strip()]
        if not entries:
            return cls()
        emoji = frozenset(e for e in entries if re.fullmatch(r":[a-z0-9_+\-']+:", e))
        return cls(emoji, tuple(e for e in entries if e not in emoji))

    def says_away(self, user: SlackUser, at: datetime) -> bool:
        """Whether `user`'s status at `at` is one of these (an expired status says nothing)."""
        if user.status_expiration and user.status_expiration <= at.timestamp():
            return False
        if user.status_emoji.lower() in self.emoji:
            return True
        text = user.status_text.lower()
        return bool(text) and any(re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text) for word in self.words)


OFF = "off"


def parse_away(args: tuple[str, ...], today: date) -> date | str | None:
    """`until 2026-04-10` → that date (today or later); `off` → OFF; anything else → None (usage)."""
    words = [a.lower() for a in args]
    if words == [OFF]:
        return OFF
    if len(words) != 2 or words[0] != "until":
        return None
    try:
        until = date.fromisoformat(words[1])
    except ValueError:
        return None
    return until if until >= today else None


def is_away(
    user: SlackUser, away_until: date | None, at: datetime, timezone: str, statuses: AwayStatuses
) -> bool:
    """Away at `at`: by status, or up to and including `away_until` in the person's own timezone."""
    if away_until is not None and at.astimezone(ZoneInfo(timezone)).date() <= away_until:
        return True
    return statuses.says_away(user, at)

"""When each person of a round is to be reached: their own time, holidays, leave and quiet hours.

The pulse runner asks this module for each recipient's delivery row (status and instants, written down
once with the round's audience) and, on every run, who is away right now and who came back. What it
decides is data on the `Delivery` rows (`due_at`, `closes_at`, `reminders_at`); the outbox only ever
claims what is due.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import holiday_calendars, local_time
from bot.domain.audience import Recipient
from bot.domain.availability import AwayStatuses, is_away
from bot.domain.cadence import CadenceSettings
from bot.domain.local_time import PersonalTimes
from bot.domain.people import SlackUser
from bot.domain.quiet_hours import QuietHours
from bot.services.pulses import MANUAL_ROUND_PREFIX
from storage import workspaces as workspace_store
from storage.db import Database
from storage.models import Delivery, PostStatus, PulseRound

logger = logging.getLogger(__name__)

#: How many workspaces' members are read at once (`users.list`, each a round trip to Slack).
MEMBER_READERS = 32


class PeoplesTime:
    """One run's view of people's time: each workspace's members read once per run (tz, status)."""

    def __init__(
        self, database: Database, slack_for: Callable[[str], WebClient], statuses: AwayStatuses
    ) -> None:
        self.database = database
        self.slack_for = slack_for
        self.statuses = statuses
        self._members: dict[str, dict[str, SlackUser] | SlackApiError] = {}
        self._choices: dict[str, tuple[dict[str, str], dict[str, date]]] = {}
        self._lock = threading.Lock()
        self._team_locks: dict[str, threading.Lock] = {}
        """One per workspace: its members are read once, while other workspaces' are read beside it."""

    def read_choices(self) -> None:
        """Read everyone's own holiday calendar and away date, once at the start of a run (never inside
        another transaction)."""
        with self.database.session() as session:
            self._choices = workspace_store.time_preferences(session)

    def own_choices(self, team_id: str) -> tuple[dict[str, str], dict[str, date]]:
        """Each person's own holiday calendar, and the date they said they are away until."""
        return self._choices.get(team_id, ({}, {}))

    def read_members(self, team_ids: Iterable[str]) -> None:
        """Read the members of the workspaces not read yet, side by side (a refusal is remembered, as
        by `members`, for whoever asks next)."""
        unread = [team_id for team_id in set(team_ids) if team_id not in self._members]
        if len(unread) < 2:
            return  # read on first need: nothing to overlap
        with ThreadPoolExecutor(min(len(unread), MEMBER_READERS), "alignbot-members") as pool:
            list(pool.map(self._read_quietly, unread))

    def _read_quietly(self, team_id: str) -> None:
        with contextlib.suppress(SlackApiError):
            self.members(team_id)

    def members(self, team_id: str) -> dict[str, SlackUser]:
        """Everyone in the workspace as Slack describes them now (users.list, asked once per run: a
        refusal is remembered for the run too, and raised again)."""
        with self._lock:
            team_lock = self._team_locks.setdefault(team_id, threading.Lock())
        with team_lock:
            if team_id not in self._members:
                try:
                    users: dict[str, SlackUser] = {}
                    for page in self.slack_for(team_id).users_list(limit=200, include_locale=True):
                        for member in page["members"]:
                            users[member["id"]] = SlackUser.from_api(member)
                    self._members[team_id] = users
                except SlackApiError as error:
                    self._members[team_id] = error
            found = self._members[team_id]
        if isinstance(found, SlackApiError):
            raise found
        return found

    def away(self, delivery: Delivery, at: datetime) -> bool:
        """Whether the person of `delivery` is away at `at` (their status now, or the date they gave).
        When Slack will not list the workspace's people, only the date they gave counts: a revoked
        token or an outage holds up no other workspace."""
        try:
            members = self.members(delivery.team_id)
        except SlackApiError as error:
            logger.warning("could not read statuses in %s: %s", delivery.team_id, error.response.get("error"))
            members = {}
        user = members.get(delivery.user_id) or SlackUser(delivery.user_id, "")
        away_until = self.own_choices(delivery.team_id)[1].get(delivery.user_id)
        return is_away(user, away_until, at, delivery.timezone or "UTC", self.statuses)

    def plan(
        self,
        settings: CadenceSettings,
        pulse_round: PulseRound,
        recipient: Recipient,
        workspace_timezone: str,
        now: datetime,
    ) -> tuple[dict[str, Any], PersonalTimes | None]:
        """The person's delivery columns for a new round, and their times (None: not asked this time)."""
        calendars_chosen, away_dates = self.own_choices(pulse_round.team_id)
        own_calendar, away_until = calendars_chosen.get(recipient.user.id), away_dates.get(recipient.user.id)
        zone = local_time.person_zone(recipient.user.tz, workspace_timezone)
        scheduled = pulse_round.scheduled_at
        if not pulse_round.occurrence_key.startswith(MANUAL_ROUND_PREFIX):  # by hand: everyone at once
            scheduled = local_time.scheduled_for(settings.recurrence, scheduled, zone)
        calendars = settings.calendars_for(own_calendar, recipient.department)
        columns: dict[str, Any] = {"timezone": zone}
        if holiday_calendars.holidays_on(calendars, local_time.local_date(scheduled, zone)):
            return {**columns, "status": PostStatus.HOLIDAY}, None
        times = local_time.personal_times(settings, scheduled, now, quiet_hours(settings, calendars, zone))
        if times is None:  # no allowed time left in the person's window
            return {**columns, "status": PostStatus.DROPPED, "error": "quiet_hours"}, None
        columns |= times_columns(times)
        if is_away(recipient.user, away_until, max(times.due_at, now), zone, self.statuses):
            columns["status"] = PostStatus.AWAY
        return columns, times

    def came_back(
        self, settings: CadenceSettings, delivery: Delivery, pulse_round: PulseRound, now: datetime
    ) -> dict[str, Any] | None:
        """The columns that send a held-back copy now that its person is back, or None while they are
        away or when nothing of their window is left to send it in (it stays held back). Raises
        `SlackApiError` when Slack will not say whether they are back."""
        self.members(delivery.team_id)
        if self.away(delivery, now):
            return None
        closes_at = delivery.closes_at or pulse_round.closes_at
        own_calendar = self.own_choices(delivery.team_id)[0].get(delivery.user_id)
        calendars = settings.calendars_for(own_calendar, delivery.department)
        zone = delivery.timezone or "UTC"
        scheduled = closes_at - settings.answer_window
        times = local_time.personal_times(settings, scheduled, now, quiet_hours(settings, calendars, zone))
        return None if times is None else {"status": PostStatus.PENDING, **times_columns(times)}


def quiet_hours(settings: CadenceSettings, calendars: Iterable[str], zone: str) -> QuietHours | None:
    """The person's quiet hours, when the cadence keeps them: their nights and their calendar's weekend."""
    if not settings.quiet_hours:
        return None
    return QuietHours(zone, holiday_calendars.weekend(calendars))


def times_columns(times: PersonalTimes) -> dict[str, Any]:
    return {
        "due_at": times.due_at,
        "closes_at": times.closes_at,
        "reminders_at": [at.isoformat() if at else None for at in times.reminders],
    }


def reminder_instants(delivery: Delivery, default: list[datetime]) -> list[datetime | None]:
    """When the person's reminders go: their own planned instants, or the cadence's for older rows."""
    if delivery.reminders_at is None:
        return list(default)
    return [datetime.fromisoformat(at) if at else None for at in delivery.reminders_at]

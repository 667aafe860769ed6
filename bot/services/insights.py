"""Results for a workspace over a rolling window: the scoring model fed from stored answers.

Every figure read at an instant counts the rounds and meeting checks closed by then, with the
anonymity threshold in force then (see `bot.domain.snapshot`). The preview, the Home tab and the
export read at the snapshot instant, the latest close; a scheduled digest at its scheduled time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.action_items import follow_ups
from bot.domain.digest import MAX_NUDGES, DigestView, DimensionRow, TrendPoint, compose, dimension_rows
from bot.domain.meetings import meeting_record
from bot.domain.nudges import WeekSnapshot, nudges
from bot.domain.scoring import (
    DEPARTMENTS,
    EVERYONE,
    MARKETING,
    SALES,
    WINDOW_WEEKS,
    ItemMeta,
    Results,
    score_tally,
    settled_stage,
    suppress,
)
from bot.domain.snapshot import Snapshot, threshold_at
from bot.domain.tallies import WEEK, People, WeeklyCounts, week_back
from bot.services.pipeline import pipeline_section
from bot.services.pulses import PulseService
from storage import action_items as action_store
from storage import digests as digest_store
from storage import insights as store
from storage import meetings as meeting_store
from storage import pulses as pulse_store
from storage import workspaces as workspace_store
from storage.db import Database
from storage.models import Workspace

#: Weeks of history the digest and its nudges look at: this one and four before (a month ago).
HISTORY_WEEKS = 5
TREND_WEEKS = 12
#: Latest digests kept worked out for admins' Home tabs: one per workspace, for this many.
SENT_DIGESTS_KEPT = 256


@dataclass(frozen=True)
class Participation:
    """Per group, the share of people asked who answered; None where the group is withheld."""

    shares: dict[str, float | None]
    asked: dict[str, int | None]


def _participation(raw: dict[str | None, tuple[int, int]], threshold: int) -> Participation:
    asked = {department: raw.get(department, (0, 0))[0] for department in DEPARTMENTS}
    answered = {department: raw.get(department, (0, 0))[1] for department in DEPARTMENTS}
    asked[EVERYONE] = sum(count for count, _ in raw.values())
    answered[EVERYONE] = sum(count for _, count in raw.values())
    shown = suppress(asked, threshold)
    return Participation(
        shares={g: answered[g] / asked[g] if g in shown and asked[g] else None for g in asked},
        asked={g: asked[g] if g in shown else None for g in asked},
    )


#: Where `weekly_results` counts, when not in this process: (team, at, weeks, window weeks) → its results.
Counting = Callable[[str, datetime, int, int], list[tuple[datetime, Results]]]


class InsightService:
    def __init__(self, database: Database, pulses: PulseService, counting: Counting | None = None) -> None:
        self.database = database
        self.pulses = pulses
        self.counting = counting
        """Counts `weekly_results` elsewhere (`bot.runtime.counting`: no numpy in the server); None: here."""
        self._sent_digests: OrderedDict[tuple[str, int, str], DigestView] = OrderedDict()
        """(team, digest id, timezone) → the digest as worked out the first time an admin looked."""
        self._sent_digests_lock = threading.Lock()

    def item_meta(self, team_id: str) -> dict[str, ItemMeta]:
        with self.database.session() as session:
            bank = self.pulses.workspace_bank(session, team_id)
        return {item.id: ItemMeta(item.dimension, item.scored) for item in bank.items}

    def threshold(self, team_id: str) -> int | None:
        """The threshold in force now (the next snapshot's, unless it changes again)."""
        with self.database.session() as session:
            return workspace_store.anonymity_threshold(session, team_id)

    def threshold_at(self, team_id: str, at: datetime) -> int | None:
        """The threshold figures read at `at` withhold groups under (None before setup)."""
        with self.database.session() as session:
            in_force = threshold_at(workspace_store.threshold_changes(session, team_id), at)
            return in_force if in_force is not None else workspace_store.anonymity_threshold(session, team_id)

    def as_of(self, team_id: str) -> datetime | None:
        """The snapshot instant: when the latest round or meeting check to close by now closed, or,
        before any did, when the workspace was first set up (None before setup)."""
        now = self.pulses.clock.now()
        with self.database.session() as session:
            closes = [
                store.latest_close(session, team_id, now),
                meeting_store.latest_check_close(session, team_id, now),
            ]
            changes = workspace_store.threshold_changes(session, team_id)
            workspace = session.get(Workspace, team_id)
        closed = [at for at in closes if at is not None]
        if closed:
            return max(closed)
        if changes:
            return changes[0].changed_at
        return workspace.configured_at if workspace else None

    def snapshot(self, team_id: str, at: datetime, window_weeks: int = WINDOW_WEEKS) -> Snapshot | None:
        """What figures read at `at` rest on: the threshold then, the rounds closed by then."""
        threshold = self.threshold_at(team_id, at)
        if threshold is None:
            return None
        with self.database.session() as session:
            rounds = store.rounds_between(session, team_id, at - window_weeks * WEEK, at)
        return Snapshot(at, threshold, tuple(scheduled_at.date() for _, scheduled_at in rounds))

    def results(self, team_id: str, end: datetime, window_weeks: int = WINDOW_WEEKS) -> Results | None:
        """The scores of the rounds sent in the window ending at `end` (None before setup)."""
        weekly = self.weekly_results(team_id, end, 1, window_weeks)
        return weekly[0][1] if weekly else None

    def latest_results(self, team_id: str) -> Results | None:
        """The scores at the snapshot instant (the Home tab)."""
        at = self.as_of(team_id)
        return self.results(team_id, at) if at else None

    def weekly_results(
        self, team_id: str, at: datetime, weeks: int, window_weeks: int = WINDOW_WEEKS
    ) -> list[tuple[datetime, Results]]:
        """(end, results) of the windows ending at `at` and each of the `weeks − 1` weeks before it,
        oldest first; empty before setup. Read from the rounds' rollups, counted per week (see
        `bot.domain.tallies`), in `counting`'s process when there is one."""
        if self.counting is not None:
            return self.counting(team_id, at, weeks, window_weeks)
        threshold = self.threshold_at(team_id, at)
        if threshold is None:
            return []
        meta = self.item_meta(team_id)
        span = weeks + window_weeks - 1
        counts = WeeklyCounts(meta, span, threshold)
        with self.database.session() as session:
            rounds = store.rounds_between(session, team_id, at - span * WEEK, at)
            week_of_round = {round_id: week_back(at, scheduled_at) for round_id, scheduled_at in rounds}
            # The "was the joint meeting useful?" ratings count like pulse answers, by meeting start.
            checks = meeting_store.checks_between(session, team_id, at - span * WEEK, at)
            week_of_check = {check_id: week_back(at, started_at) for check_id, started_at in checks}
            for week, department, item_id, people in meeting_store.weekly_cells(
                session, team_id, week_of_check
            ):
                counts.add_cell(week, department, item_id, people)
            for week, department, item_id, rating, count in meeting_store.weekly_ratings(
                session, team_id, week_of_check, threshold
            ):
                counts.add_ratings(week, department, item_id, rating, count)
            people = People()  # a person rating meetings and statements is one respondent
            counts.add_rounds(store.rolled_up(session, week_of_round, people))
            rated_meetings = defaultdict(list)
            for person, *row in meeting_store.weekly_respondents(session, team_id, week_of_check, threshold):
                rated_meetings[person].append(tuple(row))
            for person, rows in rated_meetings.items():
                counts.add_person(people[person], rows)
        tallies = counts.windows(window_weeks, weeks)
        return [
            (at - weeks_back * WEEK, score_tally(tallies[weeks_back], meta, threshold))
            for weeks_back in range(weeks - 1, -1, -1)
        ]

    def weekly_participation(self, team_id: str, at: datetime, weeks: int) -> list[Participation]:
        """Who answered among those asked, per department and overall, in each of the `weeks` weeks
        up to `at` (oldest first), withheld like any figure."""
        threshold = self.threshold_at(team_id, at) or 0
        with self.database.session() as session:
            rounds = store.rounds_between(session, team_id, at - weeks * WEEK, at)
            week_of_round = {round_id: week_back(at, scheduled_at) for round_id, scheduled_at in rounds}
            raw = store.weekly_participation(session, team_id, week_of_round)
        return [
            _participation({d: n for (w, d), n in raw.items() if w == week}, threshold)
            for week in range(weeks - 1, -1, -1)
        ]

    def digest(
        self, team_id: str, at: datetime, timezone: str, window_weeks: int = WINDOW_WEEKS
    ) -> DigestView | None:
        """The digest as of `at`: this week against last week and four weeks ago, with nudges."""
        history = self.weeks(team_id, at, window_weeks)
        snapshot = self.snapshot(team_id, at, window_weeks)
        if not history or snapshot is None:
            return None
        local_day = at.astimezone(ZoneInfo(timezone)).date()
        with self.database.session() as session:
            comments = store.comments_between(session, team_id, at - window_weeks * WEEK, at)
            comments += meeting_store.comments_between(session, team_id, at - window_weeks * WEEK, at)
            quiet = digest_store.quiet_nudges(session, team_id, at)
            meetings = meeting_record(meeting_store.checked_meetings(session, team_id, at), local_day)
            this_week = [round_id for round_id, _ in store.rounds_between(session, team_id, at - WEEK, at)]
            away, own_time = store.not_asked(session, team_id, this_week)
            taken = action_store.items_of(session, team_id, until=at)
        dimension_of = {item_id: meta.dimension for item_id, meta in self.item_meta(team_id).items()}
        current = history[-1]
        zone = ZoneInfo(timezone)
        asked = set(dimension_of)
        pipeline = pipeline_section(
            self.database, team_id, local_day, zone, current.results, snapshot.threshold, asked
        )
        suggestions = nudges(
            history,
            dimension_of,
            quiet=quiet,
            days_since_useful_meeting=meetings.days_since_useful,
            max_nudges=MAX_NUDGES,
            pipeline=pipeline,
        )
        view = compose(
            week=local_day - timedelta(days=local_day.weekday()),
            now=current.results,
            last_week=history[-2].results if len(history) > 1 else None,
            month_ago=history[-5].results if len(history) > 4 else None,
            stage=current.stage,
            participation=current.participation,
            comments=comments,
            nudges=suggestions,
            meetings=meetings.adherence,
            snapshot=snapshot,
        )
        return replace(
            view,
            away=away,
            own_time=own_time,
            follow_ups=follow_ups(taken, current.results, local_day),
            pipeline=pipeline,
        )

    def preview(self, team_id: str, timezone: str) -> DigestView | None:
        """`/align digest preview`: the digest at the snapshot instant, and how many people have
        answered a round still open so far, once they are at least as many as the threshold
        (never a figure of what they answered)."""
        at = self.as_of(team_id)
        view = self.digest(team_id, at, timezone) if at else None
        if view is None:
            return None
        with self.database.session() as session:
            answering = store.open_round_respondents(session, team_id)
        enough = max(view.snapshot.threshold, self.threshold(team_id) or 0)
        return replace(view, answering=answering if answering >= enough else None)

    def weeks(self, team_id: str, at: datetime, window_weeks: int = WINDOW_WEEKS) -> list[WeekSnapshot]:
        """The last five weekly snapshots up to `at`, oldest first, each stage settled on the one before."""
        with self.database.session() as session:
            stage = digest_store.previous_stage(session, team_id, at - HISTORY_WEEKS * WEEK)
        snapshots = []
        weekly = zip(
            self.weekly_results(team_id, at, HISTORY_WEEKS, window_weeks),
            self.weekly_participation(team_id, at, HISTORY_WEEKS),
            strict=False,  # no results at all before setup
        )
        for (end, results), participation in weekly:
            stage = settled_stage(stage, results.composites[EVERYONE])
            snapshots.append(WeekSnapshot(end.date(), results, stage, participation.shares))
        return snapshots

    def trend(
        self, team_id: str, at: datetime, weeks: int = TREND_WEEKS, window_weeks: int = WINDOW_WEEKS
    ) -> list[TrendPoint]:
        """The composite score of each group at the end of each of the last `weeks` weeks, each week
        marked when a baseline was sent in it."""
        with self.database.session() as session:
            baselines = pulse_store.baseline_rounds(session, team_id, at - weeks * WEEK, at)
        return [
            TrendPoint(
                end.date(),
                results.composites[SALES].score,
                results.composites[MARKETING].score,
                results.composites[EVERYONE].score,
                results.composites[EVERYONE].low,
                results.composites[EVERYONE].high,
                baseline=any(end - WEEK <= sent < end for sent in baselines),
            )
            for end, results in self.weekly_results(team_id, at, weeks, window_weeks)
        ]

    def dimension_rows(
        self, team_id: str, at: datetime, window_weeks: int = WINDOW_WEEKS
    ) -> tuple[DimensionRow, ...]:
        """Each dimension for sales and marketing, and their gap, in the digest's window ending at `at`."""
        weekly = self.weekly_results(team_id, at, 1, window_weeks)
        return dimension_rows(weekly[-1][1]) if weekly else ()

    def own_participation(self, team_id: str, user_id: str, at: datetime) -> tuple[int, int]:
        """A person's own pulses sent and answered in the window (shown only to them)."""
        with self.database.session() as session:
            return store.personal_participation(session, team_id, user_id, at - WINDOW_WEEKS * WEEK, at)

    def digest_settings(self, team_id: str):
        with self.database.session() as session:
            return digest_store.ensure_settings(session, team_id, self.pulses.clock.now())

    def schedule_digest(
        self, team_id: str, weekday: int, local_time: str, to_channel: bool, leaders: tuple[str, ...]
    ) -> None:
        """New day, time and destinations; they apply from the next date (nothing is sent late)."""
        now = self.pulses.clock.now()
        with self.database.session() as session:
            settings = digest_store.ensure_settings(session, team_id, now)
            settings.weekday, settings.local_time = weekday, local_time
            settings.to_channel, settings.leaders = to_channel, list(leaders)
            settings.planned_until, settings.updated_at = max(settings.planned_until, now), now

    def snooze(self, team_id: str, key: str, by: str, duration: timedelta) -> None:
        now = self.pulses.clock.now()
        with self.database.session() as session:
            digest_store.set_nudge_state(session, team_id, key, "snoozed", by, now, until=now + duration)

    def texts(self, team_id: str, language: str) -> tuple[dict[str, str], dict[str, str]]:
        """Statement texts and dimension names in `language`, for the digest template."""
        with self.database.session() as session:
            bank = self.pulses.workspace_bank(session, team_id)
        items = {item.id: item.text(language) for item in bank.items}
        dimensions = {d.id: d.names.get(language) or d.names["en"] for d in bank.dimensions}
        return items, dimensions

    def last_digest(self, team_id: str, timezone: str) -> DigestView | None:
        """The latest digest that reached someone (the admins' Home tab). Working it out takes
        seconds in a large workspace, so it is done once per digest, not on every opening."""
        with self.database.session() as session:
            sent = digest_store.latest_sent(session, team_id)
            if sent is None:
                return None
            key, scheduled_at = (team_id, sent.id, timezone), sent.scheduled_at
        with self._sent_digests_lock:
            if key in self._sent_digests:
                self._sent_digests.move_to_end(key)
                return self._sent_digests[key]
        view = self.digest(team_id, scheduled_at, timezone)
        if view is not None:
            with self._sent_digests_lock:
                self._sent_digests[key] = view
                while len(self._sent_digests) > SENT_DIGESTS_KEPT:
                    self._sent_digests.popitem(last=False)
        return view

    def digest_pictures(self, team_id: str, reader: str, channel: str | None) -> tuple[str, ...]:
        """The latest digest's trend chart and heatmap (Slack file ids) for the admins' Home tab: the
        ones sent to the reader by DM, in their language, else the leadership channel's."""
        with self.database.session() as session:
            sent = digest_store.latest_sent(session, team_id)
            for destination in (reader, channel) if sent else ():
                if destination and (pictures := digest_store.pictures(session, sent.id, destination)):
                    return pictures
        return ()

    def failed_digest_posts(self, team_id: str) -> list[digest_store.FailedPost]:
        """The newest digest's posts that Slack refused (the admins' Home tab)."""
        with self.database.session() as session:
            return digest_store.failed_posts(session, team_id)

"""The weekly leadership digest, sent on schedule: once per workspace and week, restart-safe.

Like the pulse runner, every step is keyed in the database first and done in Slack second:
a digest per (workspace, week), a post per (digest, destination), each message carrying its
key in Slack's metadata so a post whose answer was lost is looked up, not repeated. The
trend chart follows in the message's thread. A post Slack refuses for good (the bot is not in
the channel, say) is told to the admins by DM, once per admin, the same way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, time, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.domain import schedule
from bot.domain.clock import Clock
from bot.domain.people import choose_language
from bot.services.insights import InsightService
from bot.slack.client import Transport
from bot.slack.outbox import STALE_AFTER, Envelope, Message, Outbox, Outcome, RowMailbox, is_person
from bot.slack.presenters import Presenter
from storage import digests as store
from storage import workspaces as workspace_store
from storage.db import Database
from storage.models import Digest, DigestPost, PostStatus

logger = logging.getLogger(__name__)

LATE_LIMIT = timedelta(days=1)


class DigestRunner:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        insights: InsightService,
        presenter: Presenter,
        slack_for: Callable[[str], WebClient],
        transport: Transport | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.insights = insights
        self.presenter = presenter
        self.slack_for = slack_for
        self._lock = threading.Lock()
        self.outbox = Outbox(database, clock, slack_for, transport=transport)
        self.posts = DigestPosts(self)
        self.failure_notices = FailureNotices(self)

    def run_due(self) -> int:
        """Plan the digests that fell due, then post them; returns how many posts went out."""
        with self._lock:
            now = self.clock.now()
            self._plan(now)
            self.outbox.recover(self.posts)
            sent = self._post()
            self.outbox.send(self.failure_notices)
            self._attach_charts()
            return sent

    def send_now(self, team_id: str) -> str:
        """`/align digest send`: this week's digest now, unless it already went out this week.

        Returns `sent`, `already_sent` or `setup_first`.
        """
        with self._lock:
            now = self.clock.now()
            with self.database.session() as session:
                config = workspace_store.load_config(session, team_id)
                settings = store.ensure_settings(session, team_id, now) if config else None
                destinations = _destinations(settings, config) if settings else []
            if config is None:
                return "setup_first"
            view = self.insights.digest(team_id, now, config.timezone)
            with self.database.session() as session:
                digest = store.add_digest(session, team_id, view.week, now, view.stage, now)
                if digest is None:
                    return "already_sent"
                store.add_posts(session, digest, destinations)
            self._post()
            self.outbox.send(self.failure_notices)
            self._attach_charts()
            return "sent"

    def next_wakeup(self) -> datetime | None:
        now = self.clock.now()
        with self.database.session() as session:
            upcoming = [_next_digest(session, settings, now) for settings in store.active_settings(session)]
        return min((at for at in upcoming if at is not None), default=None)

    def next_digest(self, team_id: str) -> datetime | None:
        """When the workspace's next digest is due; None when it is paused or not set up."""
        with self.database.session() as session:
            settings = store.settings_of(session, team_id)
            if settings is None or settings.paused:
                return None
            return _next_digest(session, settings, self.clock.now())

    # ----- planning --------------------------------------------------------------------------------

    def _plan(self, now: datetime) -> None:
        with self.database.session() as session:
            due = []
            for settings in store.active_settings(session):
                config = workspace_store.load_config(session, settings.team_id)
                if config is None:
                    continue
                recurrence = _recurrence(settings, config.timezone)
                occurrences = [
                    at
                    for at in schedule.occurrences(recurrence, settings.planned_until, now)
                    if now - at < LATE_LIMIT  # a digest a day late is news; a week late it is not
                ]
                if occurrences:
                    destinations = (
                        [config.leadership_channel]
                        if settings.to_channel and config.leadership_channel
                        else []
                    ) + list(settings.leaders)
                    due.append((settings.team_id, occurrences[-1], config.timezone, destinations))
                settings.planned_until = max(settings.planned_until, now)
        for team_id, at, timezone, destinations in due:
            view = self.insights.digest(team_id, at, timezone)
            if view is None:
                continue
            with self.database.session() as session:
                digest = store.add_digest(session, team_id, view.week, at, view.stage, now)
                if digest is not None:
                    store.add_posts(session, digest, destinations)
                    logger.info(
                        "digest for %s, week of %s: %s destinations", team_id, view.week, len(destinations)
                    )

    # ----- posting ---------------------------------------------------------------------------------

    def _post(self) -> int:
        """Post what is due; returns how many posts went out."""
        return sum(outcome.status == PostStatus.SENT for outcome in self.outbox.send(self.posts))

    def _failure_notice(self, post: DigestPost, admin: str) -> Message:
        """What an admin is told about a post Slack refused for good, in the admin's language."""
        destination, error = post.destination, post.error
        with self.database.session() as session:
            week = session.get(Digest, post.digest_id).week
            config = workspace_store.load_config(session, post.team_id)
        language = self._language(post.team_id, admin, config.default_language)
        return self.presenter.digest_failed(language, week, destination, error)

    def _language(self, team_id: str, destination: str, default: str) -> str:
        """A channel reads the workspace's default language; a leader their own."""
        if not is_person(destination):
            return default
        with self.database.session() as session:
            override = workspace_store.preferences(session, team_id, "language").get(destination)
        try:
            locale = (
                self.slack_for(team_id)
                .users_info(user=destination, include_locale=True)["user"]
                .get("locale")
            )
        except SlackApiError:
            locale = None
        return choose_language(override, locale, default)

    def _message(self, digest_id: int, team_id: str, destination: str) -> dict | None:
        with self.database.session() as session:
            digest = session.get(Digest, digest_id)
            config = workspace_store.load_config(session, team_id)
        if config is None:
            return None
        language = self._language(team_id, destination, config.default_language)
        view = self.insights.digest(team_id, digest.scheduled_at, config.timezone)
        if view is None:
            return None
        items, dimensions = self.insights.texts(team_id, language)
        return self.presenter.digest(language, view, items, dimensions, config.anonymity_threshold)

    def _attach_charts(self) -> None:
        """The trend chart and the heatmap, in the thread of each digest message without them yet."""
        with self.database.session() as session:
            waiting = [
                (p.digest_id, p.destination, p.team_id, p.message_ts, p.channel_id)
                for p in store.posts_without_chart(session)
            ]
        figures: dict[int, tuple] = {}  # per digest, its trend and dimensions, whatever the language
        for digest_id, destination, team_id, ts, channel in waiting:
            with self.database.session() as session:
                digest = session.get(Digest, digest_id)
                config = workspace_store.load_config(session, team_id)
            language = self._language(team_id, destination, config.default_language)
            at, week = digest.scheduled_at, digest.week.isoformat()
            if digest_id not in figures:
                trend, rows = self.insights.trend(team_id, at), self.insights.dimension_rows(team_id, at)
                figures[digest_id] = trend, rows
            trend, rows = figures[digest_id]
            _items, dimensions = self.insights.texts(team_id, language)
            trend_png, heatmap_png = self.presenter.digest_pictures(language, trend, rows, dimensions)
            pictures = [
                (f"alignment-{week}-{language}.png", trend_png),
                (f"dimensions-{week}-{language}.png", heatmap_png),
            ]
            file_id = store.NO_PICTURES
            try:
                uploaded = self.slack_for(team_id).files_upload_v2(
                    channel=channel or destination,
                    thread_ts=ts,
                    file_uploads=[
                        {"content": png, "filename": filename, "title": filename.removesuffix(".png")}
                        for filename, png in pictures
                    ],
                )
                file_id = " ".join(file["id"] for file in uploaded.get("files") or []) or store.NO_PICTURES
            except SlackApiError as error:
                logger.warning("digest charts for %s: %s", destination, error.response.get("error"))
            with self.database.session() as session:
                session.get(DigestPost, (digest_id, destination)).file_id = file_id


class DigestPosts(RowMailbox):
    """Each destination of a digest: the leadership channel, each leader's DM."""

    model = DigestPost
    kind = "digest_post"

    def __init__(self, runner: DigestRunner) -> None:
        self.runner = runner

    def address(self, post: DigestPost) -> tuple[str, object]:
        return post.destination, f"{post.digest_id}:{post.destination}"

    def compose(self, envelope: Envelope) -> Message | Outcome:
        post = envelope.row
        message = self.runner._message(post.digest_id, post.team_id, post.destination)
        return message or Outcome(PostStatus.FAILED, error="no_results")

    def record(self, session: Session, envelope: Envelope, outcome: Outcome) -> None:
        """A post refused for good waits, `refused`, for the admins to be told (see FailureNotices)."""
        post = self.claimed_row(session, envelope)
        if outcome.status == PostStatus.SENT:
            post.status, post.message_ts, post.channel_id = outcome.status, outcome.ts, outcome.channel
        elif outcome.status == PostStatus.FAILED:
            post.status, post.error = PostStatus.REFUSED, outcome.error
        else:
            post.status, post.message_ts, post.channel_id = outcome.status, None, None


class FailureNotices:
    """A DM to each admin about each digest post Slack refused for good.

    The refused post is claimed (`notifying`) by a conditional update, so one process tells. A
    telling whose process stopped half-way is claimed again once stale, and each of its DMs is
    looked up before it is sent again. The post is `failed` once every admin's DM went out or was
    refused for good; a DM that may still go through leaves it `notifying`, to be taken up again.
    """

    kind = "digest_failure"
    in_batches = False

    def __init__(self, runner: DigestRunner) -> None:
        self.runner = runner
        #: Per refused post claimed this run, how many of its admins are still to be told.
        self._untold: dict[tuple[int, str], int] = {}

    def prepare(self, envelopes: Sequence[Envelope]) -> None:
        pass  # an admin's notice needs nothing read beyond its claim

    def claim(self, session: Session, now: datetime) -> list[Envelope]:
        self._untold = {}
        claimed = []
        for post, since in store.claim_refused_posts(session, now, now - STALE_AFTER):
            admins = store.admins_to_tell(session, post.team_id)
            if not admins:
                post.status = PostStatus.FAILED
            self._untold[post.digest_id, post.destination] = len(admins)
            claimed += [
                Envelope(post, post.team_id, admin, f"{post.digest_id}:{post.destination}:{admin}", since)
                for admin in admins
            ]
        return claimed

    def stale(self, session: Session, before: datetime) -> list[Envelope]:
        return []  # a telling that stopped half-way is claimed again, and looked up, by `claim`

    def compose(self, envelope: Envelope) -> Message:
        return self.runner._failure_notice(envelope.row, envelope.to)

    def record(self, session: Session, envelope: Envelope, outcome: Outcome) -> None:
        if outcome.status not in (PostStatus.SENT, PostStatus.FAILED):
            return
        post = (envelope.row.digest_id, envelope.row.destination)
        self._untold[post] -= 1
        if self._untold[post] == 0:
            session.get(DigestPost, post).status = PostStatus.FAILED


def _destinations(settings, config) -> list[str]:
    """The leadership channel (when chosen and set up) and the leaders' DMs."""
    channel = [config.leadership_channel] if settings.to_channel and config.leadership_channel else []
    return channel + list(settings.leaders)


def _next_digest(session, settings, now: datetime) -> datetime | None:
    """The first date after both now and what is already planned; None before setup."""
    config = workspace_store.load_config(session, settings.team_id)
    if config is None:
        return None
    return schedule.next_occurrence(_recurrence(settings, config.timezone), max(settings.planned_until, now))


def _recurrence(settings, timezone: str) -> schedule.Recurrence:
    hours, minutes = (int(part) for part in settings.local_time.split(":"))
    return schedule.Recurrence(
        kind=schedule.WEEKLY,
        local_time=time(hours, minutes),
        timezone=timezone,
        start=settings.planned_until.date() - timedelta(days=7),
        weekdays=frozenset({settings.weekday}),
    )

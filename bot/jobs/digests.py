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
from collections.abc import Callable
from datetime import datetime, time, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import schedule
from bot.domain.clock import Clock
from bot.domain.people import choose_language
from bot.services.insights import InsightService
from bot.slack.delivery import SendResult, find_in_history, post_once
from bot.slack.presenters import Presenter
from storage import digests as store
from storage import workspaces as workspace_store
from storage.db import Database
from storage.models import FAILED, PENDING, SENT, Digest, DigestPost

logger = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=2)
LATE_LIMIT = timedelta(days=1)
NO_CHART = "none"


class DigestRunner:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        insights: InsightService,
        presenter: Presenter,
        slack_for: Callable[[str], WebClient],
    ) -> None:
        self.database = database
        self.clock = clock
        self.insights = insights
        self.presenter = presenter
        self.slack_for = slack_for
        self._lock = threading.Lock()

    def run_due(self) -> int:
        """Plan the digests that fell due, then post them; returns how many posts went out."""
        with self._lock:
            now = self.clock.now()
            self._plan(now)
            self._recover_stale(now)
            sent = self._post(now)
            self._tell_admins(now)
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
            self._post(now)
            self._tell_admins(now)
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

    def _recover_stale(self, now: datetime) -> None:
        with self.database.session() as session:
            stale = [
                (p.digest_id, p.destination, p.team_id, p.claimed_at)
                for p in store.stale_posts(session, now - STALE_AFTER)
            ]
        for digest_id, destination, team_id, claimed_at in stale:
            client = self.slack_for(team_id)
            channel = self._channel_for(client, destination)
            found = channel and find_in_history(
                client, channel, claimed_at, "digest_post", f"{digest_id}:{destination}"
            )
            with self.database.session() as session:
                post = session.get(DigestPost, (digest_id, destination))
                post.status, post.message_ts = (SENT, found) if found else (PENDING, None)
                post.channel_id = channel if found else None

    def _post(self, now: datetime) -> int:
        with self.database.session() as session:
            claimed = [(p.digest_id, p.destination, p.team_id) for p in store.claim_posts(session, now)]
        sent = 0
        for digest_id, destination, team_id in claimed:
            message = self._message(digest_id, team_id, destination)
            client = self.slack_for(team_id)
            key = f"{digest_id}:{destination}"
            result = (
                post_once(client, destination, message, {"digest_post": key})
                if message
                else SendResult("failed", error="no_results")
            )
            if result.status == "check":
                channel = self._channel_for(client, destination)
                found = channel and find_in_history(client, channel, now - STALE_AFTER, "digest_post", key)
                result = (
                    SendResult("sent", channel, found) if found else SendResult("retry", error=result.error)
                )
            with self.database.session() as session:
                post = session.get(DigestPost, (digest_id, destination))
                if result.status == "sent":
                    post.status, post.message_ts, post.channel_id = SENT, result.ts, result.channel
                    sent += 1
                elif result.status == "failed":
                    post.status, post.error = store.REFUSED, result.error
                    logger.warning("digest %s to %s failed: %s", digest_id, destination, result.error)
                elif result.status == "retry":
                    post.status = PENDING
        return sent

    def _tell_admins(self, now: datetime) -> None:
        """A DM to each admin about each post Slack refused for good, in the admin's language.

        The post is claimed by a conditional update, so one process tells; each DM carries its
        key in Slack's metadata, so after a process stopped half-way the DMs it sent are found
        in history and not sent again. A DM that may still go through keeps the claim, to be
        retried once it is stale.
        """
        with self.database.session() as session:
            claimed = [
                (p.digest_id, p.destination, p.team_id, p.error, since)
                for p, since in store.claim_refused_posts(session, now, now - STALE_AFTER)
            ]
        for digest_id, destination, team_id, error, since in claimed:
            with self.database.session() as session:
                week = session.get(Digest, digest_id).week
                admins = store.admins_to_tell(session, team_id)
                config = workspace_store.load_config(session, team_id)
            client = self.slack_for(team_id)
            finished = True
            for admin in admins:
                key = f"{digest_id}:{destination}:{admin}"
                dm = since and self._channel_for(client, admin)
                if dm and find_in_history(client, dm, since, "digest_failure", key):
                    continue
                language = self._language(team_id, admin, config.default_language)
                message = self.presenter.digest_failed(language, week, destination, error)
                result = post_once(client, admin, message, {"digest_failure": key})
                if result.status == "failed":
                    logger.warning("telling %s that a digest failed: %s", admin, result.error)
                finished = finished and result.status in ("sent", "failed")
            if finished:
                with self.database.session() as session:
                    session.get(DigestPost, (digest_id, destination)).status = FAILED

    def _language(self, team_id: str, destination: str, default: str) -> str:
        """A channel reads the workspace's default language; a leader their own."""
        if not destination.startswith(("U", "W")):
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
        """The trend chart, in the thread of each digest message that does not have it yet."""
        with self.database.session() as session:
            waiting = [
                (p.digest_id, p.destination, p.team_id, p.message_ts, p.channel_id)
                for p in store.posts_without_chart(session)
            ]
        for digest_id, destination, team_id, ts, channel in waiting:
            with self.database.session() as session:
                digest = session.get(Digest, digest_id)
                config = workspace_store.load_config(session, team_id)
            language = self._language(team_id, destination, config.default_language)
            png = self.presenter.trend_chart(language, self.insights.trend(team_id, digest.scheduled_at))
            file_id = NO_CHART
            try:
                uploaded = self.slack_for(team_id).files_upload_v2(
                    channel=channel or destination,
                    thread_ts=ts,
                    content=png,
                    filename=f"alignment-{digest.week.isoformat()}.png",
                    title=f"{digest.week.isoformat()}",
                )
                file_id = uploaded["files"][0]["id"] if uploaded.get("files") else NO_CHART
            except SlackApiError as error:
                logger.warning("digest chart for %s: %s", destination, error.response.get("error"))
            with self.database.session() as session:
                session.get(DigestPost, (digest_id, destination)).file_id = file_id

    def _channel_for(self, client: WebClient, destination: str) -> str | None:
        """A channel id as is; a person's id becomes the id of the bot's DM with them."""
        if not destination.startswith(("U", "W")):
            return destination
        try:
            return client.conversations_open(users=destination)["channel"]["id"]
        except SlackApiError:
            return None


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

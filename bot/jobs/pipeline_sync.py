"""Each connected CRM is synced once a day: a scheduler runner like the retention runner."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.domain.clock import Clock
from bot.services.pipeline_sync import HubSpotClient, SyncReport, sync
from storage import pipeline as store
from storage.db import Database

logger = logging.getLogger(__name__)
SYNC_EVERY = timedelta(days=1)


class PipelineSyncRunner:
    def __init__(self, database: Database, clock: Clock, hubspot_url: str) -> None:
        self.database, self.clock, self.hubspot_url = database, clock, hubspot_url
        self.sleep: Callable[[float], None] = time.sleep
        """How the HubSpot client waits (pacing, a 429's Retry-After); tests record instead."""

    def client(self, token: str) -> HubSpotClient:
        return HubSpotClient(self.hubspot_url, token, sleep=self.sleep)

    def run_due(self) -> dict[str, SyncReport]:
        now = self.clock.now()
        with self.database.session() as session:
            due = store.due_connections(session, now - SYNC_EVERY)
        reports = {}
        for team_id, _provider, token in due:
            report = sync(self.database, team_id, self.client(token))
            with self.database.session() as session:
                store.mark_synced(session, team_id, now, report.error)
            logger.info(
                "pipeline sync of %s: %d leads, %d deals, error %s",
                team_id,
                report.leads,
                report.deals,
                report.error,
            )
            reports[team_id] = report
        return reports

    def next_wakeup(self) -> datetime | None:
        with self.database.session() as session:
            marks = store.sync_marks(session)
        due = [synced + SYNC_EVERY if synced else connected for synced, connected in marks]
        return min(due, default=None)

"""Importing a CRM export into a workspace's pipeline records: all of the file or none of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import BinaryIO
from zoneinfo import ZoneInfo

from bot.domain.pipeline import Kind
from bot.domain.pipeline_csv import ImportReport, Problem, Survey, records, survey
from bot.domain.pipeline_digest import PipelineSection, section
from bot.domain.pipeline_figures import QUARTER, WEEK, PipelineFigures, compute, period_before, period_of
from bot.domain.scoring import Results
from storage import pipeline as store
from storage import workspaces as workspace_store
from storage.db import Database


@dataclass
class PipelineService:
    database: Database

    def import_file(
        self, team_id: str, stream: BinaryIO, kind: Kind | None = None, date_order: str | None = None
    ) -> ImportReport:
        """Read `stream` (seekable, bytes) once to check it; if nothing is wrong, read it again and store
        every record in one transaction. `kind` and `date_order` (`dmy`, `mdy`) when the admin chose them."""
        with self.database.session() as session:
            config = workspace_store.load_config(session, team_id)
        if config is None:
            return ImportReport(_unusable("setup_first"))
        found = survey(stream, kind, date_order)
        if not found.importable:
            return ImportReport(found)
        assert found.kind is not None
        with self.database.session() as session:
            written = store.write(
                session, team_id, found.kind, records(stream, found, team_id, ZoneInfo(config.timezone))
            )
        return ImportReport(found, written.added, written.changed, written.unchanged)


def pipeline_section(
    database: Database,
    team_id: str,
    day: date,
    zone: ZoneInfo,
    results: Results | None,
    threshold: int,
    asked: set[str],
) -> PipelineSection | None:
    """The digest's pipeline section for the digest of the week holding `day` (local): the last full
    week and the last full quarter, beside the teams' ratings in `results`."""
    week = period_of(day - timedelta(days=7), WEEK)
    quarter = period_before(period_of(day, QUARTER))
    with database.session() as session:
        forecasts = store.forecasts(session, team_id)
        by_week = compute(
            store.leads(session, team_id), store.deals(session, team_id), forecasts, week, zone, threshold
        )
        by_quarter = compute(
            store.leads(session, team_id), store.deals(session, team_id), forecasts, quarter, zone, threshold
        )
    return section(by_week, by_quarter, results, asked)


def weekly_figures(
    database: Database, team_id: str, weeks: list[date], zone: ZoneInfo, threshold: int
) -> list[tuple[date, PipelineFigures]]:
    """The pipeline's figures for each week starting on one of `weeks` (the export's weeks)."""
    with database.session() as session:
        forecasts = store.forecasts(session, team_id)
        return [
            (
                week,
                compute(
                    store.leads(session, team_id),
                    store.deals(session, team_id),
                    forecasts,
                    period_of(week, WEEK),
                    zone,
                    threshold,
                ),
            )
            for week in weeks
        ]


def _unusable(code: str) -> Survey:
    found = Survey()
    found.add(Problem(0, code))
    return found

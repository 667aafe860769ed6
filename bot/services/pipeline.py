"""Importing a CRM export into a workspace's pipeline records: all of the file or none of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import BinaryIO
from zoneinfo import ZoneInfo

from bot.domain.clock import Clock, SystemClock
from bot.domain.pipeline import Kind
from bot.domain.pipeline_csv import (
    ColumnMapping,
    ImportReport,
    MappingStep,
    Problem,
    Survey,
    read_header,
    records,
    survey,
)
from bot.domain.pipeline_digest import PipelineSection, section
from bot.domain.pipeline_figures import QUARTER, WEEK, PipelineFigures, compute, period_before, period_of
from bot.domain.pipeline_mapping import fingerprint, mapping_step
from bot.domain.scoring import Results
from storage import pipeline as store
from storage import workspaces as workspace_store
from storage.db import Database
from storage.pipeline_keys import KeysOnDisk


@dataclass
class PipelineService:
    database: Database
    clock: Clock = field(default_factory=SystemClock)

    def import_file(
        self,
        team_id: str,
        stream: BinaryIO,
        kind: Kind | None = None,
        date_order: str | None = None,
        mapping: ColumnMapping | None = None,
    ) -> ImportReport:
        """Read `stream` (seekable, bytes) once to check it; if nothing is wrong, read it again and store
        every record in one transaction. `kind`, `date_order` (`dmy`, `mdy`) and the columns' `mapping`
        (field → header or column index) when the admin chose them.

        The columns chosen earlier for a file with the same header row apply too (the admin's `mapping`
        over them); a `mapping` that reads the header row is remembered for the next such file. A file
        whose columns are still not recognised comes back with the mapping step to ask."""
        with self.database.session() as session:
            config = workspace_store.load_config(session, team_id)
        if config is None:
            return ImportReport(_unusable("setup_first"))
        headers = read_header(stream)
        key = fingerprint(headers)
        with self.database.session() as session:
            remembered = store.remembered_mapping(session, team_id, key, kind)
        if remembered is not None:
            kind = kind or remembered[0]
        columns = {**(remembered[1] if remembered else {}), **(mapping or {})}
        with KeysOnDisk() as seen:
            found = survey(stream, kind, date_order, columns, seen)
        if found.unmapped:
            return ImportReport(found, mapping=mapping_step(found.headers, found.kind))
        if mapping and found.mapped:
            assert found.kind is not None
            chosen = {name: found.headers[found.columns[name]] for name in columns if name in found.columns}
            with self.database.session() as session:
                store.remember_mapping(session, team_id, found.kind, key, chosen, self.clock.now())
        if not found.importable:
            return ImportReport(found)
        assert found.kind is not None
        with self.database.session() as session:
            written = store.write(
                session, team_id, found.kind, records(stream, found, team_id, ZoneInfo(config.timezone))
            )
        return ImportReport(found, written.added, written.changed, written.unchanged)

    def mapping_for(self, head: BinaryIO, kind: Kind | None) -> MappingStep:
        """The mapping step for a file from its start (`head`): its header row against the fields."""
        return mapping_step(read_header(head), kind)


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

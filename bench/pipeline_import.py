"""Importing a CRM export of 1,000,000 leads, against a floor: the same file loaded as plain text rows.

    .venv/bin/python -m bench.pipeline_import [--rows 1000000] [--postgres SERVER_URL]

The file is a HubSpot contacts export (UTF-8, 7 columns, about 110 bytes a row). The import is what
`alignbot pipeline import` does: the file read once to check every row, then again to store it by
record id in one transaction. The floor reads the file once with `csv.reader` and loads the raw text
into a table of the same columns with no parsing, no checks and no idempotency: SQLAlchemy's
`executemany` of 1,000-row batches on SQLite, `COPY … FROM STDIN` on PostgreSQL. Peak memory is the
Python heap's high-water mark (tracemalloc), measured in a second run of each, so it does not slow the
timed one.
"""

from __future__ import annotations

import argparse
import csv
import logging
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

from sqlalchemy import Column, MetaData, String, Table, insert, text

from bench.common import bench_database, machine
from bot.domain.clock import ManualClock
from bot.domain.question_bank import load_bank
from bot.domain.workspace_setup import WorkspaceConfig
from bot.services.pipeline import PipelineService
from bot.services.settings_cache import WorkspaceSettingsCache
from bot.services.workspaces import WorkspaceService
from storage import migrate
from storage.db import Database

TEAM = "T0BENCH01"
HEADER = (
    "Record ID",
    "Create Date",
    "Became a Marketing Qualified Lead Date",
    "Lead Status",
    "Rejection Reason",
    "Became a Sales Qualified Lead Date",
    "HubSpot Owner ID",
)
FLOOR_TABLE = Table("floor_leads", MetaData(), *(Column(f"c{n}", String) for n in range(len(HEADER))))


def write_export(path: Path, rows: int) -> None:
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            mql = start + timedelta(minutes=7 * n)
            rejected = n % 7 == 0
            writer.writerow(
                (
                    100000 + n,
                    (mql - timedelta(days=1)).strftime("%Y-%m-%d %H:%M"),
                    mql.strftime("%Y-%m-%d %H:%M"),
                    "Unqualified" if rejected else "Qualified",
                    "No budget" if rejected else "",
                    "" if rejected else (mql + timedelta(days=2)).strftime("%Y-%m-%d %H:%M"),
                    5000 + n % 40,
                )
            )


def set_up(url: str) -> Database:
    database = Database(url)
    migrate.upgrade(database.engine)
    with database.engine.begin() as connection:
        FLOOR_TABLE.create(connection)
    clock = ManualClock(datetime(2026, 6, 1, tzinfo=UTC))
    workspaces = WorkspaceService(database, clock, "en", "UTC", WorkspaceSettingsCache(database, load_bank()))
    workspaces.save_setup(TEAM, WorkspaceConfig(("C1",), ("C2",), None, "UTC", "en", 5, ()), "U1", "bench")
    return database


def import_file(database: Database, path: Path) -> str:
    with path.open("rb") as stream:
        report = PipelineService(database).import_file(TEAM, stream)
    assert report.imported, report.survey.problems
    return f"{report.added} added, {report.changed} changed, {report.unchanged} unchanged"


def floor(database: Database, path: Path) -> str:
    if database.backend == "postgresql":
        raw = database.engine.raw_connection()
        try:
            statement = "COPY floor_leads FROM STDIN WITH (FORMAT csv, HEADER true)"
            with raw.cursor() as cursor, path.open("rb") as handle, cursor.copy(statement) as copy:
                while chunk := handle.read(1 << 20):
                    copy.write(chunk)
            raw.commit()
        finally:
            raw.close()
        return "COPY"
    columns = [f"c{n}" for n in range(len(HEADER))]
    with path.open(encoding="utf-8", newline="") as handle, database.engine.begin() as connection:
        reader = csv.reader(handle)
        next(reader)
        while batch := list(islice(reader, 1000)):
            connection.execute(insert(FLOOR_TABLE), [dict(zip(columns, row, strict=True)) for row in batch])
    return "executemany"


def clear(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM pipeline_leads"))
        connection.execute(text("DELETE FROM floor_leads"))


def timed(action: Callable[[], str]) -> tuple[float, str]:
    began = time.perf_counter()
    result = action()
    return time.perf_counter() - began, result


def peak_mib(action: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (default: SQLite)")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="alignbot-bench-") as folder:
        path = Path(folder) / "contacts.csv"
        write_export(path, arguments.rows)
        size = path.stat().st_size / 2**20
        with bench_database(arguments.postgres) as url:
            database = set_up(url)
            try:
                floor_seconds, how = timed(lambda: floor(database, path))
                import_seconds, outcome = timed(lambda: import_file(database, path))
                again_seconds, again = timed(lambda: import_file(database, path))
                clear(database)
                floor_peak = peak_mib(lambda: floor(database, path))
                clear(database)
                import_peak = peak_mib(lambda: import_file(database, path))
            finally:
                backend = database.backend
                database.dispose()
    rows = arguments.rows
    print(f"{machine()}; {backend}; {rows:,} lead rows, {size:.0f} MiB of CSV")
    for name, seconds, peak in (
        (f"floor ({how})", floor_seconds, floor_peak),
        ("import", import_seconds, import_peak),
        ("re-import (no-op)", again_seconds, None),
    ):
        memory = f"  peak {peak:6.1f} MiB" if peak is not None else ""
        print(f"{name:<20} {seconds:7.1f} s  {rows / seconds:9,.0f} rows/s{memory}")
    print(f"import ÷ floor: {import_seconds / floor_seconds:.1f}× the time; {outcome}; then {again}")


if __name__ == "__main__":
    main()

"""Importing a CRM export of 1,000,000 leads, against a floor: the same file loaded as plain text rows.

    .venv/bin/python -m bench.pipeline_import [--rows 1000000] [--postgres SERVER_URL]

The file is a HubSpot contacts export (UTF-8, 7 columns, about 110 bytes a row). The import is what
`alignbot pipeline import` does: the file read once to check every row, then again to store it by
record id in one transaction. The floor reads the file once with `csv.reader` and loads the raw text
into a table of the same columns with no parsing, no checks and no idempotency: SQLAlchemy's
`executemany` of 1,000-row batches on SQLite, `COPY … FROM STDIN` (psycopg's copy) on PostgreSQL.

Each run is a process of its own, so its peak resident memory (`ru_maxrss`) is its own: it is shown
above that of a process that only imported the bot and connected to the database. Everything runs at
a tenth of the rows as well: memory that does not grow with the file is the same at both sizes.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
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


PHASES = {
    "baseline": lambda database, path: str(database.engine.connect().close()),
    "floor": floor,
    "import": import_file,
}


def run_phase(phase: str, url: str, path: Path) -> None:
    """In the child process: one run, then its time and peak memory as JSON on stdout."""
    logging.basicConfig(level=logging.WARNING)
    database = Database(url)
    try:
        began = time.perf_counter()
        outcome = PHASES[phase](database, path)
        seconds = time.perf_counter() - began
    finally:
        database.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"seconds": seconds, "outcome": outcome, "peak_mib": peak}))


def measure(phase: str, url: str, path: Path) -> dict:
    command = [
        sys.executable,
        "-m",
        "bench.pipeline_import",
        "--phase",
        phase,
        "--url",
        url,
        "--file",
        str(path),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{phase} failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.phase:
        run_phase(arguments.phase, arguments.url, arguments.file)
        return
    with (
        tempfile.TemporaryDirectory(prefix="alignbot-bench-") as folder,
        bench_database(arguments.postgres) as url,
    ):
        database = set_up(url)
        backend = database.backend
        print(f"{machine()}; {backend}")
        print("rows        run                   time      rows/s   peak RSS  (above baseline)")
        for rows in (arguments.rows // 10, arguments.rows):
            path = Path(folder) / f"contacts-{rows}.csv"
            write_export(path, rows)
            clear(database)
            baseline = measure("baseline", url, path)["peak_mib"]
            runs = [
                (
                    "floor (executemany)" if backend == "sqlite" else "floor (COPY)",
                    measure("floor", url, path),
                ),
                ("import", measure("import", url, path)),
                ("re-import (no-op)", measure("import", url, path)),
            ]
            size = path.stat().st_size / 2**20
            for name, run in runs:
                print(
                    f"{rows:>9,}  {name:<20} {run['seconds']:7.1f} s {rows / run['seconds']:9,.0f} "
                    f"{run['peak_mib']:7.1f} MiB  (+{run['peak_mib'] - baseline:.1f})"
                )
            floor_run, first, again = (run for _name, run in runs)
            ratio = first["seconds"] / floor_run["seconds"]
            print(
                f"{rows:>9,}  {size:.0f} MiB of CSV; import ÷ floor: {ratio:.1f}× the time; "
                f"{first['outcome']}; then {again['outcome']}"
            )
            path.unlink()
        database.dispose()


if __name__ == "__main__":
    main()
